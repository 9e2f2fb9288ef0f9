package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// fakeLive is a live HLS stream "live" whose window the test moves: the
// playlist lists the last window segments up to newest, 1 s each. Segment
// n is segSize(n) bytes. Every segment path's first request is answered
// as a cache miss, later ones as hits; playlists alternate between a
// stale hit and no Cache-Status at all. Its /metrics count origin fills as
// an edge would: originPerSeg[node] per distinct segment requested.
type fakeLive struct {
	mu      sync.Mutex
	newest  uint64
	window  uint64
	ended   bool
	missing map[uint64]bool          // answered 404
	slow    map[uint64]time.Duration // answered after this long
	short   map[uint64]bool          // body cut short: the connection drops
	// playlistStatus and playlistBody, when set, replace every playlist
	// answer (bad input tests).
	playlistStatus int
	playlistBody   string

	playlists    int             // playlist requests, master included
	segRequested map[string]bool // segment paths requested
	segServed    map[string]int  // 200 answers per segment path
	players      map[string]*seenPlayer
	originPerSeg []float64 // per node index
}

// seenPlayer is what the server saw of one player (by its User-Agent).
type seenPlayer struct {
	lastSeg        uint64 // highest segment requested
	playlistsSince int    // playlist requests after the last segment request
	playlists      int
}

func newFakeLive(newest uint64) *fakeLive {
	return &fakeLive{
		newest: newest, window: 6,
		missing: map[uint64]bool{}, slow: map[uint64]time.Duration{}, short: map[uint64]bool{},
		segRequested: map[string]bool{}, segServed: map[string]int{}, players: map[string]*seenPlayer{},
		originPerSeg: []float64{2, 1},
	}
}

func segSize(n uint64) int { return 1000 + int(n) }

// start serves the stream as nodes "a" and "b" and returns them.
func (f *fakeLive) start(t *testing.T) []benchkit.Node {
	t.Helper()
	var nodes []benchkit.Node
	for i, name := range []string{"a", "b"} {
		srv := httptest.NewServer(f.handler(i))
		t.Cleanup(srv.Close)
		nodes = append(nodes, benchkit.Node{URL: srv.URL, Name: name, Region: "seoul"})
	}
	return nodes
}

func (f *fakeLive) handler(node int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hls/live/{file}", func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		if strings.HasSuffix(file, ".m3u8") {
			f.servePlaylist(w, r, file)
			return
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(file, "seg"), ".ts"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		f.serveSegment(w, r, n)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		segs := float64(len(f.segRequested))
		// Another metric with the same prefix, labels in any order, and
		// series that must not count.
		fmt.Fprintf(w, "# HELP relaymesh_hls_fills_total fills\n# TYPE relaymesh_hls_fills_total counter\n")
		fmt.Fprintf(w, "relaymesh_hls_fills_total_extra{kind=\"segment\",source=\"origin\"} 999\n")
		fmt.Fprintf(w, "relaymesh_hls_fills_total{source=\"origin\",kind=\"segment\"} %g\n", 7+f.originPerSeg[node]*segs)
		fmt.Fprintf(w, "relaymesh_hls_fills_total{kind=\"segment\",source=\"peer\"} %g\n", 1000+segs)
		playlists := 0.0
		if node == 0 {
			playlists = float64(f.playlists)
		}
		fmt.Fprintf(w, "relaymesh_hls_fills_total{kind=\"playlist\",source=\"origin\"} %g\n", 100+playlists)
	})
	return mux
}

func (f *fakeLive) player(r *http.Request) *seenPlayer {
	ua := r.Header.Get("User-Agent")
	p := f.players[ua]
	if p == nil {
		p = &seenPlayer{}
		f.players[ua] = p
	}
	return p
}

func (f *fakeLive) servePlaylist(w http.ResponseWriter, r *http.Request, file string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.playlists++
	p := f.player(r)
	p.playlists++
	p.playlistsSince++
	if f.playlistStatus != 0 {
		w.WriteHeader(f.playlistStatus)
		fmt.Fprint(w, f.playlistBody)
		return
	}
	if f.playlists%2 == 1 {
		w.Header().Set("Cache-Status", `fake; hit; ttl=-2; detail="origin-unavailable, really"`)
	}
	if file == "master.m3u8" {
		fmt.Fprint(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000\nindex.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=900000\nhigh.m3u8\n")
		return
	}
	first := uint64(0)
	if f.newest+1 > f.window {
		first = f.newest + 1 - f.window
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	for n := first; n <= f.newest; n++ {
		// Odd segments by absolute path: both forms must resolve.
		if n%2 == 1 {
			fmt.Fprintf(&b, "#EXTINF:1.0,\n/hls/live/seg%d.ts\n", n)
		} else {
			fmt.Fprintf(&b, "#EXTINF:1.0,\nseg%d.ts\n", n)
		}
	}
	if f.ended {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	fmt.Fprint(w, b.String())
}

func (f *fakeLive) serveSegment(w http.ResponseWriter, r *http.Request, n uint64) {
	f.mu.Lock()
	key := r.URL.Path
	f.segRequested[key] = true
	p := f.player(r)
	p.lastSeg = max(p.lastSeg, n)
	p.playlistsSince = 0
	missing, slow, short := f.missing[n] || n > f.newest, f.slow[n], f.short[n]
	cacheStatus := "fake; hit"
	if !missing && f.segServed[key] == 0 {
		cacheStatus = "fake; fwd=miss; stored"
	}
	if !missing {
		f.segServed[key]++
	}
	f.mu.Unlock()

	if slow > 0 {
		t := time.NewTimer(slow) // the network is slow, not a synchronisation
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	if missing {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Status", cacheStatus)
	w.Header().Set("Content-Length", strconv.Itoa(segSize(n)))
	body := strings.Repeat("x", segSize(n))
	if short {
		body = body[:segSize(n)/2] // the server closes the connection
	}
	fmt.Fprint(w, body)
}

func (f *fakeLive) advance(newest uint64) {
	f.mu.Lock()
	f.newest = newest
	f.mu.Unlock()
}

// atEdge reports whether each of n players has requested segment newest
// and then loaded the playlist again: by then it has recorded everything
// up to newest.
func (f *fakeLive) atEdge(n int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.players) != n {
		return false
	}
	for _, p := range f.players {
		if p.lastSeg != f.newest || p.playlistsSince == 0 {
			return false
		}
	}
	return true
}

func (f *fakeLive) locked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// running is a Run in the background that the test stops.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	rep    *Report
	err    error
}

func startRun(t *testing.T, cfg Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.rep, r.err = Run(ctx, cfg)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop interrupts the run (as Ctrl-C does) and returns its report.
func (r *running) stop(t *testing.T) *Report {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20s of being interrupted")
	}
	return r.rep
}

// testConfig is a long run that the test interrupts when it has seen
// what it needs.
func testConfig(nodes []benchkit.Node, players int) Config {
	cfg := DefaultConfig()
	cfg.Nodes, cfg.Stream, cfg.Players = nodes, "live", players
	cfg.Ramp, cfg.Duration, cfg.RequestTimeout = 50*time.Millisecond, time.Minute, 5*time.Second
	return cfg
}
