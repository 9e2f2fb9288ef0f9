// Package devmesh starts a complete local relaymesh in one process: one
// or more nodes per region on loopback, WAN emulation from the regions
// latency model, a generated cluster CA, and an embedded S3 origin. It is
// what `relaymesh dev` runs and what end-to-end tests build on. Base is the
// part that does not depend on where the nodes run; package devmesh/procs
// builds on it to run each node as an OS process (`relaymesh dev
// --processes`).
package devmesh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/mesh/pki"
	"github.com/relaymesh/relaymesh/mesh/wan"
	"github.com/relaymesh/relaymesh/node"
	"github.com/relaymesh/relaymesh/node/devmesh/demo"
	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/origin/devs3"
	"github.com/relaymesh/relaymesh/regions"
)

// Options configures a dev mesh. The zero value is not useful; start from
// DefaultOptions.
type Options struct {
	Host      string // loopback address every socket binds to
	PerRegion int    // nodes per region
	// Regions limits the mesh to these regions (default: all four).
	Regions    []string
	HTTPPort   int    // first node's HTTP port, the next ones count up; 0 picks free ports
	MeshPort   int    // first node's QUIC (UDP) port, counting up; 0 picks free ports
	OriginPort int    // embedded S3 port; 0 picks a free port
	Bucket     string // origin bucket
	WAN        bool   // emulate inter-region latency
	DataDir    string // parent of the nodes' data dirs; empty uses a temp dir removed on shutdown
	// ChatRate, if positive, replaces the per-IP chat publish limit (every
	// local fan and benchmark client shares 127.0.0.1).
	ChatRate float64
	// Origin, if set, replaces the embedded S3 origin (tests point the mesh
	// at a real MinIO server with it).
	Origin *config.Origin
	// ShieldRegion, if set, is every node's hls.shield_region: the whole
	// mesh then makes one origin GET per segment.
	ShieldRegion string
	// OriginRegion, if set (with WAN), places the origin in that region:
	// each node reaches it through a proxy that delays its traffic by the
	// one-way latency between the two regions, as a bucket in one region
	// is far from the others. Empty: the origin is next to every node.
	OriginRegion string
	// StreamKey is the ingest key of the streams "live" (for the user's own
	// pushes) and "demo". Empty generates a random one.
	StreamKey string
	Logger    *slog.Logger
	// Tune, if set, adjusts each node's config before it starts (tests
	// shorten timers with it).
	Tune func(*config.Config)
}

// DefaultOptions are what `relaymesh dev` uses without flags.
func DefaultOptions() Options {
	return Options{
		Host:       "127.0.0.1",
		PerRegion:  1,
		HTTPPort:   8081,
		MeshPort:   7947,
		OriginPort: 9000,
		Bucket:     "relaymesh",
		WAN:        true,
	}
}

// Base is the part of a dev mesh that does not depend on how its nodes
// run: the data dir, the origin (embedded S3 or external) with its demo
// stream and the delaying proxies of Options.OriginRegion, and the cluster
// CA. Start runs the nodes in this process on top of a Base; package
// devmesh/procs runs each node as an OS process of its own.
type Base struct {
	opts    Options
	log     *slog.Logger
	origin  *devs3.Server
	dataDir string
	tempDir bool
	ca      *pki.CA

	originProxies map[string]*wan.Proxy // region -> its delayed way to the origin

	demo       *demo.Publisher
	demoCancel context.CancelFunc
	demoDone   chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Slot is one node's place in the mesh, in start order: the K-th node
// (from 1) of Region.
type Slot struct {
	Region string
	K      int
}

// Name is the node name of the slot, e.g. "seoul-1".
func (s Slot) Name() string { return s.Region + "-" + strconv.Itoa(s.K) }

// StartBase checks opts, fills in the stream key and logger, and starts
// everything the nodes share. On error what was started is closed again.
func StartBase(opts Options) (b *Base, err error) {
	if opts.PerRegion < 1 {
		return nil, errors.New("devmesh: per-region must be at least 1")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if opts.StreamKey == "" {
		var k [16]byte
		_, _ = rand.Read(k[:])
		opts.StreamKey = hex.EncodeToString(k[:])
	}
	b = &Base{opts: opts, log: opts.Logger}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = b.Close(ctx)
			b = nil
		}
	}()

	b.dataDir = opts.DataDir
	if b.dataDir == "" {
		if b.dataDir, err = os.MkdirTemp("", "relaymesh-dev-"); err != nil {
			return b, fmt.Errorf("devmesh: %w", err)
		}
		b.tempDir = true
	}
	if opts.Origin == nil {
		b.origin, err = devs3.Start(hostPort(opts.Host, opts.OriginPort, 0), b.log.With("component", "origin"), opts.Bucket)
		if err != nil {
			return b, err
		}
	}
	if err := b.startDemo(); err != nil {
		return b, err
	}
	if err := b.startOriginProxies(); err != nil {
		return b, err
	}
	if b.ca, err = pki.NewCA("relaymesh dev CA", 30*24*time.Hour); err != nil {
		return b, fmt.Errorf("devmesh: %w", err)
	}
	return b, nil
}

// Options are the options the base was started with, stream key and
// logger filled in.
func (b *Base) Options() Options { return b.opts }

// CA is the cluster CA that signs every node's certificate.
func (b *Base) CA() *pki.CA { return b.ca }

// Slots lists the mesh's nodes in start order (regions.All order).
func (b *Base) Slots() []Slot {
	var slots []Slot
	for _, r := range regions.All() {
		if len(b.opts.Regions) > 0 && !slices.Contains(b.opts.Regions, r.Name) {
			continue
		}
		for k := 1; k <= b.opts.PerRegion; k++ {
			slots = append(slots, Slot{Region: r.Name, K: k})
		}
	}
	return slots
}

// Mesh is a running dev mesh with every node in this process.
type Mesh struct {
	*Base

	mu    sync.Mutex      // guards nodes (Restart replaces one)
	nodes []*node.Node    // start order
	ids   []*pki.Identity // each node's certificate, kept for Restart
	once  sync.Once
}

// Start brings the whole mesh up. Nodes start one after another, each
// seeded with the ones before it, so that the first founds the cluster and
// the others join without retries.
func Start(opts Options) (m *Mesh, err error) {
	b, err := StartBase(opts)
	if err != nil {
		return nil, err
	}
	m = &Mesh{Base: b}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = m.Shutdown(ctx)
			m = nil
		}
	}()

	var seeds []string
	for i, s := range b.Slots() {
		cfg := b.NodeConfig(s, i, seeds)
		id, err := b.ca.NewIdentity(cfg.Node.Name, []string{b.opts.Host})
		if err != nil {
			return m, fmt.Errorf("devmesh: %w", err)
		}
		n, err := node.Start(cfg, node.Options{Identity: id, Logger: b.log})
		if err != nil {
			return m, fmt.Errorf("devmesh: start %s: %w", cfg.Node.Name, err)
		}
		m.nodes = append(m.nodes, n)
		m.ids = append(m.ids, id)
		seeds = append(seeds, n.MeshAddr().String())
	}
	return m, nil
}

// NodeConfig is the config of the node in slot s, the i-th to start,
// seeded with seeds. Its TLS files are unset: in-process nodes get their
// identity directly.
func (b *Base) NodeConfig(s Slot, i int, seeds []string) config.Config {
	o := b.opts
	cfg := config.Defaults()
	cfg.Node.Name = s.Name()
	cfg.Node.Region = s.Region
	cfg.Node.DataDir = filepath.Join(b.dataDir, cfg.Node.Name)
	cfg.HTTP.Listen = hostPort(o.Host, o.HTTPPort, i)
	cfg.HTTP.ShutdownTimeout = 5 * time.Second
	cfg.HTTP.MaxConnsPerIP = 0 // every local fan, player and bench client is 127.0.0.1
	cfg.Mesh.Listen = hostPort(o.Host, o.MeshPort, i)
	cfg.Mesh.Seeds = append([]string(nil), seeds...)
	cfg.Mesh.WANEmulation = o.WAN
	cfg.Mesh.LeaveTimeout = 2 * time.Second
	cfg.Origin = b.originConfig()
	if p := b.originProxies[s.Region]; p != nil {
		cfg.Origin.Endpoint = p.Addr()
	}
	cfg.Log.Format = "text"
	cfg.Ingest.StreamKeys = map[string]string{LiveStream: o.StreamKey, DemoStream: o.StreamKey}
	cfg.HLS.ShieldRegion = o.ShieldRegion
	if o.ChatRate > 0 {
		cfg.Chat.RatePerSecond = o.ChatRate
		cfg.Chat.RateBurst = max(cfg.Chat.RateBurst, int(o.ChatRate))
	}
	if o.Tune != nil {
		o.Tune(&cfg)
	}
	return cfg
}

// hostPort gives the i-th port counting up from base, or port 0 when base is 0.
func hostPort(host string, base, i int) string {
	if base == 0 {
		return net.JoinHostPort(host, "0")
	}
	return net.JoinHostPort(host, strconv.Itoa(base+i))
}

// Streams of the dev mesh: DemoStream is published by dev itself,
// LiveStream is for the user's own pushes.
const (
	DemoStream = "demo"
	LiveStream = "live"
)

// StreamKey is the ingest key of the dev mesh's streams.
func (b *Base) StreamKey() string { return b.opts.StreamKey }

// originConfig is the origin every node (and the demo publisher) uses:
// the external one from Options, or the embedded one.
func (b *Base) originConfig() config.Origin {
	if b.opts.Origin != nil {
		return *b.opts.Origin
	}
	o := config.Defaults().Origin
	o.Endpoint, o.Bucket, o.UseTLS = b.origin.Endpoint(), b.opts.Bucket, false
	o.AccessKey, o.SecretKey = "relaymesh-dev", "relaymesh-dev-secret"
	return o
}

// startOriginProxies puts the origin in Options.OriginRegion: one delaying
// proxy per other region (see wan.Proxy).
func (b *Base) startOriginProxies() error {
	o := b.opts
	if o.OriginRegion == "" || !o.WAN {
		return nil
	}
	if _, ok := regions.Lookup(o.OriginRegion); !ok {
		return fmt.Errorf("devmesh: unknown origin region %q; valid regions: %v", o.OriginRegion, regions.Names())
	}
	b.originProxies = map[string]*wan.Proxy{}
	for _, r := range regions.All() {
		if len(o.Regions) > 0 && !slices.Contains(o.Regions, r.Name) {
			continue
		}
		d, err := regions.OneWay(r.Name, o.OriginRegion)
		if err != nil || d == 0 {
			continue // the origin's own region: no delay
		}
		p, err := wan.StartProxy(net.JoinHostPort(o.Host, "0"), b.OriginEndpoint(), d)
		if err != nil {
			return fmt.Errorf("devmesh: origin proxy for %s: %w", r.Name, err)
		}
		b.originProxies[r.Name] = p
	}
	return nil
}

// startDemo publishes the looping demo stream into the origin, as a
// streamer would, for as long as the mesh runs.
func (b *Base) startDemo() error {
	client, err := origin.New(node.OriginClientConfig(b.originConfig()))
	if err != nil {
		return fmt.Errorf("devmesh: demo stream: %w", err)
	}
	cfg := demo.DefaultConfig()
	cfg.Stream = DemoStream
	cfg.Logger = b.log.With("component", "demo")
	b.demo, err = demo.New(demo.Origin{Client: client}, cfg)
	if err != nil {
		return fmt.Errorf("devmesh: demo stream: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.demoCancel, b.demoDone = cancel, make(chan struct{})
	go func() {
		defer close(b.demoDone)
		_ = b.demo.Run(ctx)
	}()
	return nil
}

// Nodes returns the running nodes in start order (regions.All order).
func (m *Mesh) Nodes() []*node.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*node.Node(nil), m.nodes...)
}

// Restart stops node i gracefully and starts it again as an operator
// restarting the process would: same name, certificate, data directory
// (spool, disk cache) and addresses, seeded with the other nodes.
func (m *Mesh) Restart(ctx context.Context, i int) (*node.Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i < 0 || i >= len(m.nodes) {
		return nil, fmt.Errorf("devmesh: no node %d", i)
	}
	old := m.nodes[i]
	cfg := old.Config()
	cfg.HTTP.Listen, cfg.Mesh.Listen = old.HTTPAddr(), old.MeshAddr().String()
	cfg.Mesh.Seeds = nil
	for k, n := range m.nodes {
		if k != i {
			cfg.Mesh.Seeds = append(cfg.Mesh.Seeds, n.MeshAddr().String())
		}
	}
	if err := old.Shutdown(ctx); err != nil {
		return nil, fmt.Errorf("devmesh: stop %s: %w", cfg.Node.Name, err)
	}
	n, err := node.Start(cfg, node.Options{Identity: m.ids[i], Logger: m.log})
	if err != nil {
		return nil, fmt.Errorf("devmesh: restart %s: %w", cfg.Node.Name, err)
	}
	m.nodes[i] = n
	return n, nil
}

// OriginGets is how many object GETs the embedded origin has answered
// (0 with an external origin).
func (b *Base) OriginGets() int64 {
	if b.origin == nil {
		return 0
	}
	return b.origin.ObjectGets()
}

// OriginEndpoint is host:port of the origin.
func (b *Base) OriginEndpoint() string {
	if b.opts.Origin != nil {
		return b.opts.Origin.Endpoint
	}
	return b.origin.Endpoint()
}

// Shutdown stops every node gracefully (in parallel, as a fleet would be
// stopped), then closes the base.
func (m *Mesh) Shutdown(ctx context.Context) error {
	var err error
	m.once.Do(func() {
		nodes := m.Nodes()
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = n.Shutdown(ctx)
			}()
		}
		wg.Wait()
		err = errors.Join(append(errs, m.Base.Close(ctx))...)
	})
	return err
}

// Close stops the demo stream, the origin proxies and the origin, and
// removes a temporary data dir. The nodes must be stopped first. Close is
// idempotent.
func (b *Base) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		var errs []error
		if b.demoCancel != nil {
			b.demoCancel()
			<-b.demoDone
		}
		for _, p := range b.originProxies {
			errs = append(errs, p.Close())
		}
		if b.origin != nil {
			errs = append(errs, b.origin.Close(ctx))
		}
		if b.tempDir {
			errs = append(errs, os.RemoveAll(b.dataDir))
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// PrintSummary writes what a person needs to use the mesh.
func (m *Mesh) PrintSummary(w io.Writer) {
	var rows []Row
	for _, n := range m.Nodes() {
		rows = append(rows, Row{Region: n.Region(), Name: n.Name(), HTTPAddr: n.HTTPAddr(), MeshAddr: n.MeshAddr().String()})
	}
	m.WriteSummary(w, rows)
}

// Row is one node in the summary. PID, if set, is the node's process.
type Row struct {
	Region, Name, HTTPAddr, MeshAddr string
	PID                              int
}

// WriteSummary writes what a person needs to use the mesh whose nodes are
// rows, in start order.
func (b *Base) WriteSummary(w io.Writer, rows []Row) {
	wan := "off"
	if b.opts.WAN {
		wan = "on (delays from the regions latency model)"
	}
	fmt.Fprintf(w, "\nrelaymesh dev: %d nodes, WAN emulation %s\n", len(rows), wan)
	where := ""
	if b.originProxies != nil {
		where = fmt.Sprintf(", in %s (other regions reach it with WAN latency)", b.opts.OriginRegion)
	}
	if b.origin != nil {
		fmt.Fprintf(w, "origin: embedded S3 at http://%s, bucket %q%s\n\n", b.origin.Endpoint(), b.opts.Bucket, where)
	} else {
		fmt.Fprintf(w, "origin: %s, bucket %q%s\n\n", b.opts.Origin.Endpoint, b.opts.Origin.Bucket, where)
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	pids := len(rows) > 0 && rows[0].PID > 0
	head := "  REGION\tNODE\tHTTP\tMESH (QUIC/UDP)\tDEMO STREAM"
	if pids {
		head += "\tPID"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\thttp://%s\t%s\thttp://%s/hls/%s", r.Region, r.Name, r.HTTPAddr, r.MeshAddr, r.HTTPAddr, b.demo.PlaylistKey())
		if pids {
			fmt.Fprintf(tw, "\t%d", r.PID)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	if len(rows) > 0 {
		first, last := rows[0], rows[len(rows)-1]
		u := "http://" + first.HTTPAddr
		fmt.Fprintf(w, "\ntry:\n  curl %s/v1/mesh\n  curl '%s/v1/edges?region=frankfurt'\n  curl %s/metrics\n", u, u, u)
		fmt.Fprintf(w, "\nchat: ws://%s/v1/chat/ws?room=lobby (any node; protocol in docs/chat-protocol.md)\n", first.HTTPAddr)
		fmt.Fprintf(w, "\npush a test stream to the %s node (stream key %s):\n", first.Region, b.opts.StreamKey)
		fmt.Fprintf(w, "  ffmpeg -re -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440 \\\n"+
			"    -c:v libx264 -preset veryfast -tune zerolatency -g 30 -c:a aac -b:a 64k \\\n"+
			"    -f hls -hls_time 1 -hls_list_size 6 -hls_flags delete_segments -method PUT \\\n"+
			"    -headers 'Authorization: Bearer %s' %s/ingest/%s/index.m3u8\n", b.opts.StreamKey, u, LiveStream)
		fmt.Fprintf(w, "and watch it from the %s node:\n  ffplay http://%s/hls/%s/index.m3u8\n", last.Region, last.HTTPAddr, LiveStream)
	}
	fmt.Fprintf(w, "\npress Ctrl-C to stop\n")
}
