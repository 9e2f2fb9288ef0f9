// Package treeloop keeps a node's NATS leaf parent equal to mesh/tree's
// choice for the node's current view of the membership: it re-picks on
// every membership change and every Recheck, holds on to a live parent
// that is not clearly farther than the best candidate, or not for long
// (hysteresis), and
// gossips the choice so every node can show the whole tree. mesh/tree
// stays pure; this is the loop around it, with its inputs and outputs
// behind small interfaces so that it can be tested without a cluster.
package treeloop

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/relaymesh/relaymesh/mesh/leaf"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/mesh/tree"
	"github.com/relaymesh/relaymesh/regions"
)

// Members is the node's view of the cluster (membership.Cluster).
type Members interface {
	Members() []membership.Member
	// Subscribe returns a channel that receives a value after changes
	// (coalesced) and a function that ends the subscription.
	Subscribe() (<-chan struct{}, func())
}

// Leaf is what carries the node's leaf connection (leaf.Manager).
type Leaf interface {
	Parent() leaf.Parent
	SetParent(leaf.Parent)
}

// Meta updates the node's gossiped metadata (membership.Cluster).
type Meta interface {
	UpdateMeta(update func(*membership.Meta), timeout time.Duration) error
}

// DefaultRecheck is how often the parent choice is revisited without a
// membership change, so that RTT estimates that settle after startup can
// move the node to a nearer parent.
const DefaultRecheck = 5 * time.Second

// switchGain and switchMin are how much nearer a new parent candidate
// must be, relatively and absolutely, before the node leaves a live parent
// for it: cutting the leaf link costs a NATS reconnect, so wobbles in RTT
// estimates must not cause flapping. The absolute floor matters on a LAN
// or loopback, where every RTT is ~1 ms and 20 % is noise (the benchmark
// saw parents flap every few seconds without it).
const (
	switchGain = 0.8
	switchMin  = 5 * time.Millisecond
)

// DefaultSwitchHold is how long a clearly nearer candidate must stay the
// best choice before the node leaves a live parent for it. RTT estimates
// of a busy node swing by tens of milliseconds (a starved process answers
// probes late), more than any margin can absorb; a wobble does not last
// 30 s, a better route does.
const DefaultSwitchHold = 30 * time.Second

// Config configures a Loop.
type Config struct {
	Self    tree.Node // this node
	Members Members
	Leaf    Leaf
	Meta    Meta
	// MetaTimeout bounds the wait for a new parent to go out in gossip; a
	// timeout is only logged, since the update is queued either way.
	MetaTimeout time.Duration
	// Recheck is how often the choice is revisited without a change.
	// Default DefaultRecheck.
	Recheck time.Duration
	// SwitchHold: see DefaultSwitchHold (the default).
	SwitchHold time.Duration
	// Now is the clock (tests); default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Loop is the control loop; Run runs it.
type Loop struct {
	cfg Config
	// A nearer candidate seen while a live parent is kept, and since
	// when it has been the best (see SwitchHold). Owned by repick.
	pending      string
	pendingSince time.Time
}

// New checks cfg and applies its defaults. Nothing runs until Run.
func New(cfg Config) (*Loop, error) {
	if cfg.Members == nil || cfg.Leaf == nil || cfg.Meta == nil {
		return nil, errors.New("treeloop: Members, Leaf and Meta are required")
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.SwitchHold <= 0 {
		cfg.SwitchHold = DefaultSwitchHold
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Loop{cfg: cfg}, nil
}

// Run keeps the leaf's parent up to date until ctx ends: it picks at once,
// then on every membership change and every Recheck. Run it once.
func (l *Loop) Run(ctx context.Context) {
	changes, unsubscribe := l.cfg.Members.Subscribe()
	defer unsubscribe()
	tick := time.NewTicker(l.cfg.Recheck)
	defer tick.Stop()
	for {
		l.repick()
		select {
		case <-changes:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// repick sets the parent that mesh/tree chooses for the current view,
// unless the current parent should be kept (keepParent), and gossips it.
func (l *Loop) repick() {
	cfg := l.cfg
	members := cfg.Members.Members()
	view := make([]tree.Candidate, 0, len(members))
	byName := make(map[string]membership.Member, len(members))
	for _, m := range members {
		if m.Self || m.MetaError != "" {
			continue
		}
		byName[m.Name] = m
		view = append(view, tree.Candidate{
			Node:   tree.Node{Name: m.Name, Region: m.Meta.Region},
			Alive:  m.Live(),
			RTT:    m.RTT,
			HasRTT: m.HasRTT,
		})
	}
	best, ok := tree.Parent(cfg.Self, view)
	cur := cfg.Leaf.Parent()
	keep := false
	if ok && cur.Name != "" && cur.Name != best.Name && validParent(cfg.Self, cur.Name, view) {
		now := cfg.Now()
		switch {
		case nearEnough(cfg.Self, cur.Name, best.Name, view):
			keep, l.pending = true, ""
		case l.pending != best.Name:
			keep, l.pending, l.pendingSince = true, best.Name, now
		default:
			keep = now.Sub(l.pendingSince) < cfg.SwitchHold
		}
	}
	if keep {
		best = tree.Node{Name: cur.Name, Region: byName[cur.Name].Meta.Region}
	} else {
		l.pending = ""
	}
	next := leaf.Parent{}
	if ok {
		next = leaf.Parent{Name: best.Name, Addr: byName[best.Name].Meta.Leaf}
	}
	if next == cur {
		return
	}
	cfg.Leaf.SetParent(next)
	if err := cfg.Meta.UpdateMeta(func(m *membership.Meta) { m.Parent = next.Name }, cfg.MetaTimeout); err != nil {
		// The update is queued either way; it only had not reached every
		// peer yet. Peers learn it from the next gossip or state sync.
		cfg.Logger.Debug("new leaf parent still spreading", "parent", next.Name, "err", err)
	}
}

// validParent reports whether the current parent may stay: alive and
// ranked above self. An invalid one is left at once.
func validParent(self tree.Node, cur string, view []tree.Candidate) bool {
	for _, c := range view {
		if c.Name == cur {
			return c.Alive && tree.Less(c.Node, self)
		}
	}
	return false
}

// nearEnough reports whether the best candidate is not clearly nearer
// than the current parent (switchGain and switchMin).
func nearEnough(self tree.Node, cur, best string, view []tree.Candidate) bool {
	var c, b *tree.Candidate
	for i := range view {
		switch view[i].Name {
		case cur:
			c = &view[i]
		case best:
			b = &view[i]
		}
	}
	if c == nil || b == nil {
		return false
	}
	cRTT, bRTT := c.RTT, b.RTT
	if !c.HasRTT || !b.HasRTT {
		// A measured RTT and a modelled one are not comparable (on
		// loopback every measured RTT is ~0), and coordinates arrive
		// member by member after startup: comparing the two would move
		// the parent with each arrival. Compare both by the regions
		// model instead, which does not wobble.
		var errC, errB error
		cRTT, errC = regions.RTT(self.Region, c.Region)
		bRTT, errB = regions.RTT(self.Region, b.Region)
		if errC != nil || errB != nil {
			return false
		}
	}
	return float64(bRTT) > switchGain*float64(cRTT) || cRTT-bRTT < switchMin
}
