// Package node is the composition root of a relaymesh edge: it wires the
// QUIC endpoint, the gossip cluster and the HTTP server for fans,
// streamers and operators, and owns their lifecycles.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/mesh/leaf"
	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/mesh/pki"
	"github.com/relaymesh/relaymesh/mesh/tree"
	"github.com/relaymesh/relaymesh/mesh/treeloop"
	"github.com/relaymesh/relaymesh/mesh/wan"
	"github.com/relaymesh/relaymesh/node/chat"
	"github.com/relaymesh/relaymesh/node/hls"
	"github.com/relaymesh/relaymesh/node/httplimit"
	"github.com/relaymesh/relaymesh/node/ingest"
	"github.com/relaymesh/relaymesh/node/ingest/spool"
	"github.com/relaymesh/relaymesh/node/natsd"
	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/regions"
)

// Options are the parts of a node that tests and `relaymesh dev` supply
// directly instead of through the config file.
type Options struct {
	// Identity replaces the certificate files named in cfg.TLS.
	Identity *pki.Identity
	// Logger replaces the logger built from cfg.Log.
	Logger *slog.Logger
	// WANTable, with cfg.Mesh.WANEmulation, maps peer addresses to regions
	// for the emulated delays. Nil gives the node a table of its own, filled
	// from gossip metadata as peers join.
	WANTable *wan.Table
}

// Node is one relaymesh edge.
type Node struct {
	cfg  config.Config
	opts Options
	log  *slog.Logger

	endpoint *link.Endpoint
	nats     *natsd.Server
	leaf     *leaf.Manager
	chat     *chat.Service
	hls      *hls.Service
	origin   *origin.Client
	spool    *spool.Spool
	ingest   *ingest.Service

	cluster  *membership.Cluster
	wanTable *wan.Table
	httpLn   *httplimit.Listener
	httpSrv  *http.Server
	metrics  *metrics

	meshAddr netip.AddrPort
	httpAddr string // advertised host:port

	started  time.Time
	draining atomic.Bool
	ctx      context.Context // cancelled when the node stops; owns the loops (startLoops)
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopErr  error
}

// Start binds the node's sockets and starts its parts. On error everything
// already started is stopped again.
func Start(cfg config.Config, opts Options) (n *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n = &Node{cfg: cfg, opts: opts, started: time.Now()}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.log = opts.Logger
	if n.log == nil {
		n.log = NewLogger(os.Stderr, cfg.Log)
	}
	n.log = n.log.With("node", cfg.Node.Name, "region", cfg.Node.Region)
	for _, w := range cfg.Warnings() {
		n.log.Warn("config warning", "problem", w.String())
	}
	defer func() {
		if err != nil {
			n.Close()
			n = nil
		}
	}()
	if err := os.MkdirAll(cfg.Node.DataDir, 0o750); err != nil {
		return n, fmt.Errorf("node: data dir: %w", err)
	}
	id, err := n.identity()
	if err != nil {
		return n, err
	}
	if err := n.startEndpoint(id); err != nil {
		return n, err
	}
	if err := n.listenHTTP(); err != nil {
		return n, err
	}
	if err := n.startNATS(); err != nil {
		return n, err
	}
	n.metrics = newMetrics(n)
	if err := n.startCluster(); err != nil {
		return n, err
	}
	if err := n.startChat(); err != nil {
		return n, err
	}
	if err := n.startHLS(); err != nil {
		return n, err
	}
	if err := n.startIngest(); err != nil {
		return n, err
	}
	if err := n.startLoops(); err != nil {
		return n, err
	}
	n.serveHTTP()
	n.log.Info("node started", "http", n.httpAddr, "mesh", n.meshAddr.String(),
		"version", BuildVersion(), "wan_emulation", cfg.Mesh.WANEmulation)
	return n, nil
}

func (n *Node) identity() (*pki.Identity, error) {
	if n.opts.Identity != nil {
		return n.opts.Identity, nil
	}
	t := n.cfg.TLS
	if t.CAFile == "" || t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("node: tls.ca_file, tls.cert_file and tls.key_file are required (create them with `relaymesh certs`)")
	}
	id, err := pki.LoadIdentity(t.CAFile, t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return id, nil
}

func (n *Node) startEndpoint(id *pki.Identity) error {
	pc, err := net.ListenPacket("udp", n.cfg.Mesh.Listen)
	if err != nil {
		return fmt.Errorf("node: mesh listen: %w", err)
	}
	bound := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	n.meshAddr, err = advertiseAddr(n.cfg.Mesh.Advertise, bound)
	if err != nil {
		_ = pc.Close()
		return fmt.Errorf("node: mesh advertise: %w", err)
	}
	if n.cfg.Mesh.WANEmulation {
		n.wanTable = n.opts.WANTable
		if n.wanTable == nil {
			n.wanTable = wan.NewTable()
		}
		pc = wan.NewConn(pc, n.cfg.Node.Region, n.wanTable, oneWay)
		n.log.Warn("WAN emulation is on: inter-node packets are delayed by the regions latency model")
	}
	key := quic.StatelessResetKey(id.ResetKey())
	n.endpoint, err = link.New(link.Config{
		Conn:      pc,
		ServerTLS: id.ServerTLS(link.ALPN),
		ClientTLS: id.ClientTLS(link.ALPN),
		ResetKey:  &key,
		Logger:    n.log.With("component", "link"),
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// oneWay adapts the regions model to the WAN emulator: half the measured
// RTT between the two regions.
func oneWay(from, to string) time.Duration {
	d, err := regions.OneWay(from, to)
	if err != nil {
		return 0
	}
	return d
}

func (n *Node) listenHTTP() error {
	raw, err := net.Listen("tcp", n.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("node: http listen: %w", err)
	}
	ln, err := httplimit.NewListener(raw, connLimits(n.cfg.HTTP))
	if err != nil {
		_ = raw.Close()
		return fmt.Errorf("node: %w", err)
	}
	n.httpLn = ln
	n.httpAddr = n.cfg.HTTP.Advertise
	if n.httpAddr == "" {
		port := ln.Addr().(*net.TCPAddr).Port
		n.httpAddr = net.JoinHostPort(n.meshAddr.Addr().String(), strconv.Itoa(port))
	}
	return nil
}

func (n *Node) startCluster() error {
	m := n.cfg.Mesh
	var err error
	n.cluster, err = membership.New(membership.Config{
		Meta: membership.Meta{
			Name:    n.cfg.Node.Name,
			Region:  n.cfg.Node.Region,
			Version: BuildVersion(),
			HTTP:    n.httpAddr,
			Mesh:    n.meshAddr.String(),
			Leaf:    n.meshAddr.String(),
		},
		Endpoint:         n.endpoint,
		Advertise:        n.meshAddr,
		Seeds:            m.Seeds,
		ProbeInterval:    m.ProbeInterval,
		ProbeTimeout:     m.ProbeTimeout,
		SuspicionMult:    m.SuspicionMult,
		GossipInterval:   m.GossipInterval,
		PushPullInterval: m.PushPullInterval,
		StreamTimeout:    m.StreamTimeout,
		DeadNodeReclaim:  m.DeadNodeReclaim,
		JoinRetryMin:     m.JoinRetryMin,
		JoinRetryMax:     m.JoinRetryMax,
		Logger:           n.log.With("component", "membership"),
		Observe:          n.observeMember,
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// observeMember keeps the WAN emulator's address table in step with
// gossip, so packets to a peer are delayed by the distance to its region.
func (n *Node) observeMember(m membership.Member) {
	if n.wanTable == nil || m.Self || m.MetaError != "" {
		return
	}
	_ = n.wanTable.Set(m.Meta.Mesh, m.Meta.Region)
}

func (n *Node) serveHTTP() {
	n.httpSrv = n.httpServer()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.httpSrv.Serve(n.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server stopped", "err", err)
		}
	}()
}

// advertiseAddr picks the address peers should dial: the configured one,
// or the bound address when it is specific.
func advertiseAddr(configured string, bound netip.AddrPort) (netip.AddrPort, error) {
	if configured != "" {
		return link.ParseAddr(configured)
	}
	if bound.Addr().IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("listening on %s: set mesh.advertise to the address peers reach", bound)
	}
	return netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port()), nil
}

// HTTPAddr is the host:port the node's HTTP server is advertised at.
func (n *Node) HTTPAddr() string { return n.httpAddr }

// HTTPURL is the base URL of the node's HTTP server.
func (n *Node) HTTPURL() string { return "http://" + n.httpAddr }

// MeshAddr is the UDP address of the node's QUIC endpoint.
func (n *Node) MeshAddr() netip.AddrPort { return n.meshAddr }

// Config is the node's configuration, as it started with it.
func (n *Node) Config() config.Config { return n.cfg }

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Node.Name }

// Region is the node's region.
func (n *Node) Region() string { return n.cfg.Node.Region }

// Cluster exposes the node's gossip membership.
func (n *Node) Cluster() *membership.Cluster { return n.cluster }

// Chat returns the node's chat service (tests, diagnostics).
func (n *Node) Chat() *chat.Service { return n.chat }

// Ready reports whether the node serves traffic, and why not.
func (n *Node) Ready() (bool, string) {
	switch {
	case n.draining.Load():
		return false, "shutting down"
	case n.cluster == nil || !n.cluster.Joined():
		return false, "not joined to the mesh yet"
	}
	if n.chat != nil {
		if err := n.chat.Healthy(); err != nil {
			return false, err.Error()
		}
	}
	return true, "ok"
}

// Shutdown stops the node gracefully: it stops admitting work (readyz
// turns 503), leaves the gossip cluster so peers see "left", drains HTTP
// within cfg.HTTP.ShutdownTimeout or ctx, and closes the mesh endpoint.
func (n *Node) Shutdown(ctx context.Context) error {
	n.draining.Store(true)
	n.stopOnce.Do(func() {
		var errs []error
		n.stopLoops()
		if n.cluster != nil {
			// A leave that times out (say, the whole fleet stops at once and
			// nobody is left to tell) still shuts down; peers that missed it
			// mark this node dead instead of left.
			if err := n.cluster.Leave(n.cfg.Mesh.LeaveTimeout); err != nil {
				n.log.Warn("leave not confirmed; peers may record a failure instead", "err", err)
			}
		}
		sctx, cancel := context.WithTimeout(ctx, n.cfg.HTTP.ShutdownTimeout)
		if n.chat != nil {
			// WebSocket fans are hijacked connections that the HTTP server's
			// drain does not see: tell them to go elsewhere (1001) first.
			if err := n.chat.Close(sctx); err != nil {
				errs = append(errs, err)
			}
		}
		if n.httpSrv != nil {
			if err := n.httpSrv.Shutdown(sctx); err != nil {
				errs = append(errs, fmt.Errorf("http drain: %w", err))
				_ = n.httpSrv.Close()
			}
		}
		cancel()
		errs = append(errs, n.closeRest(false))
		n.stopErr = errors.Join(errs...)
		n.log.Info("node stopped", "err", n.stopErr)
	})
	return n.stopErr
}

// Close stops the node at once, as a crash would as far as peers can
// tell: no leave message, connections cut. Goroutines still all stop.
func (n *Node) Close() error {
	n.draining.Store(true)
	n.stopOnce.Do(func() {
		var errs []error
		n.stopLoops()
		if n.cluster != nil {
			errs = append(errs, n.cluster.Shutdown())
		}
		if n.chat != nil {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // no grace: cut fans now
			_ = n.chat.Close(ctx)
		}
		if n.httpSrv != nil {
			errs = append(errs, n.httpSrv.Close())
		}
		errs = append(errs, n.closeRest(true))
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}

// startLoops starts the loops that follow membership: the leaf-tree parent
// (mesh/treeloop) and chat's sources. Both stop with n.ctx.
func (n *Node) startLoops() error {
	loop, err := treeloop.New(treeloop.Config{
		Self:        tree.Node{Name: n.cfg.Node.Name, Region: n.cfg.Node.Region},
		Members:     n.cluster,
		Leaf:        n.leaf,
		Meta:        n.cluster,
		MetaTimeout: n.cfg.Mesh.LeaveTimeout,
		Logger:      n.log.With("component", "tree"),
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		loop.Run(n.ctx)
	}()
	go func() {
		defer n.wg.Done()
		n.chat.FollowMembers(n.ctx, n.cluster)
	}()
	return nil
}

// stopLoops stops the node's own goroutines (tree, members).
func (n *Node) stopLoops() {
	if n.cancel != nil {
		n.cancel()
	}
}

// closeRest stops what is left after the cluster and HTTP; abort closes
// the mesh endpoint without telling peers.
func (n *Node) closeRest(abort bool) error {
	var errs []error
	if n.cluster != nil {
		errs = append(errs, n.cluster.Shutdown())
	}
	if n.httpSrv == nil && n.httpLn != nil {
		errs = append(errs, n.httpLn.Close())
	}
	if n.ingest != nil {
		errs = append(errs, n.ingest.Close()) // what is still spooled stays on disk for the next start
	}
	if n.spool != nil {
		errs = append(errs, n.spool.Close())
	}
	if n.hls != nil {
		errs = append(errs, n.hls.Close())
	}
	// NATS before the leaf manager: NATS would otherwise keep redialling
	// a forwarder that is gone.
	if n.nats != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n.nats.Shutdown(ctx)
		cancel()
	}
	if n.leaf != nil {
		errs = append(errs, n.leaf.Close())
	}
	if n.endpoint != nil {
		if abort {
			errs = append(errs, n.endpoint.Abort())
		} else {
			errs = append(errs, n.endpoint.Close())
		}
	}
	n.wg.Wait()
	return errors.Join(errs...)
}
