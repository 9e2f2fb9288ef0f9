package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/relaymesh/relaymesh/node/chat/fan"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// nextFrame reads frames until one that is not presence (presence frames
// arrive on their own schedule).
func nextFrame(ctx context.Context, t *testing.T, f *fan.Fan) wire.ServerFrame {
	t.Helper()
	for {
		fr, err := f.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if _, ok := fr.(wire.Presence); !ok {
			return fr
		}
	}
}

func dialSynced(ctx context.Context, t *testing.T, base, room string) *fan.Fan {
	t.Helper()
	f, err := fan.Dial(ctx, base, room, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.CloseNow() })
	if _, ok := nextFrame(ctx, t, f).(wire.Synced); !ok {
		t.Fatal("first frame is not synced")
	}
	return f
}

// TestChatBadInput: every kind of bad frame gets its documented error
// code, the connection stays open, and nothing reaches the room.
func TestChatBadInput(t *testing.T) {
	cfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	cfg.Chat.RatePerSecond, cfg.Chat.RateBurst = 2, 3
	n := startNode(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bad := dialSynced(ctx, t, n.HTTPURL(), "lobby")
	watcher := dialSynced(ctx, t, n.HTTPURL(), "lobby")

	for _, tc := range []struct {
		name  string
		typ   fan.MessageType
		frame string
		want  wire.Code
	}{
		{"malformed JSON", fan.Text, `{"type":"publish","text":`, wire.CodeBadFrame},
		{"not an object", fan.Text, `["publish","hi"]`, wire.CodeBadFrame},
		{"unknown type", fan.Text, `{"type":"shout","text":"hi"}`, wire.CodeUnknownType},
		{"oversized text", fan.Text, `{"type":"publish","text":"` + strings.Repeat("x", 501) + `"}`, wire.CodeTextTooLong},
		{"empty text", fan.Text, `{"type":"publish","text":"  "}`, wire.CodeEmptyText},
		{"control characters", fan.Text, `{"type":"publish","text":"a\u0000b"}`, wire.CodeBadText},
		{"oversized frame", fan.Text, `{"type":"ping","pad":"` + strings.Repeat("x", 5000) + `"}`, wire.CodeBadFrame},
		{"binary frame", fan.Binary, `{"type":"publish","text":"hi"}`, wire.CodeBinaryFrame},
	} {
		if err := bad.WriteRaw(ctx, tc.typ, []byte(tc.frame)); err != nil {
			t.Fatalf("%s: write: %v", tc.name, err)
		}
		fr := nextFrame(ctx, t, bad)
		e, ok := fr.(wire.Error)
		if !ok || e.Code != tc.want {
			t.Errorf("%s: got %#v, want error %q", tc.name, fr, tc.want)
		}
	}

	// A flood from one address: the burst passes, the rest is refused.
	accepted, limited := 0, 0
	for i := 0; i < 10; i++ {
		if err := bad.Publish(ctx, "flood", fmt.Sprintf("f%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for accepted+limited < 10 {
		switch v := nextFrame(ctx, t, bad).(type) {
		case wire.Ack:
			accepted++
		case wire.Error:
			if v.Code != wire.CodeRateLimited {
				t.Fatalf("flood: unexpected error %v", v)
			}
			limited++
		case wire.Message:
			// our own accepted messages coming back
		}
	}
	if accepted != 3 || limited != 7 {
		t.Fatalf("flood of 10 with burst 3: %d accepted, %d rate limited", accepted, limited)
	}

	// The watcher saw exactly the accepted messages and nothing else.
	got := 0
	for got < accepted {
		switch v := nextFrame(ctx, t, watcher).(type) {
		case wire.Message:
			if v.Text != "flood" {
				t.Fatalf("watcher got a relayed bad frame: %+v", v)
			}
			got++
		default:
			t.Fatalf("watcher got %#v", v)
		}
	}
	var hist wire.History
	if code := getJSON(t, n.HTTPURL()+"/v1/rooms/lobby/history?limit=50", &hist); code != http.StatusOK || len(hist.Messages) != accepted {
		t.Fatalf("history: %d with %d messages, want %d", code, len(hist.Messages), accepted)
	}
	// The refusals are counted where operators look.
	resp, err := http.Get(n.HTTPURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`relaymesh_chat_events_total{event="rate_limited"} 7`, `relaymesh_chat_events_total{event="published"} 3`, "relaymesh_chat_fans 2"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestChatBadRequests(t *testing.T) {
	n := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
	for _, tc := range []struct {
		path string
		want int
		code string
	}{
		{"/v1/chat/ws", http.StatusBadRequest, "bad_room"},
		{"/v1/chat/ws?room=Bad%20Room", http.StatusBadRequest, "bad_room"},
		{"/v1/chat/ws?room=..%2F..%2Fetc", http.StatusBadRequest, "bad_room"},
		{"/v1/chat/ws?room=lobby&since=nope", http.StatusBadRequest, "bad_since"},
		{"/v1/chat/ws?room=lobby&since=a.1,a.2", http.StatusBadRequest, "bad_since"},
		{"/v1/rooms/Bad!/history", http.StatusBadRequest, "bad_room"},
		{"/v1/rooms/lobby/history?limit=0", http.StatusBadRequest, "bad_limit"},
		{"/v1/rooms/lobby/history?limit=100000", http.StatusBadRequest, "bad_limit"},
		{"/v1/rooms/lobby/presence", http.StatusOK, ""},
	} {
		var body map[string]any
		code := getJSON(t, n.HTTPURL()+tc.path, &body)
		if code != tc.want || (tc.code != "" && body["error"] != tc.code) {
			t.Errorf("GET %s: %d %v, want %d %q", tc.path, code, body, tc.want, tc.code)
		}
	}
}

func TestChatHistoryPresenceAndResume(t *testing.T) {
	cfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	cfg.Chat.HistoryOnJoin = 3
	cfg.Chat.PresenceInterval = 100 * time.Millisecond
	n := startNode(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	a := dialSynced(ctx, t, n.HTTPURL(), "stage")
	var ids []wire.ID
	for i := 0; i < 5; i++ {
		if err := a.Publish(ctx, "m"+string(rune('0'+i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	for len(ids) < 5 {
		if m, ok := nextFrame(ctx, t, a).(wire.Message); ok {
			ids = append(ids, m.ID)
		}
	}

	// A new fan gets the last 3 as history, then synced with marks.
	b, err := fan.Dial(ctx, n.HTTPURL(), "stage", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseNow()
	var hist []string
	for {
		fr := nextFrame(ctx, t, b)
		if m, ok := fr.(wire.Message); ok {
			hist = append(hist, m.Text)
			continue
		}
		s, ok := fr.(wire.Synced)
		if !ok || !s.Complete || s.Since[ids[4].Origin] != ids[4].Seq {
			t.Fatalf("after history: %#v", fr)
		}
		break
	}
	if strings.Join(hist, ",") != "m2,m3,m4" {
		t.Fatalf("join history %v, want m2,m3,m4", hist)
	}

	// Resuming after m2 replays exactly m3 and m4.
	since := wire.Since{}
	since.Advance(ids[2])
	c, err := fan.Dial(ctx, n.HTTPURL(), "stage", since)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var replay []string
	for {
		fr := nextFrame(ctx, t, c)
		if m, ok := fr.(wire.Message); ok {
			replay = append(replay, m.Text)
			continue
		}
		if s, ok := fr.(wire.Synced); !ok || s.Replayed != 2 {
			t.Fatalf("after resume: %#v", fr)
		}
		break
	}
	if strings.Join(replay, ",") != "m3,m4" {
		t.Fatalf("resume replay %v, want m3,m4", replay)
	}

	// Presence: three fans in the room, all in seoul.
	eventually(t, 5*time.Second, "presence counts three fans", func() (bool, string) {
		var p wire.Presence
		getJSON(t, n.HTTPURL()+"/v1/rooms/stage/presence", &p)
		raw, _ := json.Marshal(p)
		return p.Total == 3 && p.Regions["seoul"] == 3, string(raw)
	})
}

// TestNATSClientPortForBackends: the optional NATS port admits backend
// services with the configured credentials only, and they see the room's
// messages on the documented subjects.
func TestNATSClientPortForBackends(t *testing.T) {
	cfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	cfg.Chat.NATSClientListen = "127.0.0.1:0"
	cfg.Chat.NATSUser, cfg.Chat.NATSPassword = "bot", "s3cret-bot-password"
	n := startNode(t, cfg)
	url := "nats://" + n.NATS().ClientAddr()
	if nc, err := nats.Connect(url, nats.UserInfo("bot", "wrong")); err == nil {
		nc.Close()
		t.Fatal("connected with a wrong password")
	}
	nc, err := nats.Connect(url, nats.UserInfo("bot", "s3cret-bot-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("chat.o.*.lobby")
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := dialSynced(ctx, t, n.HTTPURL(), "lobby")
	if err := f.Publish(ctx, "hello bots", ""); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var m wire.Message
	if err := json.Unmarshal(msg.Data, &m); err != nil || m.Text != "hello bots" {
		t.Fatalf("backend got %q (%v)", msg.Data, err)
	}

	// Client credentials must not lock out peers: a second node's leaf link
	// to this one still relays (seoul ranks above frankfurt: it is the parent).
	b := startNode(t, testConfig(t, "frankfurt-1", "frankfurt", "127.0.0.1", n.MeshAddr().String()))
	fb := dialSynced(ctx, t, b.HTTPURL(), "lobby")
	eventually(t, 10*time.Second, "message from frankfurt reaches the bot on seoul", func() (bool, string) {
		_ = fb.Publish(ctx, "from frankfurt", "")
		for {
			msg, err := sub.NextMsg(200 * time.Millisecond)
			if err != nil {
				return false, err.Error()
			}
			if strings.Contains(string(msg.Data), "from frankfurt") {
				return true, ""
			}
		}
	})
}

// TestPublishRetryWithSameNonceIsStoredOnce: a publish retried with the
// same nonce (as a client does after an `internal` error or a lost ack)
// is acknowledged with the first one's id and stored once; other nonces,
// publishes without a nonce and other users' equal nonces are distinct.
func TestPublishRetryWithSameNonceIsStoredOnce(t *testing.T) {
	n := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := dialSynced(ctx, t, n.HTTPURL(), "retry")
	b := dialSynced(ctx, t, n.HTTPURL(), "retry")
	publish := func(f *fan.Fan, text, nonce string) wire.Ack {
		t.Helper()
		if err := f.Publish(ctx, text, nonce); err != nil {
			t.Fatal(err)
		}
		for {
			switch fr := nextFrame(ctx, t, f).(type) {
			case wire.Ack:
				return fr
			case wire.Error:
				t.Fatalf("publish %q: %+v", text, fr)
			}
		}
	}
	first := publish(a, "hello", "c-1")
	again := publish(a, "hello", "c-1")
	if again.ID != first.ID || !again.TS.Equal(first.TS) {
		t.Errorf("retry acked as %v at %v; want the first ack %v at %v", again.ID, again.TS, first.ID, first.TS)
	}
	other := publish(a, "hello", "c-2")
	plain1, plain2 := publish(a, "no nonce", ""), publish(a, "no nonce", "")
	fromB := publish(b, "hello", "c-1") // another (anonymous) user
	ids := map[wire.ID]bool{first.ID: true, other.ID: true, plain1.ID: true, plain2.ID: true, fromB.ID: true}
	if len(ids) != 5 {
		t.Errorf("acks %v %v %v %v %v: want 5 distinct ids", first.ID, other.ID, plain1.ID, plain2.ID, fromB.ID)
	}
	// History is fed asynchronously, in publish order: once the last
	// message is in, everything before it is.
	var hist wire.History
	eventually(t, 10*time.Second, "the last message reaches the history", func() (bool, string) {
		hist = wire.History{}
		getJSON(t, n.HTTPURL()+"/v1/rooms/retry/history?limit=50", &hist)
		for _, m := range hist.Messages {
			if m.ID == fromB.ID {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d messages", len(hist.Messages))
	})
	if len(hist.Messages) != 5 {
		t.Fatalf("history holds %d messages, want 5 (the retry stored once)", len(hist.Messages))
	}
}

// TestNodeShutdownSendsFans1001: a graceful stop (what SIGTERM runs) tells
// every connected fan to go elsewhere with WebSocket status 1001 before
// the connection goes, instead of an EOF.
func TestNodeShutdownSendsFans1001(t *testing.T) {
	n := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fans := []*fan.Fan{dialSynced(ctx, t, n.HTTPURL(), "stage"), dialSynced(ctx, t, n.HTTPURL(), "lobby")}
	done := make(chan error, 1)
	go func() { done <- n.Shutdown(ctx) }()
	for i, f := range fans {
		var err error
		for err == nil {
			_, err = f.Read(ctx)
		}
		if code := fan.CloseStatus(err); code != 1001 {
			t.Errorf("fan %d: connection ended with %v (close status %d), want 1001", i, err, code)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestHistoryLookupsCreateNoRooms: asking for the history of rooms nobody
// is in (any name, as often as anyone likes) creates no room, and a room
// whose only fan left and that holds no message is freed: the rooms map
// is bounded by fans and messages, not by requests.
func TestHistoryLookupsCreateNoRooms(t *testing.T) {
	n := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 2000 {
		resp, err := c.Get(fmt.Sprintf("%s/v1/rooms/nobody-%d/history", n.HTTPURL(), i))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("history of an empty room: %s", resp.Status)
		}
	}
	if got := metric(t, n, "relaymesh_chat_rooms", "", ""); got != 0 {
		t.Fatalf("%v rooms after 2,000 history lookups, want 0", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := dialSynced(ctx, t, n.HTTPURL(), "visited")
	if got := metric(t, n, "relaymesh_chat_rooms", "", ""); got != 1 {
		t.Fatalf("%v rooms with one fan in one room, want 1", got)
	}
	_ = f.Close()
	eventually(t, 10*time.Second, "the empty room freed", func() (bool, string) {
		got := metric(t, n, "relaymesh_chat_rooms", "", "")
		return got == 0, fmt.Sprintf("%v rooms", got)
	})
}
