package bench

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/node/chat/fan"
	"github.com/relaymesh/relaymesh/node/chat/wire"
	"github.com/relaymesh/relaymesh/node/devmesh"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

// workerEnv makes the test binary a bench worker process: RunWorkers'
// test starts this binary again as its workers, as 'relaymesh bench chat'
// starts itself.
const workerEnv = "RELAYMESH_TEST_BENCH_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := ServeWorker(context.Background(), os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m, nodetest.LeakOptions()...)
}

// TestRunOnDevMesh is `relaymesh bench chat` against an in-process
// four-region dev mesh without WAN emulation: 40 fans, 16 publishers (one
// per room and node), a few seconds. Every fan must get every message
// exactly once, in order.
func TestRunOnDevMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a four-node mesh")
	}
	opts := devmesh.DefaultOptions()
	opts.HTTPPort, opts.MeshPort, opts.OriginPort = 0, 0, 0
	opts.WAN = false
	opts.ChatRate = 100_000 // every fan shares 127.0.0.1
	opts.Logger = nodetest.Logger(t, slog.LevelWarn)
	opts.Tune = func(c *config.Config) {
		c.Mesh.ProbeInterval = 500 * time.Millisecond
		c.Mesh.ProbeTimeout = 400 * time.Millisecond
		c.Mesh.GossipInterval = 50 * time.Millisecond
	}
	m, err := devmesh.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
	})

	waitChatFlows(t, m)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mesh := waitForTree(ctx, t, m.Nodes()[0].HTTPURL(), len(m.Nodes()))

	cfg := DefaultConfig()
	cfg.Mesh = mesh
	cfg.Fans, cfg.Rooms, cfg.Publishers, cfg.Rate = 40, 4, 16, 32
	cfg.Ramp, cfg.Warmup, cfg.Duration, cfg.Drain = 15*time.Second, 500*time.Millisecond, 2*time.Second, 5*time.Second
	t.Run("one process", func(t *testing.T) {
		var progress bytes.Buffer
		cfg.Progress, cfg.ProgressEvery = &progress, time.Second
		rep, err := Run(ctx, cfg)
		t.Logf("progress:\n%s", progress.String())
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, cfg, rep)
		// Run owns its goroutines: none is left once it returns.
		buf := make([]byte, 1<<20)
		if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "node/chat/bench.(*runner)") {
			t.Errorf("runner goroutines left after Run:\n%s", stacks)
		}
	})
	// The same run over two worker processes (this test binary again) and
	// two source addresses: one merged report that says the same.
	t.Run("two workers", func(t *testing.T) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		wcfg := cfg
		var progress nodetest.SyncBuffer
		wcfg.Progress, wcfg.ProgressEvery = &progress, time.Second
		wcfg.Sources, _ = SourceAddrs(netip.MustParseAddr("127.0.0.1"), 2)
		rep, err := RunWorkers(ctx, wcfg, Workers{N: 2, Command: func() *exec.Cmd {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), workerEnv+"=1")
			return cmd
		}})
		t.Logf("progress:\n%s", progress.String())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Workers != 2 || rep.Sources != 2 {
			t.Errorf("%d workers, %d sources; want 2, 2", rep.Workers, rep.Sources)
		}
		checkReport(t, wcfg, rep)
	})
}

// checkReport: every fan got every message exactly once, in order, from
// every region.
func checkReport(t *testing.T, cfg Config, rep *Report) {
	t.Helper()
	var text bytes.Buffer
	_ = rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())

	if rep.Connected != cfg.Fans || rep.ConnectFailures != 0 {
		t.Errorf("%d of %d fans connected, %d failures", rep.Connected, cfg.Fans, rep.ConnectFailures)
	}
	if rep.Total.Delivered == 0 || rep.Publishes.StoredMeasured == 0 {
		t.Fatalf("nothing delivered: %+v", rep.Total)
	}
	if rep.Duplicates != 0 || rep.Gaps != 0 || rep.Reordered != 0 {
		t.Errorf("duplicates %d, gaps %d, reordered %d; want none", rep.Duplicates, rep.Gaps, rep.Reordered)
	}
	if rep.Total.Lost != 0 || rep.Total.Delivered != rep.Total.Expected {
		t.Errorf("delivered %d of %d expected", rep.Total.Delivered, rep.Total.Expected)
	}
	if len(rep.Errors) != 0 || len(rep.Disconnects) != 0 {
		t.Errorf("error frames %v, disconnects %v; want none", rep.Errors, rep.Disconnects)
	}
	// 4 publisher regions x 4 fan regions, each with a model latency.
	if len(rep.Pairs) != 16 {
		t.Errorf("%d region pairs, want 16", len(rep.Pairs))
	}
	for _, p := range rep.Pairs {
		if p.Delivered == 0 || p.ModelMs == nil {
			t.Errorf("pair %s -> %s: %d delivered, model %v", p.From, p.To, p.Delivered, p.ModelMs)
		}
	}
	// Not every measured ack need be in: the drain ends once every fan
	// has every message, and an ack may come after its message.
	if rep.AckLatency.Count == 0 || rep.AckLatency.Count > uint64(rep.Publishes.Measured) {
		t.Errorf("ack latency of %d publishes, %d measured", rep.AckLatency.Count, rep.Publishes.Measured)
	}
}

// waitForTree polls the mesh until it has n nodes and a whole tree.
func waitForTree(ctx context.Context, t *testing.T, base string, n int) Mesh {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last Mesh
	var err error
	for time.Now().Before(deadline) {
		last, err = Discover(ctx, nil, base)
		if err == nil && len(last.Nodes) == n && len(last.Parents) == n && len(last.Roots()) == 1 {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no whole tree of %d nodes within 30s: %+v, %v", n, last, err)
	return Mesh{}
}

// waitChatFlows waits until every node relays chat to every other node: a
// new mesh's stream sources take a few seconds to be set up, and the
// bench measures steady state, not that.
func waitChatFlows(t *testing.T, m *devmesh.Mesh) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	nodes := m.Nodes()
	var fans []*fan.Fan
	for _, n := range nodes {
		f, err := fan.Dial(ctx, n.HTTPURL(), "warmup", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.CloseNow()
		fans = append(fans, f)
	}
	var wg sync.WaitGroup
	for _, f := range fans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			origins := map[string]bool{}
			for len(origins) < len(nodes) {
				fr, err := f.Read(ctx)
				if err != nil {
					t.Errorf("warm-up: heard %d of %d nodes: %v", len(origins), len(nodes), err)
					return
				}
				if msg, ok := fr.(wire.Message); ok {
					origins[msg.ID.Origin] = true
				}
			}
		}()
	}
	for i, f := range fans {
		if err := f.Publish(ctx, "warm-up", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}
