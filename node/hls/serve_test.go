package hls

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/origin/devs3"
)

type fixture struct {
	s3     *devs3.Server
	client *origin.Client
	srv    *httptest.Server
	cache  *cache.Cache
	server *Server
}

func (f *fixture) srvCounters() *Counters { return f.server.Counters() }

func newFixture(t *testing.T, tune ...func(*Config)) *fixture {
	t.Helper()
	s3, err := devs3.Start("127.0.0.1:0", slog.New(slog.DiscardHandler), "media")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s3.Close(context.Background()) })
	client, err := origin.New(origin.Config{Endpoint: s3.Endpoint(), Bucket: "media", AccessKey: "k", SecretKey: "s",
		Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(cache.Config{MemoryBytes: 1 << 20, Dir: t.TempDir(), DiskBytes: 4 << 20, FillTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	cfg := Config{Cache: c, Origin: client, Streams: []string{"live"}}
	for _, f := range tune {
		f(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{s3: s3, client: client, srv: srv, cache: c, server: s}
}

func (f *fixture) put(t *testing.T, key, body string) {
	t.Helper()
	if _, err := f.client.Put(context.Background(), key, strings.NewReader(body), int64(len(body)), "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) do(t *testing.T, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServesPlaylistsAndSegments(t *testing.T) {
	f := newFixture(t)
	seg := strings.Repeat("S", 1000)
	f.put(t, "live/seg0.ts", seg)
	f.put(t, "live/index.m3u8", "#EXTM3U\n#EXTINF:1.0,\nseg0.ts\n")

	resp, body := f.do(t, "GET", "/hls/live/seg0.ts", nil)
	if resp.StatusCode != 200 || body != seg || resp.Header.Get("Content-Type") != "video/mp2t" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("segment: %d %v", resp.StatusCode, resp.Header)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp, body = f.do(t, "GET", "/hls/live/index.m3u8", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "#EXTM3U") || resp.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" ||
		resp.Header.Get("Cache-Control") != "public, max-age=1" {
		t.Fatalf("playlist: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, body = f.do(t, "HEAD", "/hls/live/seg0.ts", nil); resp.StatusCode != 200 || body != "" || resp.ContentLength != 1000 {
		t.Fatalf("HEAD: %d len %d body %q", resp.StatusCode, resp.ContentLength, body)
	}
	if resp, body = f.do(t, "GET", "/hls/live/seg0.ts", map[string]string{"Range": "bytes=10-19"}); resp.StatusCode != 206 || body != seg[10:20] {
		t.Fatalf("range: %d %q", resp.StatusCode, body)
	}
	if resp, _ = f.do(t, "GET", "/hls/live/seg0.ts", map[string]string{"Range": "bytes=5000-6000"}); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("unsatisfiable range: %d", resp.StatusCode)
	}
	for _, bad := range []string{"bytes=abc", "bytes=20-10", "bytes=--5", "bytes=1-2-3", "bytes=0-1,,x"} {
		if resp, _ = f.do(t, "GET", "/hls/live/seg0.ts", map[string]string{"Range": bad}); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("malformed range %q: %d, want 416", bad, resp.StatusCode)
		}
	}
	if resp, _ = f.do(t, "GET", "/hls/live/seg0.ts", map[string]string{"If-None-Match": etag}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional: %d", resp.StatusCode)
	}
	if resp, _ = f.do(t, "OPTIONS", "/hls/live/seg0.ts", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight: %d", resp.StatusCode)
	}
	if st := f.cache.Stats(); st.Fills != 2 {
		t.Fatalf("%d fills for 2 objects asked 7 times", st.Fills)
	}
}

func TestRefusesBadPaths(t *testing.T) {
	f := newFixture(t)
	f.put(t, "live/seg0.ts", "x")
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/hls/live/..%2f..%2fetc%2fpasswd.ts", http.StatusBadRequest},
		{"/hls/live/a/../../seg0.ts", http.StatusBadRequest},
		{"/hls/Live/seg0.ts", http.StatusBadRequest},
		{"/hls/live/seg0%00.ts", http.StatusBadRequest},
		{"/hls/live/" + strings.Repeat("a/", 40) + "x.ts", http.StatusBadRequest},
		{"/hls/live/secrets.txt", http.StatusNotFound},
		{"/hls/live/missing.ts", http.StatusNotFound},
		{"/hls/nostream/index.m3u8", http.StatusNotFound},
	} {
		resp, body := f.do(t, "GET", tc.path, nil)
		if resp.StatusCode != tc.want || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s: %d %s, want %d", tc.path, resp.StatusCode, body, tc.want)
		}
	}
}

func TestOriginDownServesCachedAndFailsFastOnMiss(t *testing.T) {
	f := newFixture(t)
	f.put(t, "live/seg0.ts", "cached")
	if resp, _ := f.do(t, "GET", "/hls/live/seg0.ts", nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	_ = f.s3.Close(context.Background())

	if resp, body := f.do(t, "GET", "/hls/live/seg0.ts", nil); resp.StatusCode != 200 || body != "cached" {
		t.Fatalf("cached segment with the origin down: %d %q", resp.StatusCode, body)
	}
	start := time.Now()
	resp, _ := f.do(t, "GET", "/hls/live/seg1.ts", nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("miss with the origin down: %d, want 504", resp.StatusCode)
	}
	t.Logf("miss with the origin down answered 504 after %v", time.Since(start).Round(time.Millisecond))
}

// TestStalePlaylistWhileOriginDown: an expired playlist is served, marked
// stale in Cache-Status, when the origin cannot be reached; a playlist
// never cached still fails with 504.
func TestStalePlaylistWhileOriginDown(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PlaylistMaxAge = 50 * time.Millisecond })
	f.put(t, "live/index.m3u8", "#EXTM3U\nv1\n")
	f.put(t, "live/other.m3u8", "#EXTM3U\n")
	for _, want := range []string{"relaymesh; fwd=miss", "relaymesh; hit"} {
		resp, body := f.do(t, "GET", "/hls/live/index.m3u8", nil)
		if resp.StatusCode != 200 || body != "#EXTM3U\nv1\n" || resp.Header.Get("Cache-Status") != want {
			t.Fatalf("origin up: %d %q, Cache-Status %q; want 200 v1 %q", resp.StatusCode, body, resp.Header.Get("Cache-Status"), want)
		}
	}
	_ = f.s3.Close(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for f.cache.Has("live/index.m3u8") {
		if time.Now().After(deadline) {
			t.Fatal("playlist did not expire")
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}

	start := time.Now()
	resp, body := f.do(t, "GET", "/hls/live/index.m3u8", nil)
	cs := resp.Header.Get("Cache-Status")
	if resp.StatusCode != 200 || body != "#EXTM3U\nv1\n" || !strings.HasPrefix(cs, "relaymesh; hit; ttl=-") || !strings.HasSuffix(cs, "; detail=origin-unavailable") {
		t.Fatalf("expired playlist, origin down: %d %q, Cache-Status %q; want 200, v1, stale", resp.StatusCode, body, cs)
	}
	t.Logf("stale playlist served after %v (Cache-Status: %s)", time.Since(start).Round(time.Millisecond), cs)
	if resp, _ := f.do(t, "GET", "/hls/live/other.m3u8", nil); resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("uncached playlist, origin down: %d, want 504", resp.StatusCode)
	}
}
