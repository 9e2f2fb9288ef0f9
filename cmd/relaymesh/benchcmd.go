package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/relaymesh/relaymesh/node/chat/bench"
)

const benchUsage = `usage: relaymesh bench chat [flags]

Opens many chat fans on a running mesh (e.g. 'relaymesh dev --chat-rate 100000'),
publishes at a set rate, and reports delivery latency and losses per region pair.
Run 'relaymesh bench chat --help' for the flags.
`

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "chat" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, benchUsage)
			return 0
		}
		fmt.Fprint(stderr, benchUsage)
		return 2
	}
	return runBenchChat(args[1:], stdout, stderr)
}

func runBenchChat(args []string, stdout, stderr io.Writer) int {
	cfg := bench.DefaultConfig()
	fs := newFlagSet("bench chat", "bench chat [flags]", stderr)
	nodes := fs.String("nodes", "", "comma-separated base URLs of the nodes to use (default: the alive members listed by --discover)")
	discover := fs.String("discover", "http://127.0.0.1:8081", "node to ask for the mesh (GET /v1/mesh) when --nodes is not given")
	fs.IntVar(&cfg.Fans, "fans", cfg.Fans, "fans (WebSocket clients) to open, spread round-robin over nodes and rooms")
	fs.IntVar(&cfg.Rooms, "rooms", cfg.Rooms, "rooms to spread the fans over")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "fans that also publish, spread over nodes and rooms")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "publishes per second, in total over all publishers")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured phase")
	fs.DurationVar(&cfg.Ramp, "ramp", cfg.Ramp, "bound on the connect phase")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "publish this long before measuring")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "wait at most this long after the measured phase for messages in flight")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", cfg.DialConcurrency, "fans connecting at once")
	fs.StringVar(&cfg.RoomPrefix, "room-prefix", "", "name rooms PREFIX-0, PREFIX-1, ... (default: bench- and a random suffix)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "relaymesh bench chat: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", err)
		return 2
	}
	if !*quiet {
		cfg.Progress = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if soft, err := bench.RaiseFileLimit(cfg.Fans + 100); err != nil {
		fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", err)
		return 1
	} else if soft > 0 && !*quiet {
		fmt.Fprintf(stderr, "bench: open file limit %d\n", soft)
	}

	var err error
	if *nodes != "" {
		cfg.Mesh, err = bench.Describe(ctx, nil, splitList(*nodes))
	} else {
		cfg.Mesh, err = bench.Discover(ctx, nil, *discover)
	}
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", err)
		return 1
	}
	if !*quiet {
		for _, n := range cfg.Mesh.Nodes {
			fmt.Fprintf(stderr, "bench: node %s (%s) at %s\n", n.Name, n.Region, n.URL)
		}
		if roots := cfg.Mesh.Roots(); len(roots) != 1 {
			fmt.Fprintf(stderr, "bench: warning: the chat tree has %d roots %v; cross-node delivery may lag until it is whole\n", len(roots), roots)
		}
	}

	rep, err := bench.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(rep); werr != nil {
			fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", werr)
			return 1
		}
	} else if werr := rep.WriteText(stdout); werr != nil {
		fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", werr)
		return 1
	}
	switch {
	case err != nil: // interrupted: the report covers the run until then
		fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", err)
		return 1
	case rep.Total.Delivered == 0:
		fmt.Fprintln(stderr, "relaymesh bench chat: no measured message was delivered")
		return 1
	}
	return 0
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
