package devmesh

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"github.com/relaymesh/relaymesh/origin"
)

// TestLiveSegmentsComeFromTheIngestNode: a segment pushed to Seoul and
// asked for by players on both Frankfurt nodes crosses the WAN once, from
// Seoul's cache to Frankfurt's region owner (the other Frankfurt node
// asks the owner), and costs the origin nothing. A segment of the stream
// that Seoul does not hold is filled from the origin as usual: the ingest
// node answers fetch-cached requests from its cache only.
func TestLiveSegmentsComeFromTheIngestNode(t *testing.T) {
	opts := testOptions(t)
	opts.Regions = []string{"seoul", "frankfurt"}
	opts.PerRegion = 2
	m := startMesh(t, opts)
	nodes := m.Nodes()
	waitAllAlive(t, nodes, 20*time.Second)
	seoul := nodes[0]
	var frankfurt []*node.Node
	for _, n := range nodes {
		if n.Region() == "frankfurt" {
			frankfurt = append(frankfurt, n)
		}
	}
	seg := strings.Repeat("s", 40_000)
	ingest(t, m, seoul, "PUT", "seg1.ts", seg, http.StatusCreated)
	ingest(t, m, seoul, "PUT", "index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg1.ts\n", http.StatusCreated)
	nodetest.WaitFor(t, 5*time.Second, "the announcement reaches Frankfurt", func() bool {
		return frankfurt[0].PlaylistUpdates() == 1 && frankfurt[1].PlaylistUpdates() == 1
	})

	originBefore := m.OriginGets()
	get := func(n *node.Node, path string) string {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(n.HTTPURL() + "/hls/live/" + path)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s on %s: %d %s", path, n.Name(), resp.StatusCode, b)
		}
		return string(b)
	}
	var wg sync.WaitGroup
	for _, n := range frankfurt {
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if body := get(n, "seg1.ts"); body != seg && !t.Failed() {
					t.Errorf("seg1.ts on %s: %d bytes, want %d", n.Name(), len(body), len(seg))
				}
			}()
		}
	}
	wg.Wait()
	var fromSource, fromPeer uint64
	for _, n := range frankfurt {
		c := n.HLSCounters()
		fromSource += c.Segments.SourceFetches.Load()
		fromPeer += c.Segments.PeerFetches.Load()
	}
	if fromSource != 1 || fromPeer != 1 || m.OriginGets() != originBefore {
		t.Errorf("20 players on 2 Frankfurt nodes: %d fetches from Seoul, %d from the region owner, %d origin GETs; want 1, 1, 0",
			fromSource, fromPeer, m.OriginGets()-originBefore)
	}

	// A segment of the stream that only the origin has.
	client, err := origin.New(node.OriginClientConfig(m.originConfig()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.Put(ctx, "live/old.ts", strings.NewReader("old"), 3, "video/mp2t"); err != nil {
		t.Fatal(err)
	}
	if body := get(frankfurt[0], "old.ts"); body != "old" {
		t.Fatalf("old.ts: %q", body)
	}
	var misses uint64
	for _, n := range frankfurt {
		misses += n.HLSCounters().Segments.SourceMisses.Load()
	}
	if misses != 1 || m.OriginGets() != originBefore+1 {
		t.Errorf("a segment Seoul does not hold: %d ingest-node misses, %d origin GETs; want 1, 1", misses, m.OriginGets()-originBefore)
	}
}
