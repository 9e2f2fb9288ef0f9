package devmesh

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node"
	"github.com/relaymesh/relaymesh/node/nodetest"
)

// TestEdgesWithPlayersPrefetchNewSegments: when the ingest node (Seoul)
// announces a playlist, an edge whose players follow the stream
// (Frankfurt, its region's only node and so the owner of every key) fills
// the newly listed segments from Seoul before any player asks, and the
// player's request is then a cache hit that cost no origin GET; an edge
// without players of the stream (Tokyo) fetches nothing. WAN emulation
// is on.
func TestEdgesWithPlayersPrefetchNewSegments(t *testing.T) {
	m := startMesh(t, testOptions(t))
	nodes := m.Nodes()
	byRegion := map[string]*node.Node{}
	for _, n := range nodes {
		byRegion[n.Region()] = n
	}
	seoul, tokyo, frankfurt := byRegion["seoul"], byRegion["tokyo"], byRegion["frankfurt"]
	waitAllAlive(t, nodes, 20*time.Second)
	hc := &http.Client{Timeout: 5 * time.Second}
	push := func(path, body string) { t.Helper(); ingest(t, m, seoul, "PUT", path, body, http.StatusCreated) }
	get := func(n *node.Node, path string) (string, http.Header) {
		t.Helper()
		resp, err := hc.Get(n.HTTPURL() + "/hls/live/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s on %s: %d %s", path, n.Name(), resp.StatusCode, b)
		}
		return string(b), resp.Header
	}
	const head = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:1\n"
	seg1, seg2 := strings.Repeat("1", 50_000), strings.Repeat("2", 50_000)

	push("seg1.ts", seg1)
	push("index.m3u8", head+"#EXTINF:1.0,\nseg1.ts\n")
	get(frankfurt, "index.m3u8") // a player on Frankfurt follows "live"

	push("seg2.ts", seg2)
	push("index.m3u8", head+"#EXTINF:1.0,\nseg1.ts\n#EXTINF:1.0,\nseg2.ts\n")
	acked := time.Now()
	fc := frankfurt.HLSCounters()
	nodetest.WaitFor(t, 10*time.Second, "Frankfurt prefetches seg1 and seg2", func() bool { return fc.Prefetched.Load() == 2 })
	t.Logf("Frankfurt holds both segments %v after Seoul acked the playlist (WAN one-way 115.65 ms)", time.Since(acked).Round(time.Millisecond))

	for path, want := range map[string]string{"seg1.ts": seg1, "seg2.ts": seg2} {
		body, h := get(frankfurt, path)
		if body != want || h.Get("Cache-Status") != frankfurt.Name()+"; hit" {
			t.Errorf("%s on Frankfurt after the prefetch: %d bytes, Cache-Status %q; want the segment, a hit", path, len(body), h.Get("Cache-Status"))
		}
	}
	if got := fc.Segments.OriginGets.Load() + fc.Segments.PeerFetches.Load(); got != 0 {
		t.Errorf("Frankfurt filled %d segments from the origin or a region peer; want both from Seoul", got)
	}
	if got := fc.Segments.SourceFetches.Load(); got != 2 {
		t.Errorf("Frankfurt fetched %d segments from the ingest node, want 2", got)
	}
	if got := tokyo.HLSCounters().Prefetched.Load(); got != 0 {
		t.Errorf("Tokyo, without players of the stream, prefetched %d segments", got)
	}
	if fails := fc.PrefetchFails.Load(); fails != 0 {
		t.Errorf("%d prefetches failed", fails)
	}
}
