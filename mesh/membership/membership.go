// Package membership runs the gossip cluster of relaymesh nodes:
// hashicorp/memberlist over the node's QUIC endpoint, node metadata,
// membership events, and network coordinates (serf's Vivaldi) fed by
// memberlist's probe RTTs.
package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/relaymesh/relaymesh/mesh/link"
)

// Config configures a Cluster. Timers mirror config.Mesh; see the field
// docs there for their trade-offs.
type Config struct {
	Meta      Meta           // this node; Meta.Name is the node name
	Endpoint  *link.Endpoint // the node's QUIC endpoint, owned by the caller
	Advertise netip.AddrPort // the address peers reach this node's endpoint at
	Seeds     []string       // host:port of nodes to join; empty starts a new cluster

	ProbeInterval    time.Duration
	ProbeTimeout     time.Duration
	SuspicionMult    int
	GossipInterval   time.Duration
	PushPullInterval time.Duration
	StreamTimeout    time.Duration
	DeadNodeReclaim  time.Duration
	JoinRetryMin     time.Duration
	JoinRetryMax     time.Duration

	Logger *slog.Logger
	// Observe, if set, is called on every membership event with the new
	// state of the member. It runs under memberlist's locks: it must be quick
	// and must not call the Cluster.
	Observe func(Member)
}

// gossipPacketSize keeps memberlist's packets inside one QUIC datagram
// (1,280-byte initial packets minus QUIC overhead) so that they rarely
// need the unidirectional-stream fallback.
const gossipPacketSize = 1100

// Cluster is this node's membership in the gossip cluster.
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	ml     *memberlist.Memberlist
	tr     *transport
	table  *table
	coords *coords
	meta   *metaDelegate
	names  nameCheck
	metaMu sync.Mutex // serialises metadata updates

	joined atomic.Bool
	left   atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New creates the memberlist and starts joining the seeds in the
// background, retrying with backoff until one answers.
func New(cfg Config) (*Cluster, error) {
	if cfg.Endpoint == nil {
		return nil, errors.New("membership: Endpoint is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	meta, err := cfg.Meta.Encode()
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	if err := cfg.Meta.Validate(); err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	co, err := newCoords()
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	c := &Cluster{
		cfg:    cfg,
		log:    cfg.Logger,
		coords: co,
		table:  newTable(cfg.Meta.Name, cfg.Logger, cfg.Observe),
		tr:     newTransport(cfg.Endpoint, cfg.Advertise),
	}

	mc := memberlist.DefaultWANConfig()
	mc.Name = cfg.Meta.Name
	mc.Transport = c.tr
	mc.AdvertiseAddr = cfg.Advertise.Addr().String()
	mc.AdvertisePort = int(cfg.Advertise.Port())
	mc.ProbeInterval = cfg.ProbeInterval
	mc.ProbeTimeout = cfg.ProbeTimeout
	mc.SuspicionMult = cfg.SuspicionMult
	mc.GossipInterval = cfg.GossipInterval
	mc.PushPullInterval = cfg.PushPullInterval
	mc.TCPTimeout = cfg.StreamTimeout
	mc.DeadNodeReclaimTime = cfg.DeadNodeReclaim
	mc.SuspicionMaxTimeoutMult = suspicionMaxTimeoutMult
	mc.UDPBufferSize = gossipPacketSize
	c.meta = &metaDelegate{}
	c.meta.b.Store(&meta)
	mc.Delegate = c.meta
	mc.Events = c.table
	mc.Ping = co
	c.names = nameCheck{ep: cfg.Endpoint, rejected: &c.tr.misnamed}
	mc.Alive, mc.Merge = c.names, c.names
	mc.Logger = memberlistLogger(cfg.Logger)
	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = c.tr.Shutdown()
		return nil, fmt.Errorf("membership: %w", err)
	}
	c.ml = ml

	c.ctx, c.cancel = context.WithCancel(context.Background())
	seeds := make([]string, 0, len(cfg.Seeds))
	for _, s := range cfg.Seeds {
		if ap, err := link.ParseAddr(s); err == nil && ap == cfg.Advertise {
			continue // joining ourselves would prove nothing
		}
		seeds = append(seeds, s)
	}
	if len(seeds) == 0 {
		c.joined.Store(true)
		c.log.Info("no seeds: starting a new cluster")
	} else {
		c.wg.Add(1)
		go c.joinLoop(seeds)
	}
	return c, nil
}

// joinLoop contacts the seeds until one answers, backing off with jitter
// so that a region coming back does not hammer its peers in lockstep.
func (c *Cluster) joinLoop(seeds []string) {
	defer c.wg.Done()
	wait := c.cfg.JoinRetryMin
	for attempt := 1; ; attempt++ {
		n, err := c.ml.Join(seeds)
		if n > 0 {
			c.joined.Store(true)
			c.log.Info("joined cluster", "contacted", n, "attempts", attempt, "members", c.ml.NumMembers())
			return
		}
		jittered := wait/2 + rand.N(wait/2+1)
		c.log.Warn("join failed, retrying", "seeds", seeds, "err", err, "retry_in", jittered.Round(time.Millisecond))
		t := time.NewTimer(jittered)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
		wait = min(wait*2, c.cfg.JoinRetryMax)
	}
}

// Joined reports whether the node has contacted the cluster (or founded it).
func (c *Cluster) Joined() bool { return c.joined.Load() && !c.left.Load() }

// Members returns every known member, this node included, sorted by name,
// with RTT estimates from this node.
func (c *Cluster) Members() []Member {
	ms := c.table.snapshot()
	for i := range ms {
		if ms[i].Self {
			continue
		}
		ms[i].RTT, ms[i].Measured, ms[i].HasRTT = c.coords.estimate(ms[i].Name)
	}
	return ms
}

// Self returns this node's metadata.
func (c *Cluster) Self() Meta {
	c.metaMu.Lock()
	defer c.metaMu.Unlock()
	return c.cfg.Meta
}

// EstimateRTT returns the RTT to the named member predicted by network
// coordinates, if this node has heard the member's coordinate.
func (c *Cluster) EstimateRTT(name string) (time.Duration, bool) {
	rtt, _, ok := c.coords.estimate(name)
	return rtt, ok
}

// Subscribe returns a channel that receives a value after membership or
// metadata changes, and a function to unsubscribe. Notifications are
// coalesced: read Members for the current state.
func (c *Cluster) Subscribe() (<-chan struct{}, func()) { return c.table.subscribe() }

// UpdateMeta changes this node's metadata and gossips it, waiting up to
// timeout for the update to go out.
func (c *Cluster) UpdateMeta(update func(*Meta), timeout time.Duration) error {
	c.metaMu.Lock()
	defer c.metaMu.Unlock()
	m := c.cfg.Meta
	update(&m)
	b, err := m.Encode()
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	c.cfg.Meta = m
	c.meta.b.Store(&b)
	return c.ml.UpdateNode(timeout)
}

// Leave tells the cluster this node is leaving and shuts down. Half of
// timeout goes to announcing "leaving" in the node's metadata (so peers
// record a leave, not a failure, and stop routing here), half to
// memberlist's own leave message. Peers mark the node "left".
func (c *Cluster) Leave(timeout time.Duration) error {
	c.left.Store(true)
	c.stopJoining()
	var errs []error
	if err := c.UpdateMeta(func(m *Meta) { m.Leaving = true }, timeout/2); err != nil {
		errs = append(errs, fmt.Errorf("announce leaving: %w", err))
	}
	if err := c.ml.Leave(timeout / 2); err != nil {
		errs = append(errs, fmt.Errorf("leave: %w", err))
	}
	errs = append(errs, c.Shutdown())
	return errors.Join(errs...)
}

// Shutdown stops gossip without telling anyone; peers will mark this node
// failed. It is idempotent.
func (c *Cluster) Shutdown() error {
	var err error
	c.once.Do(func() {
		c.left.Store(true)
		c.stopJoining()
		err = c.ml.Shutdown()
	})
	return err
}

func (c *Cluster) stopJoining() {
	c.cancel()
	c.wg.Wait()
}

// Stats are counters for metrics.
type Stats struct {
	Joins, Leaves, Fails, Updates uint64
	RejectedCoordinates           uint64
	DroppedPackets                uint64
	// Misnamed counts gossip refused because a member's name was not the
	// one its certificate gives (names.go).
	Misnamed    uint64
	HealthScore int
}

// Stats returns the cluster's counters.
func (c *Cluster) Stats() Stats {
	return Stats{
		Joins:               c.table.joins.Load(),
		Leaves:              c.table.leaves.Load(),
		Fails:               c.table.fails.Load(),
		Updates:             c.table.updates.Load(),
		RejectedCoordinates: c.coords.rejected.Load(),
		DroppedPackets:      c.tr.dropped.Load(),
		Misnamed:            c.tr.misnamed.Load(),
		HealthScore:         c.ml.GetHealthScore(),
	}
}

func errNameMismatch(meta, node string) error {
	return fmt.Errorf("metadata names node %q but gossip names it %q", meta, node)
}

// metaDelegate serves this node's metadata to memberlist; Leave swaps it.
// relaymesh sends no user messages or state through memberlist itself.
type metaDelegate struct{ b atomic.Pointer[[]byte] }

func (d *metaDelegate) NodeMeta(limit int) []byte {
	b := *d.b.Load()
	if len(b) > limit {
		return nil
	}
	return b
}
func (*metaDelegate) NotifyMsg([]byte)                       {}
func (*metaDelegate) GetBroadcasts(int, int) [][]byte        { return nil }
func (*metaDelegate) LocalState(bool) []byte                 { return nil }
func (*metaDelegate) MergeRemoteState(buf []byte, join bool) {}

// FailureDetectionBound is the longest this node should take to declare a
// crashed member of an n-node cluster dead, given the timers in cfg:
//
//   - every member is probed once per round of n probe intervals (memberlist
//     probes members round-robin in a shuffled order), plus the probe interval
//     in which the direct and indirect probes of that member run;
//   - then the suspicion timeout runs: SuspicionMult × max(1, log10(n))
//     probe intervals, at most suspicionMaxTimeoutMult times that when no
//     other member confirms the suspicion;
//   - then the "dead" message spreads by gossip, a few gossip intervals.
//
// Tests assert against it; operators can read it off their config.
func (cfg Config) FailureDetectionBound(n int) time.Duration {
	nodeScale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	suspicionMax := time.Duration(float64(suspicionMaxTimeoutMult*cfg.SuspicionMult) * nodeScale * float64(cfg.ProbeInterval))
	return time.Duration(n+1)*cfg.ProbeInterval + suspicionMax + 10*cfg.GossipInterval
}

// suspicionMaxTimeoutMult is memberlist's default, which New keeps.
const suspicionMaxTimeoutMult = 6

// FailureDetectionBound is Config.FailureDetectionBound for this cluster's
// timers.
func (c *Cluster) FailureDetectionBound(n int) time.Duration { return c.cfg.FailureDetectionBound(n) }

// UpstreamGoroutines names goroutines of memberlist that its Shutdown does
// not wait for: a probe in flight finishes its round (up to a probe
// interval, plus the stream fallback's timeout) and then ends by itself.
// Leak checks in tests ignore them by top function; everything the
// membership package starts itself is stopped.
var UpstreamGoroutines = []string{
	"github.com/hashicorp/memberlist.(*Memberlist).probeNode",
}
