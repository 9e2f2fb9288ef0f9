package hls

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/nodetest"
	"github.com/relaymesh/relaymesh/origin"
)

// countingOrigin counts the GETs that reach the origin and, while block
// is open, holds them until it is closed (or their context ends).
type countingOrigin struct {
	Origin
	gets, waiting atomic.Int64
	block         chan struct{}
}

func (o *countingOrigin) Get(ctx context.Context, key string) (io.ReadCloser, origin.Info, error) {
	o.gets.Add(1)
	if o.block != nil {
		o.waiting.Add(1)
		defer o.waiting.Add(-1)
		select {
		case <-o.block:
		case <-ctx.Done():
			return nil, origin.Info{}, ctx.Err()
		}
	}
	return o.Origin.Get(ctx, key)
}

// withCounting wraps the fixture's origin in o.
func withCounting(o *countingOrigin) func(*Config) {
	return func(c *Config) { o.Origin, c.Origin = c.Origin, o }
}

// TestUnknownStreamSegmentsCostNoOriginGet: a flood of requests for
// distinct segments of streams the edge does not know (not configured,
// not announced, listed by no playlist) makes no origin GET, and each
// gets the same answer as a configured stream's segment the origin does
// not have. Before, each was one GET.
func TestUnknownStreamSegmentsCostNoOriginGet(t *testing.T) {
	o := &countingOrigin{}
	f := newFixture(t, withCounting(o))
	f.put(t, "lime/seg0.ts", "exists, but no playlist lists it")

	const requests = 500
	var wg sync.WaitGroup
	paths := make(chan string)
	bad := make(chan string, requests)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				resp, err := http.Get(f.srv.URL + p)
				if err != nil {
					bad <- err.Error()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					bad <- fmt.Sprintf("GET %s: %d", p, resp.StatusCode)
				}
			}
		}()
	}
	paths <- "/hls/lime/seg0.ts"
	for i := range requests - 1 {
		if i%2 == 0 {
			paths <- fmt.Sprintf("/hls/lime/seg%d.ts", i+1)
		} else {
			paths <- fmt.Sprintf("/hls/stream%d/seg.ts", i)
		}
	}
	close(paths)
	wg.Wait()
	close(bad)
	if got := o.gets.Load(); got != 0 {
		t.Fatalf("%d requests for segments of unknown streams made %d origin GETs, want 0", requests, got)
	}
	for b := range bad {
		t.Fatal(b)
	}
	if got := f.srvCounters().UnknownRefused.Load(); got != requests {
		t.Errorf("UnknownRefused = %d, want %d", got, requests)
	}

	// The answer does not tell an unknown stream from a known one (the
	// names are of one length, for Content-Length).
	unknown, ub := f.do(t, "GET", "/hls/lime/seg1.ts", nil)
	known, kb := f.do(t, "GET", "/hls/live/seg1.ts", nil)
	if o.gets.Load() != 1 {
		t.Fatalf("the configured stream's miss made %d origin GETs, want 1", o.gets.Load())
	}
	if unknown.StatusCode != known.StatusCode || strings.ReplaceAll(ub, "lime", "live") != kb {
		t.Errorf("unknown stream: %d %s; known stream: %d %s", unknown.StatusCode, ub, known.StatusCode, kb)
	}
	for _, h := range []string{"Content-Type", "Cache-Control", "Cache-Status", "Content-Length"} {
		if unknown.Header.Get(h) != known.Header.Get(h) {
			t.Errorf("%s: %q for an unknown stream, %q for a known one", h, unknown.Header.Get(h), known.Header.Get(h))
		}
	}
}

// TestListedSegmentsOfOriginStreams: a stream that is only in the origin
// (not configured here, not announced) plays on a fresh edge: the playlist
// is filled, and then the segments and init sections it lists; a segment
// it does not list is refused without an origin GET. An announced stream's
// segments are filled whether listed or not, and so are a stream's that
// SetStreams adds.
func TestListedSegmentsOfOriginStreams(t *testing.T) {
	o := &countingOrigin{}
	f := newFixture(t, withCounting(o))
	f.put(t, "other/720p/index.m3u8", "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\nseg0.m4s\n#EXTINF:2,\n/hls/other/720p/seg1.m4s\n")
	for _, k := range []string{"other/720p/init.mp4", "other/720p/seg0.m4s", "other/720p/seg1.m4s", "other/720p/seg9.m4s", "pushed/seg0.ts"} {
		f.put(t, k, "bytes of "+k)
	}
	get := func(p string, want int) {
		t.Helper()
		if resp, body := f.do(t, "GET", "/hls/"+p, nil); resp.StatusCode != want {
			t.Fatalf("GET %s: %d %s, want %d", p, resp.StatusCode, body, want)
		}
	}
	get("other/720p/seg0.m4s", http.StatusNotFound) // no playlist seen yet
	get("other/720p/index.m3u8", http.StatusOK)
	get("other/720p/seg0.m4s", http.StatusOK)
	get("other/720p/seg1.m4s", http.StatusOK)
	get("other/720p/init.mp4", http.StatusOK)
	before := o.gets.Load()
	get("other/720p/seg9.m4s", http.StatusNotFound) // exists, but is not listed
	if got := o.gets.Load() - before; got != 0 {
		t.Fatalf("an unlisted segment made %d origin GETs", got)
	}

	get("pushed/seg0.ts", http.StatusNotFound)
	f.server.NoteSource("pushed", "seoul-1")
	get("pushed/seg0.ts", http.StatusOK)

	// Stream keys reloaded: a newly configured stream is known.
	f.put(t, "later/seg0.ts", "x")
	get("later/seg0.ts", http.StatusNotFound)
	f.server.SetStreams([]string{"live", "later"})
	get("later/seg0.ts", http.StatusOK)
}

// TestNotFoundIsRemembered: a missing key asked again and again costs one
// origin GET per NotFoundTTL, not one per request; once the TTL has
// passed the origin is asked again (and the object, uploaded meanwhile,
// served). A segment a playlist lists is not remembered as missing: the
// origin is behind the ingest node, and has it soon.
func TestNotFoundIsRemembered(t *testing.T) {
	o := &countingOrigin{}
	f := newFixture(t, withCounting(o), func(c *Config) { c.NotFoundTTL = 300 * time.Millisecond })
	for range 50 {
		if resp, _ := f.do(t, "GET", "/hls/live/late.m3u8", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("missing playlist: %d", resp.StatusCode)
		}
	}
	if got := o.gets.Load(); got != 1 {
		t.Fatalf("50 requests for one missing playlist made %d origin GETs, want 1", got)
	}
	if got := f.srvCounters().NotFoundCached.Load(); got != 49 {
		t.Errorf("NotFoundCached = %d, want 49", got)
	}
	f.put(t, "live/late.m3u8", "#EXTM3U\n")
	nodetest.WaitFor(t, 10*time.Second, "the playlist served once its 404 is forgotten", func() bool {
		resp, _ := f.do(t, "GET", "/hls/live/late.m3u8", nil)
		return resp.StatusCode == http.StatusOK
	})

	f.put(t, "live/index.m3u8", "#EXTM3U\n#EXTINF:2,\nseg7.ts\n")
	if resp, _ := f.do(t, "GET", "/hls/live/index.m3u8", nil); resp.StatusCode != http.StatusOK {
		t.Fatal(resp.StatusCode)
	}
	before := o.gets.Load()
	for range 2 {
		if resp, _ := f.do(t, "GET", "/hls/live/seg7.ts", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("listed segment not yet at the origin: %d", resp.StatusCode)
		}
	}
	if got := o.gets.Load() - before; got != 2 {
		t.Fatalf("a listed segment's 404 was remembered: %d GETs for 2 requests", got)
	}
	f.put(t, "live/seg7.ts", "now it is there")
	if resp, _ := f.do(t, "GET", "/hls/live/seg7.ts", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("listed segment once uploaded: %d", resp.StatusCode)
	}
}

// TestOriginRequestsAreCapped: with MaxOriginRequests in flight, a further
// miss is answered 503 with Retry-After at once, not queued; playlists of
// unknown streams take at most an eighth of the slots, so they cannot
// crowd out a configured stream. The origin holds every GET until the
// test lets it go.
func TestOriginRequestsAreCapped(t *testing.T) {
	o := &countingOrigin{block: make(chan struct{})}
	f := newFixture(t, withCounting(o), func(c *Config) { c.MaxOriginRequests = 8 })
	var wg sync.WaitGroup
	released := false
	release := func() {
		if !released {
			released = true
			close(o.block)
		}
		wg.Wait()
	}
	defer release()
	hc := &http.Client{Timeout: 5 * time.Second}
	statuses := make(chan int, 16)
	start := func(p string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get(f.srv.URL + p)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	answer := func(p string) (*http.Response, string) {
		t.Helper()
		resp, err := hc.Get(f.srv.URL + p)
		if err != nil {
			t.Fatalf("GET %s: %v (queued behind the origin requests in flight?)", p, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// An unknown stream's playlist takes the one slot of the share; a
	// second one is refused.
	start("/hls/nostream1/index.m3u8")
	nodetest.WaitFor(t, 10*time.Second, "one GET held by the origin", func() bool { return o.waiting.Load() == 1 })
	if resp, body := answer("/hls/nostream2/index.m3u8"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second unknown stream's playlist: %d %s, want 503", resp.StatusCode, body)
	}
	// Known streams fill the other seven slots; the next miss is refused.
	for i := range 7 {
		start(fmt.Sprintf("/hls/live/seg%d.ts", i))
	}
	nodetest.WaitFor(t, 10*time.Second, "8 GETs held by the origin", func() bool { return o.waiting.Load() == 8 })
	if got := f.server.OriginInFlight(); got != 8 {
		t.Errorf("OriginInFlight = %d, want 8", got)
	}
	resp, body := answer("/hls/live/index.m3u8")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, `"origin_busy"`) {
		t.Fatalf("a miss over the cap: %d, Retry-After %q, %s; want 503, 1, origin_busy", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if got := f.srvCounters().OriginBusy.Load(); got != 2 {
		t.Errorf("OriginBusy = %d, want 2", got)
	}
	if got := o.gets.Load(); got != 8 {
		t.Errorf("%d origin GETs, want 8", got)
	}
	release()
	close(statuses)
	for st := range statuses {
		if st != http.StatusNotFound {
			t.Errorf("a held request answered %d, want 404 (the objects do not exist)", st)
		}
	}
	if got := f.server.OriginInFlight(); got != 0 {
		t.Errorf("OriginInFlight = %d after the GETs returned", got)
	}
}
