package treeloop

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/mesh/leaf"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/mesh/tree"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

// fakeMembers is a membership view that the test sets; set notifies the
// subscribers as the cluster does (coalesced), setQuietly does not.
type fakeMembers struct {
	mu      sync.Mutex
	members []membership.Member
	subs    map[chan struct{}]struct{}
}

func (f *fakeMembers) Members() []membership.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.members)
}

func (f *fakeMembers) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = make(map[chan struct{}]struct{})
	}
	f.subs[ch] = struct{}{}
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, ch)
	}
}

func (f *fakeMembers) setQuietly(ms ...membership.Member) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members = ms
}

func (f *fakeMembers) set(ms ...membership.Member) {
	f.setQuietly(ms...)
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

type fakeLeaf struct {
	mu     sync.Mutex
	parent leaf.Parent
}

func (f *fakeLeaf) Parent() leaf.Parent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parent
}

func (f *fakeLeaf) SetParent(p leaf.Parent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parent = p
}

// fakeMeta records every parent the loop gossiped.
type fakeMeta struct {
	mu      sync.Mutex
	meta    membership.Meta
	updates []string
}

func (f *fakeMeta) UpdateMeta(update func(*membership.Meta), _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	update(&f.meta)
	f.updates = append(f.updates, f.meta.Parent)
	return nil
}

func (f *fakeMeta) gossiped() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.updates)
}

// member is an alive member; rtt 0 means no coordinate estimate.
func member(name, region string, rtt time.Duration) membership.Member {
	return membership.Member{Name: name, State: membership.StateAlive, RTT: rtt, HasRTT: rtt > 0,
		Meta: membership.Meta{Name: name, Region: region, Leaf: name + ":7946", Mesh: name + ":7946"}}
}

func with(m membership.Member, f func(*membership.Member)) membership.Member {
	f(&m)
	return m
}

// frankfurt-1 ranks below every other region, so every member of the
// tests is a candidate parent.
var self = tree.Node{Name: "frankfurt-1", Region: "frankfurt"}

type fakes struct {
	members *fakeMembers
	leaf    *fakeLeaf
	meta    *fakeMeta
	clock   *fakeClock
	loop    *Loop
}

// fakeClock is the real clock plus an offset a test moves forward.
type fakeClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// testHold is the fakes' SwitchHold.
const testHold = time.Minute

func newFakes(t *testing.T, recheck time.Duration) fakes {
	t.Helper()
	f := fakes{members: &fakeMembers{}, leaf: &fakeLeaf{}, meta: &fakeMeta{}, clock: &fakeClock{}}
	var err error
	f.loop, err = New(Config{Self: self, Members: f.members, Leaf: f.leaf, Meta: f.meta, Recheck: recheck,
		SwitchHold: testHold, Now: f.clock.now, Logger: nodetest.Logger(t, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs the loop until the test ends, and waits for it to return.
func (f fakes) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.loop.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func (f fakes) waitParent(t *testing.T, want string) {
	t.Helper()
	nodetest.WaitFor(t, 5*time.Second, "parent "+want, func() bool { return f.leaf.Parent().Name == want })
}

func TestNewRefusesMissingParts(t *testing.T) {
	if _, err := New(Config{Self: self, Members: &fakeMembers{}, Leaf: &fakeLeaf{}}); err == nil {
		t.Fatal("New without Meta succeeded")
	}
}

// TestSwitchHysteresis: a live parent is left only for a candidate that
// is both 20 % and 5 ms nearer (by their estimates, or by the regions
// model when one of them has none), and only once it has been so for the
// switch hold; a parent that is no longer valid is left at once for the
// best candidate whatever its distance.
func TestSwitchHysteresis(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name     string
		cur      membership.Member // the parent before
		best     membership.Member // the nearer candidate that appears
		wantKeep bool
		now      bool // a switch happens at once, without the hold
	}{
		{"under 20 % nearer", member("virginia-1", "virginia", 100*ms), member("tokyo-1", "tokyo", 85*ms), true, false},
		{"just under the gain", member("virginia-1", "virginia", 100*ms), member("tokyo-1", "tokyo", 81*ms), true, false},
		{"over 20 % nearer", member("virginia-1", "virginia", 100*ms), member("tokyo-1", "tokyo", 79*ms), false, false},
		{"75 % nearer but under 5 ms", member("virginia-1", "virginia", 4*ms), member("tokyo-1", "tokyo", 1*ms), true, false},
		// Without an estimate for one side, both are compared by the
		// regions model (from frankfurt: virginia 90.6 ms, tokyo 225.1 ms).
		{"no RTT for the parent, the model says it is nearer", member("virginia-1", "virginia", 0), member("tokyo-1", "tokyo", 1*ms), true, false},
		// Measured today the parent looks far, but the candidate has no
		// estimate to compare with yet: wait for one.
		{"no RTT for the candidate, the model says the parent is nearer", member("virginia-1", "virginia", 300*ms), member("tokyo-1", "tokyo", 0), true, false},
		{"parent leaving", with(member("virginia-1", "virginia", 50*ms), func(m *membership.Member) { m.Meta.Leaving = true }),
			member("tokyo-1", "tokyo", 200*ms), false, true},
		{"parent dead", with(member("virginia-1", "virginia", 50*ms), func(m *membership.Member) { m.State = membership.StateDead }),
			member("tokyo-1", "tokyo", 200*ms), false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes(t, time.Hour)
			before := c.cur
			before.State, before.Meta.Leaving = membership.StateAlive, false
			f.members.set(before)
			f.loop.repick()
			if got := f.leaf.Parent(); got != (leaf.Parent{Name: "virginia-1", Addr: "virginia-1:7946"}) {
				t.Fatalf("first parent %+v, want virginia-1", got)
			}
			f.members.set(c.cur, c.best)
			f.loop.repick()
			if !c.now {
				if got := f.leaf.Parent().Name; got != "virginia-1" {
					t.Fatalf("parent %s before the switch hold, want virginia-1 still", got)
				}
				f.clock.advance(testHold - time.Second)
				f.loop.repick()
				if got := f.leaf.Parent().Name; got != "virginia-1" {
					t.Fatalf("parent %s a second before the hold ends, want virginia-1 still", got)
				}
				f.clock.advance(time.Second)
				f.loop.repick()
			}
			want, gossiped := "tokyo-1", []string{"virginia-1", "tokyo-1"}
			if c.wantKeep {
				want, gossiped = "virginia-1", []string{"virginia-1"}
			}
			if got := f.leaf.Parent().Name; got != want {
				t.Errorf("parent %s, want %s", got, want)
			}
			if got := f.meta.gossiped(); !slices.Equal(got, gossiped) {
				t.Errorf("gossiped parents %q, want %q", got, gossiped)
			}
		})
	}
}

// TestRepicksOnMembershipChange drives the loop through membership
// changes alone (no recheck): the nearest live higher-ranked member is the
// parent, a dead or leaving one is replaced, and with nobody above the
// node is a root and gossips so.
func TestRepicksOnMembershipChange(t *testing.T) {
	f := newFakes(t, time.Hour)
	ms := time.Millisecond
	tokyo, virginia, seoul := member("tokyo-1", "tokyo", 240*ms), member("virginia-1", "virginia", 90*ms), member("seoul-1", "seoul", 230*ms)
	f.members.set(tokyo, virginia, seoul)
	f.run(t)
	f.waitParent(t, "virginia-1")
	if got := f.leaf.Parent().Addr; got != "virginia-1:7946" {
		t.Fatalf("parent address %q, want the member's leaf address", got)
	}

	f.members.set(tokyo, with(virginia, func(m *membership.Member) { m.State = membership.StateDead }), seoul)
	f.waitParent(t, "seoul-1")

	f.members.set(tokyo, with(seoul, func(m *membership.Member) { m.Meta.Leaving = true }))
	f.waitParent(t, "tokyo-1")

	f.members.set(with(tokyo, func(m *membership.Member) { m.MetaError = "bad metadata" }),
		member("frankfurt-2", "frankfurt", ms)) // ranks below frankfurt-1: not a parent
	f.waitParent(t, "")
	nodetest.WaitFor(t, 5*time.Second, "the root gossiped", func() bool {
		return slices.Equal(f.meta.gossiped(), []string{"virginia-1", "seoul-1", "tokyo-1", ""})
	})
}

// TestRechecksWithoutAChange: RTT estimates move without a membership
// event; the rechecks move the node to the clearly nearer parent once it
// has been nearer for the switch hold.
func TestRechecksWithoutAChange(t *testing.T) {
	f := newFakes(t, 10*time.Millisecond)
	ms := time.Millisecond
	f.members.set(member("tokyo-1", "tokyo", 200*ms), member("virginia-1", "virginia", 100*ms))
	f.run(t)
	f.waitParent(t, "virginia-1")
	f.members.setQuietly(member("tokyo-1", "tokyo", 50*ms), member("virginia-1", "virginia", 100*ms))
	// Time passes: each poll moves the clock a quarter of the hold on.
	nodetest.WaitFor(t, 5*time.Second, "parent tokyo-1", func() bool {
		f.clock.advance(testHold / 4)
		return f.leaf.Parent().Name == "tokyo-1"
	})
}

// TestWobbleDoesNotMoveTheParent: a candidate that is clearly nearer for
// less than the switch hold, again and again, never takes over: each
// time it falls back the hold starts over.
func TestWobbleDoesNotMoveTheParent(t *testing.T) {
	f := newFakes(t, time.Hour)
	ms := time.Millisecond
	far, near := member("tokyo-1", "tokyo", 200*ms), member("tokyo-1", "tokyo", 20*ms)
	virginia := member("virginia-1", "virginia", 100*ms)
	f.members.set(far, virginia)
	f.loop.repick()
	for range 5 {
		f.members.set(near, virginia) // a starved process answers late, then on time
		f.loop.repick()
		f.clock.advance(testHold / 2)
		f.loop.repick()
		f.members.set(far, virginia)
		f.loop.repick()
		f.clock.advance(testHold / 2)
	}
	if got := f.leaf.Parent().Name; got != "virginia-1" {
		t.Fatalf("parent %s after short wobbles, want virginia-1", got)
	}
	if got := f.meta.gossiped(); !slices.Equal(got, []string{"virginia-1"}) {
		t.Fatalf("gossiped parents %q, want only virginia-1", got)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
