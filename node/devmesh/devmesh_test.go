package devmesh

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/node"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/regions"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

// TestDevMeshShowsWANInCoordinates is the README's `relaymesh dev` on
// free ports: four regions come up alive and, through WAN emulation, the
// network coordinates of Seoul and Frankfurt land near the modelled 231 ms.
func TestDevMeshShowsWANInCoordinates(t *testing.T) {
	opts := testOptions(t)
	start := time.Now()
	m := startMesh(t, opts)

	var seoul, frankfurt *node.Node
	for _, n := range m.Nodes() {
		switch n.Region() {
		case "seoul":
			seoul = n
		case "frankfurt":
			frankfurt = n
		}
	}

	const want = 231.3 // ms, measured Seoul-Frankfurt p50 from the brief
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// estimate returns from's view: how many regions are alive and its
	// estimated RTT to the node named to.
	estimate := func(from *node.Node, to string) (int, *float64, error) {
		v, err := meshView(client, from.HTTPURL())
		if err != nil {
			return 0, nil, err
		}
		alive := map[string]bool{}
		var rtt *float64
		for _, mem := range v.Members {
			if mem.State == "alive" {
				alive[mem.Region] = true
			}
			if mem.Name == to {
				rtt = mem.RTTMs
			}
		}
		return len(alive), rtt, nil
	}
	within := func(rtt *float64) bool { return rtt != nil && math.Abs(*rtt-want)/want <= 0.25 }
	var last string
	for deadline := start.Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		aliveS, fromSeoul, err1 := estimate(seoul, frankfurt.Name())
		aliveF, fromFrankfurt, err2 := estimate(frankfurt, seoul.Name())
		if err1 != nil || err2 != nil {
			last = fmt.Sprint(err1, err2)
			continue
		}
		last = fmt.Sprintf("seoul sees %d regions alive, estimates %s to frankfurt; frankfurt sees %d, estimates %s to seoul",
			aliveS, fmtMs(fromSeoul), aliveF, fmtMs(fromFrankfurt))
		if aliveS == 4 && aliveF == 4 && within(fromSeoul) && within(fromFrankfurt) {
			t.Logf("after %v: %s (model %.1f ms)", time.Since(start).Round(time.Millisecond), last, want)
			return
		}
	}
	t.Fatalf("within 15 s of start: %s; want 4 alive regions and both estimates within 25%% of %.1f ms", last, want)
}

func fmtMs(f *float64) string {
	if f == nil {
		return "nothing"
	}
	return fmt.Sprintf("%.1f ms", *f)
}

func meshView(c *http.Client, base string) (node.MeshView, error) {
	var v node.MeshView
	resp, err := c.Get(base + "/v1/mesh")
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	return v, json.NewDecoder(resp.Body).Decode(&v)
}

// testOptions are DefaultOptions on free ports, logging warnings into the
// test log.
func testOptions(t *testing.T) Options {
	opts := DefaultOptions()
	opts.HTTPPort, opts.MeshPort, opts.OriginPort = 0, 0, 0
	opts.Logger = nodetest.Logger(t, slog.LevelWarn)
	return opts
}

// startMesh starts a dev mesh that is shut down when the test ends.
func startMesh(t *testing.T, opts Options) *Mesh {
	t.Helper()
	m, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := m.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return m
}

// ingest sends a streamer's request (PUT or DELETE of /ingest/live/PATH)
// to n with the mesh's stream key, and fails the test unless n answers
// want.
func ingest(t *testing.T, m *Mesh, n *node.Node, method, path, body string, want int) {
	t.Helper()
	req, err := http.NewRequest(method, n.HTTPURL()+"/ingest/"+LiveStream+"/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+m.StreamKey())
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s on %s: %d (%s), want %d", method, path, n.Name(), resp.StatusCode, resp.Header.Get("X-Relaymesh-Ingest"), want)
	}
}

// TestOriginRegionDelaysOriginFills: with the origin in Virginia, a
// Frankfurt node's origin fill takes at least the Frankfurt-Virginia round
// trip (a Virginia node's is only logged: an upper bound would be a timing
// assertion on a shared machine).
func TestOriginRegionDelaysOriginFills(t *testing.T) {
	opts := testOptions(t)
	opts.Regions = []string{"virginia", "frankfurt"}
	opts.OriginRegion = "virginia"
	m := startMesh(t, opts)
	rtt, err := regions.RTT("virginia", "frankfurt")
	if err != nil {
		t.Fatal(err)
	}
	client, err := origin.New(node.OriginClientConfig(m.originConfig()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, key := range []string{"live/a.ts", "live/b.ts"} {
		if _, err := client.Put(ctx, key, strings.NewReader("x"), 1, "video/mp2t"); err != nil {
			t.Fatal(err)
		}
	}
	took := func(n *node.Node, path string) time.Duration {
		start := time.Now()
		resp, err := http.Get(n.HTTPURL() + "/hls/live/" + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s on %s: %d", path, n.Name(), resp.StatusCode)
		}
		return time.Since(start)
	}
	virginia, frankfurt := m.Nodes()[0], m.Nodes()[1]
	// Each node owns its region's keys: both fill from the origin.
	if d := took(frankfurt, "a.ts"); d < rtt {
		t.Errorf("Frankfurt's origin fill took %v, less than the Frankfurt-Virginia round trip %v", d, rtt)
	} else {
		t.Logf("Frankfurt's origin fill: %v (round trip to the origin's region %v)", d, rtt)
	}
	t.Logf("Virginia's origin fill, no proxy: %v", took(virginia, "b.ts"))
}

// waitAllAlive waits until every node sees every node alive: HLS owners
// and the leaf tree are computed from membership, so tests that count
// fills or hops start from this steady state.
func waitAllAlive(t *testing.T, nodes []*node.Node, within time.Duration) {
	t.Helper()
	nodetest.WaitFor(t, within, "every node sees every node alive", func() bool {
		for _, n := range nodes {
			alive := 0
			for _, m := range n.Cluster().Members() {
				if m.State == membership.StateAlive {
					alive++
				}
			}
			if alive != len(nodes) {
				return false
			}
		}
		return true
	})
}
