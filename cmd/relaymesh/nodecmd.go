package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/node"
	"github.com/relaymesh/relaymesh/node/benchkit"
)

func runNode(args []string, _, stderr io.Writer) int {
	fs := newFlagSet("node", "node --config FILE [flags]", stderr)
	path := fs.String("config", "", "node config file (required)")
	// Flags for what ops set per host; they win over the file and over
	// the matching RELAYMESH_* environment variables.
	overrides := map[string]*string{
		"RELAYMESH_NODE_NAME":      fs.String("name", "", "node name (env RELAYMESH_NODE_NAME)"),
		"RELAYMESH_NODE_REGION":    fs.String("region", "", "region (env RELAYMESH_NODE_REGION)"),
		"RELAYMESH_MESH_ADVERTISE": fs.String("mesh-advertise", "", "host:port peers dial (env RELAYMESH_MESH_ADVERTISE)"),
		"RELAYMESH_HTTP_ADVERTISE": fs.String("http-advertise", "", "host:port fans reach (env RELAYMESH_HTTP_ADVERTISE)"),
		"RELAYMESH_MESH_SEEDS":     fs.String("seeds", "", "comma-separated host:port of nodes to join (env RELAYMESH_MESH_SEEDS)"),
		"RELAYMESH_DATA_DIR":       fs.String("data-dir", "", "data directory (env RELAYMESH_DATA_DIR)"),
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "relaymesh node: --config FILE is required")
		fs.Usage()
		return 2
	}
	getenv := func(key string) string {
		if v, ok := overrides[key]; ok && *v != "" {
			return *v
		}
		return os.Getenv(key)
	}
	cfg, err := config.Load(*path, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh node: %v\n", err)
		return 1
	}

	// Catch signals before starting: the node is visible to peers while
	// Start is still running, and a SIGTERM then must mean a graceful stop,
	// not the default immediate exit.
	sigs := notifySignals()
	defer signal.Stop(sigs)
	log := node.NewLogger(os.Stderr, cfg.Log)
	// Every fan is an open socket: take all the files the hard limit allows.
	if files, err := benchkit.RaiseFileLimit(0); err != nil {
		log.Warn("open file limit not raised", "err", err)
	} else {
		log.Info("open file limit", "files", files)
	}
	n, err := node.Start(*cfg, node.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh node: %v\n", err)
		return 1
	}
	return waitAndStop(stderr, sigs, func(ctx context.Context) error { return n.Shutdown(ctx) },
		cfg.Mesh.LeaveTimeout+cfg.HTTP.ShutdownTimeout+5*time.Second)
}

// notifySignals starts catching SIGINT and SIGTERM.
func notifySignals() chan os.Signal {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	return sigs
}

// waitAndStop blocks until SIGINT or SIGTERM arrives on sigs, then runs
// stop with a deadline. A second signal exits at once.
func waitAndStop(stderr io.Writer, sigs chan os.Signal, stop func(context.Context) error, grace time.Duration) int {
	sig := <-sigs
	fmt.Fprintf(stderr, "relaymesh: %s received, shutting down gracefully (again to force)\n", sig)

	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- stop(ctx) }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "relaymesh: shutdown: %v\n", err)
			return 1
		}
		return 0
	case sig := <-sigs:
		fmt.Fprintf(stderr, "relaymesh: %s received again, exiting now\n", sig)
		return 1
	}
}
