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

	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/node/devmesh"
	"github.com/relaymesh/relaymesh/node/devmesh/procs"
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
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole mesh to this file until it stops (go tool pprof FILE); with --processes, a directory: each node writes DIR/NAME.cpu.prof")
	memProfile := fs.String("memprofile", "", "write an allocation profile (allocs: every allocation since start) of the whole mesh to this file when it stops (go tool pprof -sample_index=alloc_space FILE)")
	processes := fs.Bool("processes", false, "run each node as an OS process of its own (relaymesh node with a generated config file), each with its own open-file limit")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "relaymesh dev: bad --log-level %q\n", *level)
		return 2
	}
	d.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	if *processes {
		if *memProfile != "" {
			fmt.Fprintln(stderr, "relaymesh dev: --memprofile profiles this process, so it does not work with --processes, where every node runs in a process of its own")
			return 2
		}
		if *cpuProfile != "" {
			if err := os.MkdirAll(*cpuProfile, 0o755); err != nil {
				fmt.Fprintf(stderr, "relaymesh dev: --cpuprofile: %v\n", err)
				return 1
			}
		}
		return runDevProcesses(procs.Options{Options: d, LogLevel: *level, ProfileDir: *cpuProfile}, stdout, stderr)
	}
	if _, err := benchkit.RaiseFileLimit(0); err != nil {
		d.Logger.Warn("open file limit not raised", "err", err)
	}

	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "relaymesh dev: %v\n", err)
			return 1
		}
		defer stop()
	}
	if *memProfile != "" {
		defer func() {
			if err := writeAllocProfile(*memProfile); err != nil {
				fmt.Fprintf(stderr, "relaymesh dev: %v\n", err)
			}
		}()
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

// runDevProcesses is `relaymesh dev --processes`: the nodes run as child
// processes of this binary. A signal stops them gracefully, a second one
// kills them; a node that dies takes the mesh down with exit code 1.
func runDevProcesses(o procs.Options, stdout, stderr io.Writer) int {
	bin, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh dev: find own binary: %v\n", err)
		return 1
	}
	o.Binary, o.Output = bin, stderr
	sigs := notifySignals()
	defer signal.Stop(sigs)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type started struct {
		m   *procs.Mesh
		err error
	}
	startc := make(chan started, 1)
	go func() {
		m, err := procs.Start(ctx, o)
		startc <- started{m, err}
	}()
	var m *procs.Mesh
	select {
	case s := <-startc:
		if s.err != nil {
			fmt.Fprintf(stderr, "relaymesh dev: %v\n", s.err)
			return 1
		}
		m = s.m
	case sig := <-sigs:
		fmt.Fprintf(stderr, "relaymesh: %s received while starting, stopping\n", sig)
		cancel() // Start stops what it started before it returns
		if s := <-startc; s.m != nil {
			return stopProcesses(stderr, s.m, sigs)
		}
		return 0
	}

	m.PrintSummary(stdout)
	select {
	case <-m.Died():
		fmt.Fprintf(stderr, "relaymesh dev: %v; stopping the other nodes\n", m.Err())
		_ = stopProcesses(stderr, m, sigs)
		return 1
	case sig := <-sigs:
		fmt.Fprintf(stderr, "relaymesh: %s received, stopping every node gracefully (again to kill them)\n", sig)
		return stopProcesses(stderr, m, sigs)
	}
}

// stopProcesses stops the mesh's nodes with a deadline; a signal on sigs
// cuts the deadline short.
func stopProcesses(stderr io.Writer, m *procs.Mesh, sigs <-chan os.Signal) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Shutdown(ctx) }()
	var err error
	select {
	case err = <-done:
	case sig := <-sigs:
		fmt.Fprintf(stderr, "relaymesh: %s received again, killing the nodes\n", sig)
		cancel()
		err = <-done
	}
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh dev: shutdown: %v\n", err)
		return 1
	}
	return 0
}

// startCPUProfile profiles the process into path until the returned func
// is called. A file, not an HTTP endpoint: nothing listens unauthenticated.
// writeAllocProfile writes the allocations since the process started.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("memory profile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("memory profile: %w", err)
	}
	return f.Close()
}

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
