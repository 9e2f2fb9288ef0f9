package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/ingest/spool"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/origin/devs3"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "0123456789abcdef-demo"

type fixture struct {
	addr   string
	s3     *devs3.Server
	client *origin.Client
	srv    *httptest.Server
	sp     *spool.Spool
	svc    *Service
	cache  *cache.Cache
	window time.Duration // upload rate window; default 5s
	maxObj int64         // largest body; default 64 KiB
}

func (f *fixture) limits() Limits {
	w := f.window
	if w == 0 {
		w = 5 * time.Second
	}
	return Limits{Keys: map[string]string{"live": key}, MinRate: 1000, RateWindow: w, MaxPlaylist: 2048}
}

func newFixture(t *testing.T, spoolDir string) *fixture {
	t.Helper()
	return newFixtureOf(t, &fixture{}, spoolDir)
}

// newFixtureOf starts f, with the limits already set in it.
func newFixtureOf(t *testing.T, f *fixture, spoolDir string) *fixture {
	t.Helper()
	s3, err := devs3.Start("127.0.0.1:0", slog.New(slog.DiscardHandler), "media")
	if err != nil {
		t.Fatal(err)
	}
	f.addr, f.s3 = s3.Endpoint(), s3
	t.Cleanup(func() { _ = f.s3.Close(context.Background()) })
	f.client, err = origin.New(origin.Config{Endpoint: f.addr, Bucket: "media", AccessKey: "k", SecretKey: "s", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.start(t, spoolDir)
	return f
}

func (f *fixture) start(t *testing.T, spoolDir string) {
	t.Helper()
	var err error
	if f.maxObj == 0 {
		f.maxObj = 1 << 16
	}
	f.sp, err = spool.Open(spoolDir, spool.Config{RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, MaxObjectBytes: f.maxObj})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(cache.Config{MemoryBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	f.cache = c
	f.svc, err = New(Config{Limits: f.limits(), Spool: f.sp, Origin: f.client, Cache: c,
		MaxObjectBytes: f.maxObj, WriteThroughWait: 500 * time.Millisecond, PlaylistMaxAge: time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.svc.Routes(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.stop)
}

func (f *fixture) stop() {
	f.srv.Close()
	_ = f.svc.Close()
	_ = f.sp.Close()
}

func (f *fixture) push(t *testing.T, method, path, bearer, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) originHas(t *testing.T, k string) (string, bool) {
	t.Helper()
	r, _, err := f.client.Get(context.Background(), k)
	if err != nil {
		return "", false
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b), true
}

func TestPushIsWrittenThrough(t *testing.T) {
	f := newFixture(t, t.TempDir())
	if code, body := f.push(t, "PUT", "/ingest/live/seg0.ts", key, "segment-0"); code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if got, ok := f.originHas(t, "live/seg0.ts"); !ok || got != "segment-0" {
		t.Fatalf("origin has %q %v", got, ok)
	}
	if code, _ := f.push(t, "DELETE", "/ingest/live/seg0.ts", key, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", code)
	}
	if _, ok := f.originHas(t, "live/seg0.ts"); ok {
		t.Fatal("deleted segment still at the origin")
	}
}

func TestBadPushesWriteNothing(t *testing.T) {
	f := newFixture(t, t.TempDir())
	for _, tc := range []struct {
		method, path, bearer, body string
		want                       int
	}{
		{"PUT", "/ingest/live/seg1.ts", "", "x", http.StatusUnauthorized},
		{"PUT", "/ingest/live/seg1.ts", "wrong-key-wrong-key", "x", http.StatusForbidden},
		{"PUT", "/ingest/other/seg1.ts", key, "x", http.StatusForbidden}, // as a wrong key: see TestUnknownStreamIsAWrongKey
		// The mux resolves plain dot segments first: this names stream
		// "etc", which has no key.
		{"PUT", "/ingest/live/a/../../etc/passwd.ts", key, "x", http.StatusForbidden},
		{"PUT", "/ingest/live/%2e%2e/%2e%2e/etc/passwd.ts", key, "x", http.StatusBadRequest},
		{"PUT", "/ingest/live/seg1%00.ts", key, "x", http.StatusBadRequest},
		{"PUT", "/ingest/live/evil.sh", key, "x", http.StatusBadRequest},
		{"PUT", "/ingest/live/seg1.ts", key, strings.Repeat("x", 1<<16+1), http.StatusRequestEntityTooLarge},
		{"PUT", "/ingest/live/index.m3u8", key, "#EXTM3U\n" + strings.Repeat("#", 2048), http.StatusRequestEntityTooLarge},
		{"PUT", "/ingest/live/index.m3u8", key, "<html>not a playlist</html>", http.StatusBadRequest},
		{"DELETE", "/ingest/live/seg1.ts", "", "", http.StatusUnauthorized},
	} {
		if code, body := f.push(t, tc.method, tc.path, tc.bearer, tc.body); code != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.want)
		}
	}
	if st := f.sp.Stats(); st.Appended != 0 || st.Bytes != 0 {
		t.Fatalf("bad pushes appended %d ops to the spool (%d bytes)", st.Appended, st.Bytes)
	}
	if st := f.svc.Stats(); st.TooLarge != 2 || st.BadPlaylists != 1 {
		t.Fatalf("stats %+v, want TooLarge 2, BadPlaylists 1", st)
	}
	if _, ok := f.originHas(t, "live/seg1.ts"); ok {
		t.Fatal("a refused push reached the origin")
	}
}

// TestOriginOutageLosesNothing is issue 4's acceptance 4 at the ingest
// node: with the origin down, pushes are still acknowledged (spooled);
// across a restart of the ingest service they all reach the origin, in
// order, once it is back.
func TestOriginOutageLosesNothing(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir)
	_ = f.s3.Close(context.Background())

	var keys []string
	for i := range 5 {
		k := "live/seg" + string(rune('0'+i)) + ".ts"
		keys = append(keys, k)
		if code, body := f.push(t, "PUT", "/"+strings.Replace(k, "live/", "ingest/live/", 1), key, "payload-"+k); code != http.StatusAccepted {
			t.Fatalf("PUT %s with the origin down: %d %s, want 202", k, code, body)
		}
	}
	// Restart the ingest node's service with the origin still down.
	f.stop()
	f.start(t, dir)
	if n := f.sp.Len(); n != 5 {
		t.Fatalf("after restart the spool holds %d ops, want 5", n)
	}
	// The origin comes back on the same address.
	var err error
	f.s3, err = devs3.Start(f.addr, slog.New(slog.DiscardHandler), "media")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.sp.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if got, ok := f.originHas(t, k); !ok || got != "payload-"+k {
			t.Errorf("origin has %s = %q %v", k, got, ok)
		}
	}
}

// A chunked upload (no Content-Length, what ffmpeg sends) is streamed to
// the spool and still reaches the origin and this node's cache.
func TestChunkedPushIsStreamed(t *testing.T) {
	f := newFixture(t, t.TempDir())
	pr, pw := io.Pipe()
	go func() {
		for i := range 10 {
			_, _ = pw.Write([]byte(strings.Repeat(string(rune('a'+i)), 1000)))
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("PUT", f.srv.URL+"/ingest/live/seg9.ts", pr)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("chunked PUT: %d", resp.StatusCode)
	}
	if got, ok := f.originHas(t, "live/seg9.ts"); !ok || len(got) != 10000 || got[9999] != 'j' {
		t.Fatalf("origin has %d bytes, %v", len(got), ok)
	}
	if e, ok := f.cache.Get("live/seg9.ts"); !ok || len(e.Body) != 10000 {
		t.Fatalf("cache has %d bytes, %v", len(e.Body), ok)
	}
}

// A streamer that trickles its body is cut one rate window after its
// last full window, answered 408, and nothing is spooled.
func TestSlowUploadIsCut(t *testing.T) {
	f := newFixtureOf(t, &fixture{window: 600 * time.Millisecond}, t.TempDir())

	c, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "PUT /ingest/live/slow.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+key+
		"\r\nContent-Length: 60000\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a byte every 100 ms: 10 B/s against a minimum of 1000
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, _ := io.ReadAll(c)
	elapsed := time.Since(start)
	if !strings.HasPrefix(string(resp), "HTTP/1.1 408") {
		t.Fatalf("answer %q, want 408", resp)
	}
	if elapsed < f.window || elapsed > f.window+3*time.Second {
		t.Fatalf("cut after %v, want within [%v, %v]", elapsed, f.window, f.window+3*time.Second)
	}
	if st := f.svc.Stats(); st.SlowUploads != 1 {
		t.Fatalf("stats %+v, want SlowUploads 1", st)
	}
	if st := f.sp.Stats(); st.Appended != 0 || st.Bytes != 0 {
		t.Fatalf("a cut upload left %+v in the spool", st)
	}
}

// Stalled uploads do not pin their bodies in memory: six uploads that sent
// 8 MiB each and stopped (issue 9 saw six stalled 60 MiB uploads hold
// 380 MB) hold their bytes in the spool's temp files, not in the heap.
func TestStalledUploadsHoldNoMemory(t *testing.T) {
	f := newFixtureOf(t, &fixture{window: time.Minute, maxObj: 64 << 20}, t.TempDir())

	const uploads, sent = 6, 8 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	chunk := make([]byte, 1<<20)
	for i := range uploads {
		c, err := net.Dial("tcp", f.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := fmt.Fprintf(c, "PUT /ingest/live/big%d.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", i, key, 60<<20); err != nil {
			t.Fatal(err)
		}
		for range sent / len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
	}
	nodetest.WaitFor(t, 30*time.Second, "the spool to hold what was sent", func() bool {
		return f.sp.Stats().Bytes >= uploads*sent*9/10 // the rest may still be in socket buffers
	})
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 16<<20 {
		t.Fatalf("heap grew by %d MiB with %d MiB of stalled uploads in flight", grew>>20, uploads*sent>>20)
	}
}
