package tree

import (
	"math"
	"time"

	"github.com/relaymesh/relaymesh/regions"
)

// Candidate is one member as a node currently sees it. Views are allowed to be
// stale and to disagree with each other; Parent's guarantee does not depend on
// them being right.
type Candidate struct {
	Node
	Alive  bool          // the viewer believes the member is up
	RTT    time.Duration // estimated round trip from the viewer; used when HasRTT
	HasRTT bool          // RTT comes from network coordinates (0 is a valid estimate)
}

// unknownRTT is the distance to a candidate with no coordinate estimate and no
// model entry (an unknown region on either side): farther than anything real,
// so such a candidate is chosen only when nothing measurable is above us, and
// then by rank.
const unknownRTT = time.Duration(math.MaxInt64)

// Parent returns the leaf-node parent self should connect to given its view:
// the nearest live candidate ranking strictly higher than self (Less), by the
// candidate's RTT when HasRTT is set and the regions model otherwise, ties
// going to the higher rank. It returns false when no live candidate ranks
// higher: self is a root in this view. Candidates named like self and dead
// candidates are ignored. The result does not depend on the view's order.
//
// Distances only choose among nodes above self, so wrong or missing RTTs can
// make a poor tree but never a loop.
func Parent(self Node, view []Candidate) (Node, bool) {
	var (
		best    Node
		bestRTT time.Duration
		found   bool
	)
	for _, c := range view {
		// A candidate with self's name is self, whatever region a stale
		// entry claims; choosing it would be a self-loop.
		if !c.Alive || c.Name == self.Name || !Less(c.Node, self) {
			continue
		}
		d := distance(self, c)
		if !found || d < bestRTT || (d == bestRTT && Less(c.Node, best)) {
			best, bestRTT, found = c.Node, d, true
		}
	}
	return best, found
}

// distance is the round trip from self to c: the coordinate estimate when
// there is one, since it reflects today's network, else the regions model.
func distance(self Node, c Candidate) time.Duration {
	if c.HasRTT {
		return c.RTT
	}
	d, err := regions.RTT(self.Region, c.Region)
	if err != nil {
		return unknownRTT
	}
	return d
}
