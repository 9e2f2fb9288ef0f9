package devmesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/origin/miniotest"
)

// TestOriginOutageThroughTheWholeMesh is issue 4's acceptance 4, end to
// end: a real MinIO origin is killed mid-stream; the Seoul node keeps
// acknowledging the streamer's pushes (spooled), Frankfurt keeps serving
// what it has cached and, thanks to prefetching from Seoul, the new
// segments too; Seoul is restarted while the origin is still down; then
// the origin comes back and every acknowledged object reaches it, in the
// order it was acknowledged, with the right content, and deleted segments
// are gone.
//
// The nodes reach MinIO through a recording reverse proxy that logs every
// write MinIO accepted, in arrival order. While MinIO is down the proxy
// answers 502, as a load balancer in front of an S3 service would.
func TestOriginOutageThroughTheWholeMesh(t *testing.T) {
	mio := miniotest.Start(t)
	rec := newWriteRecorder(t, mio.Config.Endpoint, mio.Config.Bucket, "live/")
	o := mio.Config
	o.Endpoint = rec.addr
	cfgOrigin := configOrigin(o)

	opts := testOptions(t)
	opts.Origin = &cfgOrigin
	opts.Regions = []string{"seoul", "frankfurt"}
	opts.WAN = false
	opts.Tune = func(c *config.Config) {
		c.Ingest.WriteThroughWait = 500 * time.Millisecond
		c.HLS.PlaylistMaxAge = 500 * time.Millisecond
		c.Origin.Timeout = time.Second
	}
	m := startMesh(t, opts)
	seoul, frankfurt := m.Nodes()[0], m.Nodes()[1]
	waitAllAlive(t, m.Nodes(), 20*time.Second)

	hc := &http.Client{Timeout: 10 * time.Second}
	var acked []write // in acknowledgement order
	send := func(method, path, body string, want int) {
		t.Helper()
		ingest(t, m, seoul, method, path, body, want)
		acked = append(acked, write{method, "live/" + path})
	}
	segBody := func(n int) string { return strings.Repeat(fmt.Sprintf("segment %d ", n), 2000) }
	playlistAt := func(n int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", max(0, n-2))
		for k := max(0, n-2); k <= n; k++ {
			fmt.Fprintf(&b, "#EXTINF:1.0,\nseg%d.ts\n", k)
		}
		return b.String()
	}
	// pushSegment does what ffmpeg -f hls -hls_flags delete_segments does
	// for segment n: the segment, the playlist, the delete of the segment
	// that left the window a while ago.
	pushSegment := func(n int, written, deleted int) {
		t.Helper()
		send("PUT", fmt.Sprintf("seg%d.ts", n), segBody(n), written)
		send("PUT", "index.m3u8", playlistAt(n), written)
		if n >= 4 {
			send("DELETE", fmt.Sprintf("seg%d.ts", n-4), "", deleted)
		}
	}
	get := func(path string) (int, string) {
		resp, err := hc.Get(frankfurt.HTTPURL() + "/hls/live/" + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	mustServe := func(path, want string) {
		t.Helper()
		nodetest.WaitFor(t, 5*time.Second, "Frankfurt serves "+path, func() bool {
			code, body := get(path)
			return code == 200 && body == want
		})
	}

	// Origin up: pushes are written through (201); a player on Frankfurt
	// follows the stream, so Frankfurt caches segments 1-3.
	for n := 0; n <= 3; n++ {
		pushSegment(n, http.StatusCreated, http.StatusNoContent)
	}
	mustServe("index.m3u8", playlistAt(3))
	for n := 1; n <= 3; n++ {
		mustServe(fmt.Sprintf("seg%d.ts", n), segBody(n))
	}

	// Origin down: pushes are acknowledged as spooled (202); Frankfurt
	// serves its cached segments, the announced playlists and the new
	// segments it prefetched from Seoul.
	mio.Stop()
	for n := 4; n <= 6; n++ {
		pushSegment(n, http.StatusAccepted, http.StatusAccepted)
	}
	mustServe("index.m3u8", playlistAt(6))
	for n := 1; n <= 6; n++ {
		mustServe(fmt.Sprintf("seg%d.ts", n), segBody(n))
	}
	if code, _ := get("seg99.ts"); code != http.StatusGatewayTimeout {
		t.Errorf("a segment nobody has, origin down: %d, want 504", code)
	}

	// The ingest node restarts while the origin is still down: what it
	// spooled is still there, and it goes on accepting pushes.
	spooled := seoul.Spooled()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seoul, err := m.Restart(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := seoul.Spooled(); got != spooled || got == 0 {
		t.Fatalf("after the restart the spool holds %d objects, before it %d", got, spooled)
	}
	for n := 7; n <= 8; n++ {
		pushSegment(n, http.StatusAccepted, http.StatusAccepted)
	}

	// Origin back: the spool drains, in order.
	mio.Restart()
	nodetest.WaitFor(t, 30*time.Second, "Seoul's spool drains into the origin", func() bool { return seoul.Spooled() == 0 })

	if err := rec.inOrder(acked); err != nil {
		t.Fatal(err)
	}
	client, err := origin.New(mio.Config)
	if err != nil {
		t.Fatal(err)
	}
	read := func(key string) (string, error) {
		rc, _, err := client.Get(context.Background(), key)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	for n := 0; n <= 8; n++ {
		key := fmt.Sprintf("live/seg%d.ts", n)
		body, err := read(key)
		switch {
		case n <= 4: // deleted when segment n+4 was pushed
			if !errors.Is(err, origin.ErrNotFound) {
				t.Errorf("%s: %v, want deleted", key, err)
			}
		case err != nil || body != segBody(n):
			t.Errorf("%s at the origin: %d bytes, %v; want segment %d", key, len(body), err, n)
		}
	}
	if body, err := read("live/index.m3u8"); err != nil || body != playlistAt(8) {
		t.Errorf("playlist at the origin: %q, %v; want the last one pushed", body, err)
	}
	t.Logf("%d acknowledged writes reached the origin in order (%d requests MinIO accepted, retries included)", len(acked), len(rec.log()))
}

// write is one object write: PUT or DELETE of a key.
type write struct{ method, key string }

// writeRecorder is a reverse proxy to an S3 server that logs the writes
// of keys under prefix that the server accepted (2xx), in the order they
// arrived.
type writeRecorder struct {
	addr   string
	bucket string
	mu     sync.Mutex
	writes []write
}

func newWriteRecorder(t *testing.T, target, bucket, prefix string) *writeRecorder {
	r := &writeRecorder{bucket: bucket}
	u, _ := url.Parse("http://" + target)
	proxy := httputil.NewSingleHostReverseProxy(u) // keeps the Host header the client signed
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
		w.WriteHeader(http.StatusBadGateway) // the server is down: expected here
	}
	proxy.ModifyResponse = func(resp *http.Response) error {
		req := resp.Request
		key, ok := strings.CutPrefix(req.URL.Path, "/"+bucket+"/")
		if ok && strings.HasPrefix(key, prefix) && (req.Method == http.MethodPut || req.Method == http.MethodDelete) && resp.StatusCode/100 == 2 {
			r.mu.Lock()
			r.writes = append(r.writes, write{req.Method, key})
			r.mu.Unlock()
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	r.addr = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *writeRecorder) log() []write {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]write(nil), r.writes...)
}

// inOrder checks that the writes the origin accepted are exactly the
// acknowledged ones, in acknowledgement order, allowing only a write to
// repeat right after itself (a retry of a request whose answer was lost).
func (r *writeRecorder) inOrder(acked []write) error {
	got := r.log()
	next := 0
	for i, w := range got {
		switch {
		case next < len(acked) && w == acked[next]:
			next++
		case next > 0 && w == acked[next-1]:
			// a retry of the write just accepted
		default:
			want := "nothing more"
			if next < len(acked) {
				want = fmt.Sprint(acked[next])
			}
			return fmt.Errorf("origin write %d is %v; want %s (acknowledged writes %d..: %v)", i, w, want, next, acked[next:])
		}
	}
	if next != len(acked) {
		return fmt.Errorf("only %d of %d acknowledged writes reached the origin; missing from %v", next, len(acked), acked[next])
	}
	return nil
}
