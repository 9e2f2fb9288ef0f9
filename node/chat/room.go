package chat

import (
	"sync"

	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// entry is a message as this node holds it for replay.
type entry struct {
	id  wire.ID
	msg wire.Message
}

// room is one chat room on this node: the recent messages (for join
// history and reconnect recovery) and the fans connected here.
type room struct {
	name string

	mu   sync.Mutex
	ring []entry // oldest first, at most window entries
	// evicted is, per origin, the highest seq dropped from ring: a fan whose
	// since mark is below it may have missed messages this node no longer
	// holds in memory.
	evicted map[string]uint64
	window  int
	fans    map[*session]struct{}
}

func newRoom(name string, window int) *room {
	return &room{name: name, window: window, evicted: make(map[string]uint64), fans: make(map[*session]struct{})}
}

// add appends a message and returns the fans to deliver it to. Called by
// the hub only, in ROOMS order.
func (r *room) addLocked(e entry) {
	if len(r.ring) == r.window {
		old := r.ring[0]
		if old.id.Seq > r.evicted[old.id.Origin] {
			r.evicted[old.id.Origin] = old.id.Seq
		}
		copy(r.ring, r.ring[1:])
		r.ring = r.ring[:len(r.ring)-1]
	}
	r.ring = append(r.ring, e)
}

// replayLocked returns what a joining fan should get first: without a
// since mark, the last n messages; with one, every held message the fan
// has not seen, and whether that is provably everything it missed.
func (r *room) replayLocked(since wire.Since, n int) (msgs []wire.Message, complete bool) {
	if len(since) == 0 {
		start := max(0, len(r.ring)-n)
		for _, e := range r.ring[start:] {
			msgs = append(msgs, e.msg)
		}
		return msgs, true
	}
	complete = true
	for origin, seq := range r.evicted {
		if seen, ok := since[origin]; ok && seq > seen {
			complete = false // dropped messages of this origin the fan never saw
		}
	}
	for _, e := range r.ring {
		if !since.Seen(e.id) {
			msgs = append(msgs, e.msg)
		}
	}
	return msgs, complete
}
