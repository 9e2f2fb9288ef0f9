package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/nats-io/nats.go"
	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/node/chat/wire"
	"github.com/relaymesh/relaymesh/node/nodetest"
)

// idSeq finds the sequence of the message id in a message frame, without
// decoding the JSON: cheap enough to follow thousands of fans.
func idSeq(p []byte, origin string) (uint64, bool) {
	key := []byte(`"id":"` + origin + ".")
	i := bytes.Index(p, key)
	if i < 0 {
		return 0, false
	}
	rest := p[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, false
	}
	seq, err := strconv.ParseUint(string(rest[:j]), 10, 64)
	return seq, err == nil
}

// publishAt publishes n messages to room through the node's publisher at
// rate per second, text = the publish time in unix nanoseconds; it
// returns the ids in order.
func publishAt(t *testing.T, svc *Service, room string, n int, rate float64, onSent func(i int)) {
	t.Helper()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		<-tick.C
		if onSent != nil {
			onSent(i)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m := wire.Message{Room: room, User: "pub", Text: strconv.FormatInt(time.Now().UnixNano(), 10), TS: time.Now().UTC()}
			if _, err := svc.pub.publish(ctx, m, ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// TestBigRoomEveryMessageOneWritePerWindow is the chat-scale issue's big
// room: 2,000 fans in one room on one node, 500 messages a second. Every
// fan gets every message once and in order, and the node writes to each
// fan at most once per batch window (plus the join and the first messages
// before the room counts as busy).
func TestBigRoomEveryMessageOneWritePerWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 connections; skipped with -short")
	}
	if _, err := benchkit.RaiseFileLimit(5000); err != nil {
		t.Fatal(err)
	}
	const (
		fans   = 2000
		total  = 1000 // 2 s at 500/s
		rate   = 500
		window = 50 * time.Millisecond
	)
	// The raw fans do not answer pings: under the race detector the run
	// can outlast the idle bound of the default interval (2 × 20 s + 5 s),
	// which is not what this test is about.
	ts := startService(t, func(c *Config) { c.BatchWindow = window; c.PingInterval = 10 * time.Minute })
	conns := make([]*rawFan, fans)
	for i := range conns {
		conns[i] = dialRaw(t, ts.http.URL, "stage", 0)
	}
	for _, f := range conns {
		f.untilSynced(t)
	}
	nodetest.WaitFor(t, 10*time.Second, "every fan in the room", func() bool { return ts.svc.Stats().Fans == fans })
	sessions := ts.svc.hub.sessions()
	// Writes are counted once the room is busy (its first messages go out
	// one by one until the average gap falls under the window), from the
	// 100th message to the end: a write is a send to the fan (a write the
	// socket takes in part is finished by the same send).
	const warm = 100
	sendsAt := make(map[*session]uint64, len(sessions))
	var from time.Time
	var flushesAt int
	stage := ts.svc.hub.lookup("stage")

	var wg sync.WaitGroup
	var bad atomic.Int64
	for i, f := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var next uint64 = 1
			for next <= total {
				h, p, err := f.next(30 * time.Second)
				if err != nil {
					t.Errorf("fan %d: after %d messages: %v", i, next-1, err)
					bad.Add(1)
					return
				}
				if h.OpCode != ws.OpText || !bytes.Contains(p, []byte(`"type":"message"`)) {
					continue
				}
				seq, ok := idSeq(p, "test-1")
				if !ok || seq != next {
					t.Errorf("fan %d: got message %d, want %d", i, seq, next)
					bad.Add(1)
					return
				}
				next++
			}
		}()
	}
	start := time.Now()
	publishAt(t, ts.svc, "stage", total, rate, func(i int) {
		if i == warm {
			from = time.Now()
			stage.mu.Lock()
			flushesAt = stage.flushes
			stage.mu.Unlock()
			for _, s := range sessions {
				sendsAt[s] = s.conn.sends.Load()
			}
		}
	})
	wg.Wait()
	elapsed, measured := time.Since(start), time.Since(from)
	if bad.Load() > 0 {
		t.Fatalf("%d fans missed or reordered messages", bad.Load())
	}
	stage.mu.Lock()
	t.Logf("room flushes in the measured part: %d", stage.flushes-flushesAt)
	stage.mu.Unlock()
	// One write per window, plus one for the window cut at each end.
	allowed := uint64(measured/window) + 2
	var worst, syscalls uint64
	for _, s := range sessions {
		worst = max(worst, s.conn.sends.Load()-sendsAt[s])
		syscalls = max(syscalls, s.conn.writes.Load())
	}
	t.Logf("%d fans × %d messages in %v; from message %d on, %v: at most %d writes to one fan (allowed %d; %d messages per write on average; at most %d syscalls to one fan in all)",
		fans, total, elapsed.Round(time.Millisecond), warm, measured.Round(time.Millisecond), worst, allowed, (total-warm)/int(max(worst, 1)), syscalls)
	if worst > allowed {
		t.Fatalf("a fan got %d writes in %v; at most one per %v window (%d) allowed", worst, measured, window, allowed)
	}
}

// TestSlowFanIsCutOffAlone: a fan that stops reading is closed with 1008
// once it is a send buffer behind; the other fans of the room keep getting
// every message meanwhile, far sooner than the drain timeout a blocked
// room would cost them, and the node's memory does not grow with the
// stalled fan's backlog.
func TestSlowFanIsCutOffAlone(t *testing.T) {
	const (
		others  = 20
		drain   = 5 * time.Second
		pending = 64 << 10
	)
	ts := startService(t, func(c *Config) {
		c.MaxPendingBytes, c.DrainTimeout = pending, drain
		c.BatchWindow = 0 // every message is its own write: the slow fan falls behind fastest
	})
	slow := dialRaw(t, ts.http.URL, "stage", 4096)
	slow.untilSynced(t)
	conns := make([]*rawFan, others)
	for i := range conns {
		conns[i] = dialRaw(t, ts.http.URL, "stage", 0)
		conns[i].untilSynced(t)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	// Readers measure each message's delay from its publish time.
	var worst atomic.Int64
	var wg sync.WaitGroup
	const total = 1500
	for i, f := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for got := 0; got < total; {
				_, p, err := f.next(30 * time.Second)
				if err != nil {
					t.Errorf("fan %d after %d messages: %v", i, got, err)
					return
				}
				if !bytes.Contains(p, []byte(`"type":"message"`)) {
					continue
				}
				var m wire.Message
				if err := json.Unmarshal(p, &m); err != nil {
					t.Errorf("fan %d: %v", i, err)
					return
				}
				sent, _ := strconv.ParseInt(strings.Fields(m.Text)[0], 10, 64)
				d := time.Since(time.Unix(0, sent))
				for {
					w := worst.Load()
					if int64(d) <= w || worst.CompareAndSwap(w, int64(d)) {
						break
					}
				}
				got++
			}
		}()
	}
	// The stalled fan reads again as soon as it has been cut off: behind
	// what its buffers held, it finds the close frame with 1008.
	slowClosed := make(chan error, 1)
	go func() {
		nodetest.Poll(30*time.Second, func() bool { return ts.svc.Stats().SlowFans > 0 })
		code, err := readUntilClose(slow, 10*time.Second)
		if err == nil && code != ws.StatusPolicyViolation {
			err = fmt.Errorf("closed with %d, want 1008", code)
		}
		slowClosed <- err
	}()

	// 1,500 messages of ~450 bytes at 300/s: the slow fan's 4 KiB receive
	// buffer, the node's 64 KiB socket buffer and its 64 KiB send buffer
	// fill within the first second.
	pad := strings.Repeat("x", 400)
	tick := time.NewTicker(time.Second / 300)
	for i := 0; i < total; i++ {
		<-tick.C
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m := wire.Message{Room: "stage", User: "pub", Text: strconv.FormatInt(time.Now().UnixNano(), 10) + " " + pad, TS: time.Now().UTC()}
		_, err := ts.svc.pub.publish(ctx, m, "")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	tick.Stop()
	wg.Wait()
	nodetest.WaitFor(t, 2*drain, "the slow fan cut off", func() bool { return ts.svc.Stats().SlowFans == 1 })
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("worst delay at the other fans %v; heap %d KiB before, %d KiB after", time.Duration(worst.Load()).Round(time.Millisecond), heapBefore>>10, ms.HeapAlloc>>10)
	if d := time.Duration(worst.Load()); d >= drain {
		t.Errorf("the other fans waited up to %v: the slow fan held up the room (drain timeout %v)", d, drain)
	}
	if grew := int64(ms.HeapAlloc) - int64(heapBefore); grew > 16<<20 {
		t.Errorf("heap grew by %d KiB while a fan stalled; its backlog is bounded by %d KiB", grew>>10, pending>>10)
	}
	if err := <-slowClosed; err != nil {
		t.Fatalf("slow fan: %v", err)
	}
	nodetest.WaitFor(t, 2*drain, "only the reading fans connected", func() bool { return ts.svc.Stats().Fans == others })
}

// readUntilClose reads frames until a close frame and returns its code.
func readUntilClose(f *rawFan, within time.Duration) (ws.StatusCode, error) {
	deadline := time.Now().Add(within)
	for {
		h, p, err := f.next(time.Until(deadline))
		if err != nil {
			return 0, fmt.Errorf("no close frame: %w", err)
		}
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			return code, nil
		}
	}
}

// TestShutdownClosesFansWith1001: a node going away says so, so that
// clients reconnect elsewhere at once instead of treating it as a network
// fault (they used to see EOF).
func TestShutdownClosesFansWith1001(t *testing.T) {
	ts := startService(t, nil)
	f := dialRaw(t, ts.http.URL, "stage", 0)
	f.untilSynced(t)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.svc.Close(ctx)
	}()
	code, err := readUntilClose(f, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != ws.StatusGoingAway {
		t.Fatalf("closed with %d, want 1001", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestForgedStoredIDIsRefused: a message written into the node's ORIGIN
// stream with an id that is not its stream position (a forged
// test-1.999999999) never reaches fans and does not mute the origin: the
// next real message arrives.
func TestForgedStoredIDIsRefused(t *testing.T) {
	ts := startService(t, nil)
	f := dialRaw(t, ts.http.URL, "stage", 0)
	f.untilSynced(t)
	forged, _ := json.Marshal(wire.Message{ID: wire.ID{Origin: "test-1", Seq: 999999999}, Room: "stage", User: "moderator", Text: "forged", TS: time.Now().UTC()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ts.nats.JetStream().PublishMsg(ctx, &nats.Msg{Subject: originSubject("test-1", "stage"), Data: forged}); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "the forged message refused", func() bool { return ts.svc.Stats().Malformed == 1 })
	real, err := ts.svc.pub.publish(ctx, wire.Message{Room: "stage", User: "fan", Text: "real", TS: time.Now().UTC()}, "")
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, p, err := f.next(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for the real message %s: %v", real.ID, err)
		}
		if bytes.Contains(p, []byte("forged")) {
			t.Fatalf("the fan got the forged message: %s", p)
		}
		if bytes.Contains(p, []byte(`"text":"real"`)) {
			if seq, _ := idSeq(p, "test-1"); seq != real.ID.Seq {
				t.Fatalf("real message arrived as %d, acked as %s", seq, real.ID)
			}
			return
		}
	}
}

// TestPingsAreSpreadOverTheInterval: every fan is pinged once per
// interval, but not all at once (at 100,000 fans, pinging every fan in
// the same instant made a latency spike of seconds every interval).
func TestPingsAreSpreadOverTheInterval(t *testing.T) {
	const fans = 40
	interval := time.Second
	ts := startService(t, func(c *Config) { c.PingInterval = interval })
	first := make([]time.Time, fans)
	errs := make(chan error, fans)
	for i := range fans {
		f := dialRaw(t, ts.http.URL, "pinged", 0)
		f.untilSynced(t)
		go func() {
			for {
				h, _, err := f.next(3 * interval)
				if err != nil {
					errs <- fmt.Errorf("fan %d: no ping within %v: %w", i, 3*interval, err)
					return
				}
				if h.OpCode == ws.OpPing {
					first[i] = time.Now()
					errs <- nil
					return
				}
			}
		}()
	}
	for range fans {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	lo, hi := first[0], first[0]
	for _, at := range first {
		if at.Before(lo) {
			lo = at
		}
		if at.After(hi) {
			hi = at
		}
	}
	if spread := hi.Sub(lo); spread < interval*3/10 {
		t.Errorf("the %d fans' first pings came within %v of each other; want them spread over the %v interval", fans, spread, interval)
	}
}

// TestLargeReplayIsSentAStalledOneIsCut: a fan resuming after a long gap
// asks for the whole recovery window at once (999 messages of 450 bytes,
// about 560 KB: twice chat.send_buffer). A fan that reads gets all of it,
// however little its socket takes at once; one that asks for the same and
// never reads is cut within chat.drain_timeout and counted as too_slow.
func TestLargeReplayIsSentAStalledOneIsCut(t *testing.T) {
	const n, drain = 1000, 2 * time.Second
	ts := startService(t, func(c *Config) { c.DrainTimeout = drain })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	text := strings.Repeat("x", 450)
	for range n {
		m := wire.Message{Room: "stage", User: "pub", Text: text, TS: time.Now().UTC()}
		if _, err := ts.svc.pub.publish(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.WaitFor(t, 10*time.Second, "every message in the room", func() bool { return ts.svc.Stats().Relayed == n })

	reader := dialRaw(t, ts.http.URL, "stage&since=test-1.1", 0)
	got := 0
	for {
		_, p, err := reader.next(10 * time.Second)
		if err != nil {
			t.Fatalf("resuming fan, after %d of %d replayed messages: %v (too_slow cuts: %d)", got, n-1, err, ts.svc.Stats().SlowFans)
		}
		if bytes.Contains(p, []byte(`"type":"synced"`)) {
			break
		}
		if bytes.Contains(p, []byte(`"type":"message"`)) {
			got++
		}
	}
	if got != n-1 {
		t.Fatalf("resuming fan got %d replayed messages, want %d", got, n-1)
	}
	if s := ts.svc.Stats().SlowFans; s != 0 {
		t.Fatalf("%d fans cut as too slow while one resumed and read", s)
	}

	start := time.Now()
	_ = dialRaw(t, ts.http.URL, "stage&since=test-1.1", 4096) // never read
	nodetest.WaitFor(t, drain+5*time.Second, "the stalled fan counted as too_slow", func() bool { return ts.svc.Stats().SlowFans == 1 })
	if took := time.Since(start); took < drain-100*time.Millisecond {
		t.Fatalf("stalled fan cut after %v, before the drain timeout of %v", took, drain)
	}
	nodetest.WaitFor(t, 5*time.Second, "the stalled fan gone", func() bool { return ts.svc.Stats().Fans == 1 })
}
