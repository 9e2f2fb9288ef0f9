package devmesh

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/origin"
)

// TestOneOriginGetPerSegment is issue 4's acceptance 2: 1,000 concurrent
// requests for one uncached segment, spread over the nodes, cause exactly
// one origin GET: over four nodes of one region (the region's owner
// fetches, the others ask it), and over all four regions with a shield
// region (region owners ask the shield's owner).
func TestOneOriginGetPerSegment(t *testing.T) {
	for _, tc := range []struct {
		name      string
		regions   []string
		perRegion int
		shield    string
	}{
		{"four nodes in one region", []string{"seoul"}, 4, ""},
		{"four regions with a shield", nil, 1, "virginia"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(t)
			opts.WAN = false
			opts.Regions, opts.PerRegion = tc.regions, tc.perRegion
			opts.Tune = func(c *config.Config) {
				c.HLS.ShieldRegion = tc.shield
				// Lenient failure detection: 1,000 requests on a loaded
				// 2-core CI machine must not get a healthy owner declared
				// dead (that would reroute fills and count extra GETs).
				c.Mesh.ProbeTimeout, c.Mesh.SuspicionMult = 900*time.Millisecond, 8
			}
			m := startMesh(t, opts)
			nodes := m.Nodes()
			waitAllAlive(t, nodes, 20*time.Second)

			client, err := origin.New(node.OriginClientConfig(m.originConfig()))
			if err != nil {
				t.Fatal(err)
			}
			seg := strings.Repeat("segment-bytes ", 2000) // ~28 KB: what matters is the count, not the bytes
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// A configured stream's (ingest.stream_keys): edges fill only
			// segments of streams they know (node/hls/known.go).
			if _, err := client.Put(ctx, LiveStream+"/coalesce-seg42.ts", strings.NewReader(seg), int64(len(seg)), "video/mp2t"); err != nil {
				t.Fatal(err)
			}
			before := m.OriginGets()

			const requests = 1000
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, Timeout: 20 * time.Second}
			defer hc.CloseIdleConnections()
			var wg sync.WaitGroup
			errs := make(chan error, requests)
			for i := range requests {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := hc.Get(nodes[i%len(nodes)].HTTPURL() + "/hls/" + LiveStream + "/coalesce-seg42.ts")
					if err != nil {
						errs <- err
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || len(body) != len(seg) {
						errs <- fmt.Errorf("status %d, %d bytes", resp.StatusCode, len(body))
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("request failed: %v", err)
			}
			if got := m.OriginGets() - before; got != 1 {
				t.Fatalf("%d requests over %d nodes made %d origin GETs, want 1", requests, len(nodes), got)
			}
			t.Logf("%d requests over %d nodes: 1 origin GET", requests, len(nodes))
		})
	}
}
