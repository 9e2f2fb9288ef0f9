package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/origin/devs3"
)

// memStore is an in-memory Store that records every call, successful or
// not, in order.
type memStore struct {
	mu      sync.Mutex
	objects map[string]object
	ops     []op
	// fail, if set, decides whether call number i (from 0) fails.
	fail func(i int, o op) error
}

type object struct {
	data        []byte
	contentType string
}

type op struct {
	kind string // "put" or "delete"
	key  string
	data []byte // put only
	ct   string // put only
	err  error
}

func newMemStore() *memStore { return &memStore{objects: map[string]object{}} }

func (s *memStore) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("put %s: read %d bytes, size said %d", key, len(b), size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := op{kind: "put", key: key, data: b, ct: contentType}
	if s.fail != nil {
		o.err = s.fail(len(s.ops), o)
	}
	s.ops = append(s.ops, o)
	if o.err == nil {
		s.objects[key] = object{b, contentType}
	}
	return o.err
}

func (s *memStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := op{kind: "delete", key: key}
	if s.fail != nil {
		o.err = s.fail(len(s.ops), o)
	}
	s.ops = append(s.ops, o)
	if o.err == nil {
		delete(s.objects, key)
	}
	return o.err
}

func (s *memStore) get(key string) (object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[key]
	return o, ok
}

func (s *memStore) snapshot() ([]op, map[string]object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	objs := make(map[string]object, len(s.objects))
	for k, v := range s.objects {
		objs[k] = v
	}
	return append([]op(nil), s.ops...), objs
}

func testConfig() Config {
	return Config{
		Stream:          "demo",
		SegmentDuration: 50 * time.Millisecond,
		Window:          6,
		Keep:            4,
		Logger:          slog.New(slog.DiscardHandler),
	}
}

// start runs p until the returned stop is called; stop waits for Run.
func start(t *testing.T, p *Publisher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitNewest polls until the stored playlist lists segment newest (or
// later) and returns the newest it lists.
func waitNewest(t *testing.T, s *memStore, key string, newest uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if o, ok := s.get(key); ok {
			segs := parse(t, string(o.data)).segs
			if last := segs[len(segs)-1]; last >= newest {
				return last
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("playlist %s did not list segment %d within 10s", key, newest)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkHistory replays the successful calls and checks what players and
// edges rely on: segments are uploaded once each, in order, with no gaps,
// with the right bytes; every playlist is Playlist(newest uploaded), its
// segments already at the store; a segment is deleted only once no
// playlist has listed it for Keep segments; and at the end exactly the
// window plus Keep segments remain. It returns the final newest segment.
func checkHistory(t *testing.T, cfg Config, ops []op, objs map[string]object) uint64 {
	t.Helper()
	prefix := cfg.Stream + "/"
	plKey := prefix + PlaylistName
	var next, oldest, newest uint64 = cfg.FirstSeq, cfg.FirstSeq, 0
	playlists := 0
	present := map[string]bool{}
	for i, o := range ops {
		if o.err != nil {
			continue
		}
		switch {
		case o.kind == "put" && o.key == plKey:
			if next == cfg.FirstSeq {
				t.Fatalf("op %d: playlist before any segment", i)
			}
			newest = next - 1
			if want := Playlist(newest, cfg.Window); string(o.data) != want {
				t.Fatalf("op %d: playlist\n%s\nwant Playlist(%d, %d)\n%s", i, o.data, newest, cfg.Window, want)
			}
			if o.ct != PlaylistType {
				t.Fatalf("op %d: playlist content type %q", i, o.ct)
			}
			for _, n := range parse(t, string(o.data)).segs {
				if !present[prefix+SegmentName(n)] {
					t.Fatalf("op %d: playlist lists segment %d, which is not at the store", i, n)
				}
			}
			if playlists == 0 && newest != cfg.FirstSeq+uint64(cfg.Window)-1 {
				t.Fatalf("op %d: first playlist's newest segment is %d, want a full window up to %d",
					i, newest, cfg.FirstSeq+uint64(cfg.Window)-1)
			}
			playlists++
		case o.kind == "put":
			if want := prefix + SegmentName(next); o.key != want {
				t.Fatalf("op %d: put %s, want the next segment %s", i, o.key, want)
			}
			if !bytes.Equal(o.data, Asset(next)) || o.ct != SegmentType {
				t.Fatalf("op %d: segment %d has %d bytes of type %q, want asset %d (%d bytes) of type %q",
					i, next, len(o.data), o.ct, next%Segments, len(Asset(next)), SegmentType)
			}
			present[o.key] = true
			next++
		case o.kind == "delete":
			if want := prefix + SegmentName(oldest); o.key != want {
				t.Fatalf("op %d: delete %s, want the oldest segment %s", i, o.key, want)
			}
			if oldest+uint64(cfg.Window+cfg.Keep) > newest {
				t.Fatalf("op %d: deleted segment %d while the playlist's newest is %d (window %d, keep %d)",
					i, oldest, newest, cfg.Window, cfg.Keep)
			}
			delete(present, o.key)
			oldest++
		}
	}
	if playlists == 0 {
		t.Fatal("no playlist was uploaded")
	}
	// The store holds exactly the playlist and the retained segments.
	want := map[string]bool{plKey: true}
	for n := newest + 1 - min(newest+1-cfg.FirstSeq, uint64(cfg.Window+cfg.Keep)); n <= newest; n++ {
		want[prefix+SegmentName(n)] = true
	}
	for k := range objs {
		if !want[k] {
			t.Errorf("store holds %s, which should be gone (newest %d)", k, newest)
		}
	}
	for k := range want {
		if _, ok := objs[k]; !ok {
			t.Errorf("store lacks %s (newest %d)", k, newest)
		}
	}
	return newest
}

func TestPublisherRun(t *testing.T) {
	s := newMemStore()
	cfg := testConfig()
	p, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.PlaylistKey(); got != "demo/index.m3u8" {
		t.Fatalf("PlaylistKey() = %q", got)
	}
	began := time.Now()
	stop := start(t, p)
	// The first tick publishes a full window at once.
	if got := waitNewest(t, s, p.PlaylistKey(), 0); got != 5 {
		t.Fatalf("first playlist lists up to segment %d, want 5 (a full window)", got)
	}
	// Past the first wrap (10) and past the first deletions (16).
	waitNewest(t, s, p.PlaylistKey(), 17)
	stop()
	elapsed := time.Since(began)

	ops, objs := s.snapshot()
	newest := checkHistory(t, cfg, ops, objs)
	// One segment per tick after the first: never faster than the clock.
	if max := 5 + uint64(elapsed/cfg.SegmentDuration) + 1; newest > max {
		t.Errorf("published up to segment %d in %v, more than one per %v (at most %d)",
			newest, elapsed, cfg.SegmentDuration, max)
	}
}

func TestPublisherRetriesFailures(t *testing.T) {
	s := newMemStore()
	down := errors.New("origin down")
	var failed []string
	s.fail = func(i int, o op) error {
		switch {
		case i >= 3 && i < 12: // the outage: mid-prefill, then a few ticks
			failed = append(failed, o.kind+" "+o.key)
			return down
		case o.kind == "delete" && o.key == "demo/seg1.ts" && len(failed) < 11:
			// A delete fails on two ticks (newest 11 and 12), and is
			// retried before the later ones.
			failed = append(failed, o.kind+" "+o.key)
			return down
		case o.kind == "put" && o.key == "demo/index.m3u8" && strings.Contains(string(o.data), "seg13.ts") &&
			!strings.Contains(string(o.data), "seg14.ts") && len(failed) < 12:
			// Then the playlist of the tick after (newest 13) is lost: the
			// second run of failed ticks is three long.
			failed = append(failed, o.kind+" "+o.key)
			return down
		}
		return nil
	}
	var logs bytes.Buffer // written by Run, read after it returned
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitNewest(t, s, p.PlaylistKey(), 20)
	stop()

	ops, objs := s.snapshot()
	checkHistory(t, cfg, ops, objs)
	if len(failed) != 12 {
		t.Errorf("%d calls failed, want 12: %q", len(failed), failed)
	}
	out := logs.String()
	if n := strings.Count(out, "publishing failed"); n != 2 {
		t.Errorf("logged %d failures, want 2 (one per run of failed ticks):\n%s", n, out)
	}
	if n := strings.Count(out, "publishing again"); n != 2 || !strings.Contains(out, "failures=3") {
		t.Errorf("logged %d recoveries, want 2, the second after 3 failures:\n%s", n, out)
	}
	if !strings.Contains(out, "origin down") || !strings.Contains(out, "stream=demo") {
		t.Errorf("log lacks the error or the stream:\n%s", out)
	}
}

func TestPublisherRunTwice(t *testing.T) {
	s := newMemStore()
	cfg := testConfig()
	cfg.FirstSeq = 1000
	p, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitNewest(t, s, p.PlaylistKey(), 1006)
	if err := p.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second concurrent Run = %v, want ErrRunning", err)
	}
	stop()
	// A later Run continues the numbering: checkHistory sees one history
	// without gaps or repeats.
	stop = start(t, p)
	waitNewest(t, s, p.PlaylistKey(), 1020)
	stop()
	ops, objs := s.snapshot()
	checkHistory(t, cfg, ops, objs)
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"stream with a slash", Config{Stream: "demo/x"}, []string{"stream", `"demo/x"`}},
		{"stream in capitals", Config{Stream: "Demo"}, []string{"stream", `"Demo"`}},
		{"negative duration", Config{SegmentDuration: -time.Second}, []string{"segment duration -1s"}},
		{"negative window", Config{Window: -1}, []string{"window -1"}},
		{"negative keep and window", Config{Window: -2, Keep: -3}, []string{"window -2", "keep -3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(newMemStore(), tt.cfg)
			if err == nil {
				t.Fatal("New accepted the config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New accepted a nil store")
	}
	p, err := New(newMemStore(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultConfig(); p.cfg.Stream != want.Stream || p.cfg.SegmentDuration != want.SegmentDuration ||
		p.cfg.Window != want.Window || p.cfg.Keep != want.Keep || p.cfg.Logger == nil {
		t.Errorf("zero Config gave %+v, want the defaults %+v", p.cfg, want)
	}
}

// TestPublisherToOrigin publishes through the real origin client into the
// embedded S3 origin that `relaymesh dev` runs.
func TestPublisherToOrigin(t *testing.T) {
	s3, err := devs3.Start("127.0.0.1:0", slog.New(slog.DiscardHandler), "media")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s3.Close(context.Background()) })
	client, err := origin.New(origin.Config{Endpoint: s3.Endpoint(), Bucket: "media", AccessKey: "k", SecretKey: "s",
		Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Window, cfg.Keep = 3, 1
	p, err := New(Origin{client}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	ctx := context.Background()
	read := func(key string) ([]byte, origin.Info, error) {
		rc, info, err := client.Get(ctx, key)
		if err != nil {
			return nil, info, err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return b, info, err
	}
	// Wait until segment 5 is listed, so segment 0 has been deleted.
	deadline := time.Now().Add(10 * time.Second)
	var pl []byte
	for {
		var err error
		pl, _, err = read(p.PlaylistKey())
		if err == nil && strings.Contains(string(pl), "seg5.ts") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("playlist did not reach segment 5 within 10s: %v\n%s", err, pl)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	segs := parse(t, string(pl)).segs
	newest := segs[len(segs)-1]
	if want := Playlist(newest, 3); string(pl) != want {
		t.Errorf("playlist at the origin:\n%s\nwant\n%s", pl, want)
	}
	b, info, err := read("demo/" + SegmentName(newest))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, Asset(newest)) || info.ContentType != SegmentType {
		t.Errorf("segment %d at the origin: %d bytes of type %q, want %d bytes of type %q",
			newest, len(b), info.ContentType, len(Asset(newest)), SegmentType)
	}
	if _, err := client.Stat(ctx, "demo/seg0.ts"); err == nil {
		t.Error("segment 0 is still at the origin, long after it left the window")
	}
}
