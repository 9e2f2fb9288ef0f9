package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/relaymesh/relaymesh/node/devmesh"
)

func runDev(args []string, stdout, stderr io.Writer) int {
	d := devmesh.DefaultOptions()
	fs := newFlagSet("dev", "dev [flags]", stderr)
	fs.IntVar(&d.PerRegion, "per-region", d.PerRegion, "nodes per region")
	fs.StringVar(&d.Host, "host", d.Host, "loopback address to bind")
	fs.IntVar(&d.HTTPPort, "http-port", d.HTTPPort, "HTTP port of the first node, counting up (0: any free port)")
	fs.IntVar(&d.MeshPort, "mesh-port", d.MeshPort, "QUIC/UDP port of the first node, counting up (0: any free port)")
	fs.IntVar(&d.OriginPort, "origin-port", d.OriginPort, "port of the embedded S3 origin (0: any free port)")
	fs.BoolVar(&d.WAN, "wan", d.WAN, "emulate inter-region latency from the regions model")
	fs.StringVar(&d.DataDir, "data-dir", "", "keep node data under this dir (default: a temp dir removed on exit)")
	fs.StringVar(&d.StreamKey, "stream-key", "", "ingest key of the streams live and demo (default: a random key, printed)")
	fs.Float64Var(&d.ChatRate, "chat-rate", 0, "chat publishes per second per client IP (default: the config default, 5; raise it for load tests from one host)")
	fs.StringVar(&d.ShieldRegion, "shield-region", "", "hls.shield_region of every node: region owners fill from this region's owner, one origin GET per segment mesh-wide")
	fs.StringVar(&d.OriginRegion, "origin-region", "", "with --wan, place the embedded origin in this region: nodes elsewhere reach it with that region's latency (default: next to every node)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole mesh to this file until it stops (go tool pprof FILE)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "relaymesh dev: bad --log-level %q\n", *level)
		return 2
	}
	d.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))

	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "relaymesh dev: %v\n", err)
			return 1
		}
		defer stop()
	}

	sigs := notifySignals() // before starting: Ctrl-C during start stops cleanly
	defer signal.Stop(sigs)
	m, err := devmesh.Start(d)
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh dev: %v\n", err)
		return 1
	}
	m.PrintSummary(stdout)
	return waitAndStop(stderr, sigs, func(ctx context.Context) error { return m.Shutdown(ctx) }, 20*time.Second)
}

// startCPUProfile profiles the process into path until the returned func
// is called. A file, not an HTTP endpoint: nothing listens unauthenticated.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
