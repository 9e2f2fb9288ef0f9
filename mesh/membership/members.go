package membership

import (
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// State is a member's health as this node sees it.
type State string

const (
	StateAlive State = "alive" // answering probes
	StateDead  State = "dead"  // failed: declared dead without leaving
	StateLeft  State = "left"  // left gracefully
)

// Member is one node of the cluster as seen from this node.
type Member struct {
	Name  string
	Addr  string // gossip (QUIC) address, host:port
	Meta  Meta
	State State
	Since time.Time // when State last changed
	Self  bool
	// MetaError says why the member's metadata was rejected; such a member
	// is listed but never used for routing.
	MetaError string
	// RTT is the round trip estimated from network coordinates and
	// Measured the last probe RTT; both zero when unknown.
	RTT, Measured time.Duration
	HasRTT        bool
}

// Which members count, in one place. Callers disagree on purpose about a
// member that is leaving (it set Meta.Leaving and is about to go) or has
// failed; each predicate names one answer and who needs it.

// Live reports whether m may be given new work: alive, with metadata we
// accept, and not leaving. The edge directory, the HLS fill owners and
// the choice of leaf-tree parent use it: a leaving node is draining, and
// work sent there would move again a moment later.
func (m Member) Live() bool { return m.Up() && !m.Meta.Leaving }

// Up reports whether m is alive with metadata we accept, leaving or not:
// it still runs and still holds what it had. Playlist announcements go to
// such members (a leaving node still serves its players until it is gone)
// and /v1/mesh draws their tree edges (a leaving node's leaf link is up
// until it is gone).
func (m Member) Up() bool { return m.State == StateAlive && m.MetaError == "" }

// Kept reports whether m stays one of chat's sources: it has not left and
// its metadata is accepted. A failed member is kept, so that its messages
// flow again when it returns; one that left is dropped.
func (m Member) Kept() bool { return m.State != StateLeft && m.MetaError == "" }

// forgetAfter is how long dead and left members stay listed, so operators
// see recent failures without a scaled-in node lingering forever.
const forgetAfter = time.Hour

// table tracks members from memberlist's events. memberlist calls the
// Notify methods with its own locks held, so they touch only the table and
// never call back into memberlist.
type table struct {
	self    string
	log     *slog.Logger
	observe func(Member)

	mu      sync.Mutex
	members map[string]*Member
	subs    map[chan struct{}]struct{} // each capacity 1: a coalesced "something changed"

	joins, leaves, fails, updates atomic.Uint64
}

func newTable(self string, log *slog.Logger, observe func(Member)) *table {
	return &table{
		self:    self,
		log:     log,
		observe: observe,
		members: make(map[string]*Member),
		subs:    make(map[chan struct{}]struct{}),
	}
}

func (t *table) set(n *memberlist.Node, state State) {
	m := Member{Name: n.Name, Addr: n.Address(), State: state, Since: time.Now(), Self: n.Name == t.self}
	meta, err := DecodeMeta(n.Meta)
	if err == nil && meta.Name != n.Name {
		err = errNameMismatch(meta.Name, n.Name)
	}
	if err != nil {
		m.MetaError = err.Error()
		t.log.Warn("member has invalid metadata", "member", n.Name, "err", err)
	} else {
		m.Meta = meta
	}
	t.mu.Lock()
	if old, ok := t.members[n.Name]; ok && old.State == state {
		m.Since = old.Since
	}
	t.members[n.Name] = &m
	for ch := range t.subs {
		select {
		case ch <- struct{}{}:
		default: // already pending: notifications coalesce
		}
	}
	t.mu.Unlock()
	if t.observe != nil {
		t.observe(m)
	}
}

// subscribe returns a channel that receives a value after changes, and a
// function that ends the subscription.
func (t *table) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	t.mu.Lock()
	t.subs[ch] = struct{}{}
	t.mu.Unlock()
	return ch, func() {
		t.mu.Lock()
		delete(t.subs, ch)
		t.mu.Unlock()
	}
}

func (t *table) NotifyJoin(n *memberlist.Node) {
	t.joins.Add(1)
	t.log.Info("member joined", "member", n.Name, "addr", n.Address())
	t.set(n, StateAlive)
}

func (t *table) NotifyLeave(n *memberlist.Node) {
	if meta, err := DecodeMeta(n.Meta); err == nil && meta.Leaving {
		t.leaves.Add(1)
		t.log.Info("member left", "member", n.Name)
		t.set(n, StateLeft)
		return
	}
	t.fails.Add(1)
	t.log.Warn("member failed", "member", n.Name)
	t.set(n, StateDead)
}

func (t *table) NotifyUpdate(n *memberlist.Node) {
	t.updates.Add(1)
	t.log.Info("member updated", "member", n.Name)
	t.set(n, StateAlive)
}

// snapshot returns the members sorted by name. memberlist does not
// expose suspicion, so a suspected member shows as alive until it is
// declared dead or refutes.
func (t *table) snapshot() []Member {
	now := time.Now()
	t.mu.Lock()
	out := make([]Member, 0, len(t.members))
	for name, m := range t.members {
		if (m.State == StateDead || m.State == StateLeft) && now.Sub(m.Since) > forgetAfter {
			delete(t.members, name)
			continue
		}
		out = append(out, *m)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
