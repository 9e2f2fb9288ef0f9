package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/node/devmesh"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
	"github.com/relaymesh/relaymesh/node/nodetest"
)

// TestRunOnDevMesh is `relaymesh bench hls` against an in-process
// two-region dev mesh without WAN emulation: 20 players on the demo
// stream for 4 s. Every player must get segments, with no error, and the
// report must add up.
func TestRunOnDevMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a two-node mesh")
	}
	opts := devmesh.DefaultOptions()
	opts.HTTPPort, opts.MeshPort, opts.OriginPort = 0, 0, 0
	opts.WAN = false
	opts.Regions = []string{"seoul", "tokyo"}
	opts.Logger = nodetest.Logger(t, slog.LevelWarn)
	m, err := devmesh.Start(opts)
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

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mesh := waitForDemo(ctx, t, m.Nodes()[0].HTTPURL(), 2)

	cfg := DefaultConfig()
	cfg.Nodes = mesh.Nodes
	cfg.Players, cfg.Ramp, cfg.Duration = 20, time.Second, 3*time.Second
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logReport(t, rep)

	pb := rep.Playback
	if pb.Started != cfg.Players || pb.NoSegments != 0 || pb.MinPerPlayer < liveEdge {
		t.Errorf("playback %+v; want every player started with at least the live edge's %d segments", pb, liveEdge)
	}
	if pb.Startup.P50Ms <= 0 || pb.Startup.MaxMs > 1000*(cfg.Ramp+cfg.Duration).Seconds() || pb.WatchedSecs <= 0 ||
		pb.StalledSecs < 0 || pb.StalledSecs > pb.WatchedSecs || pb.RebufferRatio < 0 || pb.RebufferRatio > 1 {
		t.Errorf("viewing figures do not add up: %+v", pb)
	}
	if len(rep.All.Errors) != 0 || pb.Missed != 0 {
		t.Errorf("errors %v, %d missed; want none (samples %q)", rep.All.Errors, pb.Missed, rep.Samples)
	}
	for _, k := range []KindReport{rep.Playlists, rep.Segments, rep.All} {
		c := k.Cache
		if k.Requests == 0 || k.OK != k.Requests || c.Hit+c.Miss+c.Unknown != k.OK || k.Bytes <= 0 ||
			k.TTFB.P50Ms <= 0 || k.TTFB.P99Ms < k.TTFB.P50Ms || k.PerSecond <= 0 {
			t.Errorf("%+v does not add up", k)
		}
	}
	if rep.Segments.OK != pb.Received || rep.All.NewConns < int64(cfg.Players) {
		t.Errorf("%d segment responses for %d received; %d new connections for %d players",
			rep.Segments.OK, pb.Received, rep.All.NewConns, cfg.Players)
	}
	o := rep.Origin
	if o.Scraped != 2 || o.DistinctSegments == 0 || o.PerSegment == nil || *o.PerSegment <= 0 {
		t.Errorf("origin %+v; want both nodes scraped and fills counted", o)
	}
}

// waitForDemo waits until the mesh lists n alive nodes and each serves
// the demo playlist with at least the live edge's segments.
func waitForDemo(ctx context.Context, t *testing.T, base string, n int) benchkit.Mesh {
	t.Helper()
	ready := func(url string) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/hls/demo/index.m3u8", nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		pl, err := playlist.Parse(body)
		return resp.StatusCode == http.StatusOK && err == nil && len(pl.Segments) >= liveEdge
	}
	var mesh benchkit.Mesh
	nodetest.WaitFor(t, 30*time.Second, "the demo stream on every node", func() bool {
		var err error
		if mesh, err = benchkit.Discover(ctx, nil, base); err != nil || len(mesh.Nodes) != n {
			return false
		}
		for _, node := range mesh.Nodes {
			if !ready(node.URL) {
				return false
			}
		}
		return true
	})
	http.DefaultClient.CloseIdleConnections()
	return mesh
}
