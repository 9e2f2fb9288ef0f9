package node

import (
	"context"
	"time"

	"github.com/relaymesh/relaymesh/mesh/leaf"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/mesh/tree"
)

// treeRecheck is how often the parent choice is revisited without a
// membership change, so that RTT estimates that settle after startup can
// move the node to a nearer parent.
const treeRecheck = 5 * time.Second

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

// runTree keeps the node's NATS leaf parent equal to the nearest live node
// of higher rank (mesh/tree), re-picking on every membership change.
func (n *Node) runTree(ctx context.Context) {
	defer n.wg.Done()
	changes, unsubscribe := n.cluster.Subscribe()
	defer unsubscribe()
	tick := time.NewTicker(treeRecheck)
	defer tick.Stop()
	for {
		n.repickParent()
		select {
		case <-changes:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (n *Node) repickParent() {
	self := tree.Node{Name: n.cfg.Node.Name, Region: n.cfg.Node.Region}
	members := n.cluster.Members()
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
	best, ok := tree.Parent(self, view)
	cur := n.leaf.Parent()
	if ok && cur.Name != "" && cur.Name != best.Name && n.keepParent(self, cur.Name, best.Name, view) {
		best = tree.Node{Name: cur.Name, Region: byName[cur.Name].Meta.Region}
	}
	next := leaf.Parent{}
	if ok {
		next = leaf.Parent{Name: best.Name, Addr: byName[best.Name].Meta.Leaf}
	}
	if next == cur {
		return
	}
	n.leaf.SetParent(next)
	if err := n.cluster.UpdateMeta(func(m *membership.Meta) { m.Parent = next.Name }, n.cfg.Mesh.LeaveTimeout); err != nil {
		// The update is queued either way; it only had not reached every
		// peer yet. Peers learn it from the next gossip or state sync.
		n.log.Debug("new leaf parent still spreading", "parent", next.Name, "err", err)
	}
}

// keepParent reports whether the current parent is still a valid choice
// (alive, higher rank) and not clearly farther than the best candidate.
func (n *Node) keepParent(self tree.Node, cur, best string, view []tree.Candidate) bool {
	var c, b *tree.Candidate
	for i := range view {
		switch view[i].Name {
		case cur:
			c = &view[i]
		case best:
			b = &view[i]
		}
	}
	if c == nil || b == nil || !c.Alive || !tree.Less(c.Node, self) {
		return false
	}
	if !c.HasRTT || !b.HasRTT {
		return false
	}
	return float64(b.RTT) > switchGain*float64(c.RTT) || c.RTT-b.RTT < switchMin
}
