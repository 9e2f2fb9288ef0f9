package devmesh

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"github.com/relaymesh/relaymesh/regions"
)

// TestPlaylistUpdatesReachEveryEdge is issue 4's acceptance 3: after the
// ingest node (Seoul) acknowledges a playlist update, every edge serves the
// new playlist within the WAN one-way latency plus 50 ms. Playlists are
// cached for 30 s here, so an edge can only have the update from the
// announcement, not from refetching the origin.
func TestPlaylistUpdatesReachEveryEdge(t *testing.T) {
	opts := testOptions(t)
	opts.Tune = func(c *config.Config) {
		c.HLS.PlaylistMaxAge = 30 * time.Second
		c.Mesh.ProbeInterval, c.Mesh.ProbeTimeout = 500*time.Millisecond, 400*time.Millisecond
	}
	m := startMesh(t, opts)
	waitTree(t, m.Nodes(), 20*time.Second)
	nodes := m.Nodes()
	seoul := nodes[0]
	hc := &http.Client{Timeout: 5 * time.Second}
	push := func(body string) { ingest(t, m, seoul, "PUT", "index.m3u8", body, http.StatusCreated) }
	get := func(url string) string {
		resp, err := hc.Get(url)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	v1 := "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:1.0,\nseg1.ts\n"
	v2 := "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:2\n#EXTINF:1.0,\nseg2.ts\n"
	push(v1)
	for _, n := range nodes { // every edge caches v1 (for 30 s)
		nodetest.WaitFor(t, 10*time.Second, n.Name()+" serving v1", func() bool {
			return get(n.HTTPURL()+"/hls/live/index.m3u8") == v1
		})
	}

	push(v2)
	acked := time.Now()
	for _, n := range nodes[1:] {
		seen := time.Time{}
		for deadline := acked.Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			if get(n.HTTPURL()+"/hls/live/index.m3u8") == v2 {
				seen = time.Now()
				break
			}
		}
		if seen.IsZero() {
			for _, x := range nodes {
				t.Logf("%s applied %d announcements", x.Name(), x.PlaylistUpdates())
			}
			t.Fatalf("%s still serves the old playlist 5 s after the ack", n.Name())
		}
		owd, _ := regions.OneWay(seoul.Region(), n.Region())
		bound := owd + 50*time.Millisecond
		t.Logf("%s serves the update %v after the ack (WAN one-way %v, bound %v)",
			n.Name(), seen.Sub(acked).Round(time.Millisecond), owd, bound)
		if seen.Sub(acked) > bound && !raceEnabled {
			t.Errorf("%s: %v after the ack, over the bound %v", n.Name(), seen.Sub(acked), bound)
		}
	}
}
