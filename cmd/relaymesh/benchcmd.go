package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/relaymesh/relaymesh/node/benchkit"
	chatbench "github.com/relaymesh/relaymesh/node/chat/bench"
	hlsbench "github.com/relaymesh/relaymesh/node/hls/bench"
)

const benchUsage = `usage: relaymesh bench chat|hls [flags]

Load-tests a running mesh (e.g. 'relaymesh dev'):

  chat   opens many chat fans, publishes at a set rate, and reports delivery
         latency and losses per region pair ('relaymesh dev --chat-rate 100000'
         first: every local fan shares one IP)
  hls    runs many HLS players on a live stream and reports requests and bytes
         per second, time to first byte, cache hits, origin GETs per segment,
         errors, and segments players missed or got late

Run 'relaymesh bench chat --help' or 'relaymesh bench hls --help' for the flags.
`

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "chat":
			return runBenchChat(args[1:], stdout, stderr)
		case "hls":
			return runBenchHLS(args[1:], stdout, stderr)
		case "-h", "--help", "help":
			fmt.Fprint(stdout, benchUsage)
			return 0
		}
	}
	fmt.Fprint(stderr, benchUsage)
	return 2
}

func runBenchChat(args []string, stdout, stderr io.Writer) int {
	cfg := chatbench.DefaultConfig()
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

	if soft, err := benchkit.RaiseFileLimit(cfg.Fans + 100); err != nil {
		fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", err)
		return 1
	} else if soft > 0 && !*quiet {
		fmt.Fprintf(stderr, "bench: open file limit %d\n", soft)
	}

	var err error
	if *nodes != "" {
		cfg.Mesh, err = chatbench.Describe(ctx, nil, splitList(*nodes))
	} else {
		cfg.Mesh, err = chatbench.Discover(ctx, nil, *discover)
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

	rep, err := chatbench.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "relaymesh bench chat: %v\n", err)
		return 1
	}
	if werr := writeReport(stdout, rep, *asJSON); werr != nil {
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

func runBenchHLS(args []string, stdout, stderr io.Writer) int {
	const name = "relaymesh bench hls"
	cfg := hlsbench.DefaultConfig()
	fs := newFlagSet("bench hls", "bench hls [flags]", stderr)
	nodes := fs.String("nodes", "", "comma-separated base URLs of the nodes players use (default: the alive members listed by --discover)")
	discover := fs.String("discover", "http://127.0.0.1:8081", "node to ask for the mesh (GET /v1/mesh) when --nodes is not given")
	fs.IntVar(&cfg.Players, "players", cfg.Players, "players (one connection each), spread round-robin over the nodes")
	fs.StringVar(&cfg.Stream, "stream", cfg.Stream, "stream to play: /hls/STREAM/PLAYLIST")
	fs.StringVar(&cfg.Playlist, "playlist", cfg.Playlist, "playlist to load; a master playlist is followed to its first variant")
	fs.DurationVar(&cfg.Ramp, "ramp", cfg.Ramp, "spread the players' starts over this long (about one target duration spreads their reloads)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long every player plays after the ramp")
	fs.DurationVar(&cfg.RequestTimeout, "timeout", cfg.RequestTimeout, "bound on one request, body included")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		return 2
	}
	err := cfg.Validate()
	bases := splitList(*nodes)
	if *nodes == "" {
		bases = nil
		err = errors.Join(err, hlsbench.ValidNodeURL(*discover))
	} else if len(bases) == 0 {
		err = errors.Join(err, fmt.Errorf("--nodes %q lists no node", *nodes))
	}
	for _, b := range bases {
		err = errors.Join(err, hlsbench.ValidNodeURL(b))
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if !*quiet {
		cfg.Progress = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if soft, err := benchkit.RaiseFileLimit(cfg.Players + 100); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	} else if soft > 0 && !*quiet {
		fmt.Fprintf(stderr, "bench: open file limit %d\n", soft)
	}

	// Players use the given nodes; origin fills are scraped from every
	// alive node, since a miss may be filled by another node (its owner).
	if len(bases) > 0 {
		m, err := benchkit.Describe(ctx, nil, bases)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		}
		cfg.Nodes = m.Nodes
		if all, err := benchkit.Discover(ctx, nil, bases[0]); err == nil {
			cfg.MetricsNodes = all.Nodes
		} else if !*quiet {
			fmt.Fprintf(stderr, "bench: warning: %v; scraping only the given nodes\n", err)
		}
	} else {
		m, err := benchkit.Discover(ctx, nil, *discover)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		}
		cfg.Nodes, cfg.MetricsNodes = m.Nodes, m.Nodes
	}
	if !*quiet {
		for _, n := range cfg.Nodes {
			fmt.Fprintf(stderr, "bench: node %s (%s) at %s\n", n.Name, n.Region, n.URL)
		}
	}

	rep, err := hlsbench.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	if werr := writeReport(stdout, rep, *asJSON); werr != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, werr)
		return 1
	}
	switch {
	case err != nil: // interrupted: the report covers the run until then
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	case rep.Playback.Received == 0:
		fmt.Fprintf(stderr, "%s: no player received a segment (is /hls/%s/%s served?)\n", name, cfg.Stream, cfg.Playlist)
		return 1
	}
	return 0
}

// writeReport prints rep as indented JSON or as text.
func writeReport(w io.Writer, rep interface{ WriteText(io.Writer) error }, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
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
