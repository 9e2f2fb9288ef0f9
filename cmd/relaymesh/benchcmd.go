package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
	chatbench "github.com/relaymesh/relaymesh/node/chat/bench"
	hlsbench "github.com/relaymesh/relaymesh/node/hls/bench"
)

const benchUsage = `usage: relaymesh bench chat|hls [flags]

Load-tests a running mesh (e.g. 'relaymesh dev'):

  chat   opens many chat fans, publishes at a set rate, and reports delivery
         latency and losses per region pair, and ack latency ('relaymesh dev
         --chat-rate 100000' first, or spread fans over --source-addrs);
         past 15,000 fans over worker processes; --mode publish measures
         publish capacity; --servers drives any chat server (cmd/phase1chat)
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
		case "chat-worker": // hidden: a worker process of 'bench chat'
			return runBenchChatWorker(stdout, stderr)
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
	const name = "relaymesh bench chat"
	cfg := chatbench.DefaultConfig()
	fs := newFlagSet("bench chat", "bench chat [flags]", stderr)
	nodes := fs.String("nodes", "", "comma-separated base URLs of relaymesh nodes to use (default: the alive members listed by --discover)")
	discover := fs.String("discover", "http://127.0.0.1:8081", "node to ask for the mesh (GET /v1/mesh) when neither --nodes nor --servers is given")
	servers := fs.String("servers", "", "comma-separated base URLs of chat servers of any kind (e.g. cmd/phase1chat), used as given: no /v1/mesh, one region (--servers-region)")
	serversRegion := fs.String("servers-region", "local", "region of the --servers in the report")
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "delivery: fan-out latency; publish: publish capacity (every fan publishes, alone in its room unless --rooms/--publishers say otherwise; read the ack latency)")
	fs.IntVar(&cfg.Fans, "fans", cfg.Fans, "fans (WebSocket clients) to open, spread round-robin over nodes and rooms")
	fs.IntVar(&cfg.Rooms, "rooms", cfg.Rooms, "rooms to spread the fans over (publish mode: default --fans)")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "fans that also publish, spread over nodes and rooms (publish mode: default --fans)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "publishes per second, in total over all publishers (publish mode: default 5000)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured phase")
	fs.DurationVar(&cfg.Ramp, "ramp", cfg.Ramp, "bound on the connect phase")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "publish this long before measuring")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "wait at most this long after the measured phase for messages in flight")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", cfg.DialConcurrency, "fans connecting at once (per worker process)")
	fs.StringVar(&cfg.RoomPrefix, "room-prefix", "", "name rooms PREFIX-0, PREFIX-1, ... (default: bench- and a random suffix)")
	workers := fs.Int("workers", 0, fmt.Sprintf("worker processes to spread the fans over (0: one per %d fans; 1: all in this process)", chatbench.MaxFansPerWorker))
	sources := fs.Int("source-addrs", 0, fmt.Sprintf("source addresses to dial from, from --source-first on (0: enough for %d connections each and, with --per-ip-rate, for the publish rate)", chatbench.MaxFansPerSource))
	sourceFirst := fs.String("source-first", "127.0.0.1", "first source address; the next ones count up from it (all of 127.0.0.0/8 is loopback)")
	waitTree := fs.Duration("wait-tree", 0, "with --discover or --nodes: wait up to this long for the chat tree to be whole (one root) before starting, e.g. right after 'relaymesh dev' is ready")
	perIPRate := fs.Float64("per-ip-rate", 5, "the servers' publish limit per IP (msg/s; relaymesh's chat.rate_per_second), for --source-addrs 0: publishers are spread so each address stays under 80 % of it; 0: ignore")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (the load client, not its workers) to this file")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		return 2
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		}
		defer stop()
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.Mode == chatbench.ModePublish {
		if !set["rooms"] {
			cfg.Rooms = cfg.Fans
		}
		if !set["publishers"] {
			cfg.Publishers = cfg.Fans
		}
		if !set["rate"] {
			cfg.Rate = 5000
		}
	}
	err := cfg.Validate()
	if *servers != "" && *nodes != "" {
		err = errors.Join(err, errors.New("give --servers or --nodes, not both"))
	}
	if *workers < 0 || *sources < 0 {
		err = errors.Join(err, errors.New("--workers and --source-addrs must be at least 0"))
	}
	first, perr := netip.ParseAddr(*sourceFirst)
	if perr != nil {
		err = errors.Join(err, fmt.Errorf("--source-first: %w", perr))
	}
	nSources := *sources
	if nSources == 0 {
		nSources = chatbench.SourcesNeeded(cfg.Fans, cfg.Publishers, cfg.Rate, *perIPRate)
	}
	if perPub := cfg.Rate / float64(max(cfg.Publishers, 1)); *perIPRate > 0 && perPub > *perIPRate && !*quiet {
		fmt.Fprintf(stderr, "bench: warning: each publisher sends %.1f msg/s, above --per-ip-rate %g: expect rate_limited errors unless the servers allow more per IP (relaymesh dev --chat-rate N)\n", perPub, *perIPRate)
	}
	if perr == nil && nSources > 1 {
		var serr error
		if cfg.Sources, serr = chatbench.SourceAddrs(first, nSources); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	nWorkers := *workers
	if nWorkers == 0 {
		nWorkers = chatbench.WorkersFor(cfg.Fans)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if nWorkers == 1 {
		if soft, err := benchkit.RaiseFileLimit(cfg.Fans + 100); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		} else if soft > 0 && !*quiet {
			fmt.Fprintf(stderr, "bench: open file limit %d\n", soft)
		}
	}

	switch {
	case *servers != "":
		for _, u := range splitList(*servers) {
			if verr := hlsbench.ValidNodeURL(u); verr != nil {
				fmt.Fprintf(stderr, "%s: %v\n", name, verr)
				return 2
			}
			host := strings.TrimPrefix(strings.TrimPrefix(strings.TrimRight(u, "/"), "http://"), "https://")
			cfg.Mesh.Nodes = append(cfg.Mesh.Nodes, benchkit.Node{URL: strings.TrimRight(u, "/"), Name: host, Region: *serversRegion})
		}
		if len(cfg.Mesh.Nodes) == 0 {
			fmt.Fprintf(stderr, "%s: --servers %q lists no server\n", name, *servers)
			return 2
		}
	default:
		cfg.Mesh, err = discoverMesh(ctx, *nodes, *discover, *waitTree)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	if !*quiet {
		for _, n := range cfg.Mesh.Nodes {
			fmt.Fprintf(stderr, "bench: node %s (%s) at %s\n", n.Name, n.Region, n.URL)
		}
		if roots := cfg.Mesh.Roots(); *servers == "" && len(roots) != 1 {
			fmt.Fprintf(stderr, "bench: warning: the chat tree has %d roots %v; cross-node delivery may lag until it is whole\n", len(roots), roots)
		}
		fmt.Fprintf(stderr, "bench: %d worker processes, %d source addresses\n", nWorkers, max(len(cfg.Sources), 1))
	}

	var rep *chatbench.Report
	if nWorkers == 1 {
		rep, err = chatbench.Run(ctx, cfg)
	} else {
		exe, xerr := os.Executable()
		if xerr != nil {
			fmt.Fprintf(stderr, "%s: find this binary for the workers: %v\n", name, xerr)
			return 1
		}
		rep, err = chatbench.RunWorkers(ctx, cfg, chatbench.Workers{N: nWorkers, Command: func() *exec.Cmd {
			cmd := exec.Command(exe, "bench", "chat-worker")
			dieWithParent(cmd)
			return cmd
		}})
	}
	if rep == nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	if werr := writeReport(stdout, rep, *asJSON); werr != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, werr)
		return 1
	}
	switch {
	case err != nil: // interrupted, or a worker missing: the report covers the rest
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	case rep.Total.Delivered == 0:
		fmt.Fprintf(stderr, "%s: no measured message was delivered\n", name)
		return 1
	}
	return 0
}

// discoverMesh asks the mesh for its nodes and tree (Describe for --nodes,
// Discover otherwise), again every 200 ms for up to wait until the tree
// has one root.
func discoverMesh(ctx context.Context, nodes, discover string, wait time.Duration) (chatbench.Mesh, error) {
	get := func() (chatbench.Mesh, error) {
		if nodes != "" {
			return chatbench.Describe(ctx, nil, splitList(nodes))
		}
		return chatbench.Discover(ctx, nil, discover)
	}
	deadline := time.Now().Add(wait)
	for {
		m, err := get()
		if err != nil || len(m.Roots()) == 1 || !time.Now().Before(deadline) {
			return m, err
		}
		if !benchkit.SleepUntil(ctx, time.Now().Add(200*time.Millisecond)) {
			return m, ctx.Err()
		}
	}
}

// runBenchChatWorker is one worker process of 'bench chat' (RunWorkers):
// its config comes on stdin, its result goes to stdout, its progress to
// stderr. It ends by itself (bounded by its config) and when stdin closes.
func runBenchChatWorker(stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := benchkit.RaiseFileLimit(chatbench.MaxFansPerWorker + 100); err != nil {
		fmt.Fprintf(stderr, "bench chat-worker: %v\n", err)
	}
	if err := chatbench.ServeWorker(ctx, os.Stdin, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bench chat-worker: %v\n", err)
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
