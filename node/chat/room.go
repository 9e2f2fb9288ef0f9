package chat

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// entry is a message as this node holds it for replay: its id and its
// frame as fans get it (WebSocket header included). Holding the encoded
// frame, not the decoded message, makes a join's replay a copy instead of
// an encode per message, and gives the garbage collector one pointer-free
// block per message to skip instead of a struct of strings to scan
// (thousands of rooms of recovery_window messages each add up: see
// docs/chat-design.md).
type entry struct {
	id    wire.ID
	frame []byte
}

// recent is a room's latest messages, oldest first: a ring of at most
// limit entries, so adding to a full one overwrites the oldest instead of
// moving the others (a copy of the whole window per message), and the
// oldest can be dropped early when the node is over its memory budget.
type recent struct {
	buf   []entry // grows up to limit
	start int     // index of the oldest entry
	n     int
	limit int
}

func (q *recent) len() int { return q.n }

// at returns the i-th oldest entry.
func (q *recent) at(i int) entry { return q.buf[(q.start+i)%len(q.buf)] }

// push appends e, returning the entry it pushed out, if any.
func (q *recent) push(e entry) (old entry, evicted bool) {
	switch {
	case q.n == q.limit:
		old = q.buf[q.start]
		q.buf[q.start] = e
		q.start = (q.start + 1) % len(q.buf)
		return old, true
	case q.n < len(q.buf):
		q.buf[(q.start+q.n)%len(q.buf)] = e
	default: // full below the limit: grow, oldest first again
		grown := make([]entry, 0, min(q.limit, 2*len(q.buf)+1))
		for i := range q.n {
			grown = append(grown, q.at(i))
		}
		q.buf, q.start = grown[:cap(grown)], 0
		q.buf[q.n] = e
	}
	q.n++
	return entry{}, false
}

// popOldest removes and returns the oldest entry; q must not be empty.
func (q *recent) popOldest() entry {
	old := q.buf[q.start]
	q.buf[q.start] = entry{}
	q.start = (q.start + 1) % len(q.buf)
	q.n--
	return old
}

// heldMemory is the node's budget for the frames its rooms hold, shared
// by every room: rooms times recovery_window alone has no bound, and any
// fan may open a room. While the total is over budget, a room that gets a
// message and holds more than its fair share (budget / rooms) drops its
// oldest ones first. Rooms that get no messages are not trimmed, so the
// total stays under twice the budget: each room holds at most what it held
// when the budget was reached, or its share.
type heldMemory struct {
	budget int64 // bytes; 0: no budget
	bytes  atomic.Int64
	// rooms is len(hub.rooms), kept here because rooms read it under
	// their own lock, which must not take the hub's (leave takes the
	// hub's, then the room's).
	rooms atomic.Int64
	trims atomic.Uint64 // messages dropped early for the budget
}

func (m *heldMemory) overShare(roomBytes int64) bool {
	if m.budget <= 0 || m.bytes.Load() <= m.budget {
		return false
	}
	return roomBytes > m.budget/max(1, m.rooms.Load())
}

// outgoing is a frame waiting in the room's window, encoded once for every
// fan: a message with its id, or (zero id) a frame for every fan, such as
// presence.
type outgoing struct {
	id    wire.ID
	frame []byte
}

// room is one chat room on this node: the recent messages (for join
// history and reconnect recovery), the fans connected here, and the
// messages waiting for the room's next write to its fans.
type room struct {
	name string

	mu    sync.Mutex
	ring  recent // at most window entries
	bytes int64  // of the frames in ring
	held  *heldMemory
	// evicted is, per origin, the highest seq dropped from ring: a fan whose
	// since mark is below it may have missed messages this node no longer
	// holds in memory.
	evicted map[string]uint64
	fans    map[*session]struct{}
	dropped bool // removed from the hub: callers get the room again

	// Batching. While a room's messages come faster than one per
	// batchWindow (gap is an average of the last few gaps), each fan gets
	// at most one write per batchWindow, carrying every message since the
	// last one; a quiet room's messages go out at once.
	batchWindow time.Duration
	waiting     []outgoing // not yet written to the fans
	lastFlush   time.Time
	lastMsg     time.Time
	gap         time.Duration // moving average of the time between messages
	timer       *time.Timer   // flushes waiting at lastFlush+batchWindow
	timerGen    uint64        // which timer is current: a stopped one may still run
	buf         []byte        // the frames of one flush, reused
	flushes     int           // writes to the fans so far (tests)
}

func newRoom(name string, window int, batchWindow time.Duration, held *heldMemory) *room {
	return &room{name: name, ring: recent{limit: window}, held: held, batchWindow: batchWindow,
		evicted: make(map[string]uint64), fans: make(map[*session]struct{})}
}

// addLocked appends a message to the recent ones. Called by the hub only,
// in delivery order.
func (r *room) addLocked(e entry) {
	r.bytes += int64(len(e.frame))
	r.held.bytes.Add(int64(len(e.frame)))
	if old, ok := r.ring.push(e); ok {
		r.forgetLocked(old)
	}
	for r.ring.len() > 1 && r.held.overShare(r.bytes) {
		r.forgetLocked(r.ring.popOldest())
		r.held.trims.Add(1)
	}
}

// forgetLocked accounts for an entry no longer held; a fan whose marks
// are below it is told its resume is not complete.
func (r *room) forgetLocked(old entry) {
	r.bytes -= int64(len(old.frame))
	r.held.bytes.Add(-int64(len(old.frame)))
	if old.id.Seq > r.evicted[old.id.Origin] {
		r.evicted[old.id.Origin] = old.id.Seq
	}
}

// deliver records a message and sends it to the room's fans, now or at the
// end of the current window. It reports false, doing nothing, if the room
// was dropped from the hub meanwhile.
func (r *room) deliver(e entry, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dropped {
		return false
	}
	r.addLocked(e)
	r.waiting = append(r.waiting, outgoing{id: e.id, frame: e.frame})
	if r.batchWindow <= 0 {
		r.flushLocked(now)
		return true
	}
	if r.lastMsg.IsZero() {
		r.gap = 2 * r.batchWindow // a new room starts quiet
	} else {
		r.gap = (4*r.gap + now.Sub(r.lastMsg)) / 5
	}
	r.lastMsg = now
	busy := r.gap < r.batchWindow
	if !busy || now.Sub(r.lastFlush) >= r.batchWindow {
		r.flushLocked(now)
		return true
	}
	r.armTimerLocked(now)
	return true
}

// armTimerLocked makes sure a flush is due at the end of the window.
func (r *room) armTimerLocked(now time.Time) {
	if r.timer != nil {
		return
	}
	r.timerGen++
	gen := r.timerGen
	r.timer = time.AfterFunc(r.lastFlush.Add(r.batchWindow).Sub(now), func() { r.flushTimer(gen) })
}

// broadcast sends a frame that is not a message (presence) to every fan,
// in line with the messages: in a busy room it joins the window's write
// instead of adding one of its own.
func (r *room) broadcast(frame []byte, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.fans) == 0 {
		return
	}
	r.waiting = append(r.waiting, outgoing{frame: frame})
	busy := r.batchWindow > 0 && r.gap < r.batchWindow && !r.lastMsg.IsZero()
	if !busy || now.Sub(r.lastFlush) >= r.batchWindow {
		r.flushLocked(now)
		return
	}
	r.armTimerLocked(now)
}

// flushTimer is the window's end. A timer stopped after it fired still
// runs: gen tells it apart from the current one, which alone may flush (a
// stale one flushing would make two writes in one window).
func (r *room) flushTimer(gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen != r.timerGen || r.timer == nil {
		return
	}
	r.timer = nil
	r.flushLocked(time.Now())
}

// stopTimer stops a pending window flush (the hub is stopping, or the room
// is being dropped).
func (r *room) stopTimer() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
		r.timerGen++
	}
}

// flushLocked writes the waiting messages to every fan: the same bytes to
// each fan that has none of them yet (all of them, except right after a
// resume), in one write.
func (r *room) flushLocked(now time.Time) {
	if len(r.waiting) == 0 {
		return
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
		r.timerGen++
	}
	r.lastFlush = now
	r.flushes++
	all := r.waiting[0].frame
	if len(r.waiting) > 1 {
		r.buf = r.buf[:0]
		for _, o := range r.waiting {
			r.buf = append(r.buf, o.frame...)
		}
		all = r.buf
	}
	for s := range r.fans {
		s.deliverLocked(r, r.waiting, all)
	}
	clear(r.waiting)
	r.waiting = r.waiting[:0]
}

// replayLocked returns what a joining fan should get first, as frames:
// without a since mark, the last n messages; with one, every held message
// the fan has not seen, and whether that is provably everything it missed.
func (r *room) replayLocked(since wire.Since, n int) (frames []byte, count int, complete bool) {
	if len(since) == 0 {
		for i := max(0, r.ring.len()-n); i < r.ring.len(); i++ {
			frames = append(frames, r.ring.at(i).frame...)
			count++
		}
		return frames, count, true
	}
	complete = true
	for origin, seq := range r.evicted {
		if seen, ok := since[origin]; ok && seq > seen {
			complete = false // dropped messages of this origin the fan never saw
		}
	}
	for i := range r.ring.len() {
		if e := r.ring.at(i); !since.Seen(e.id) {
			frames = append(frames, e.frame...)
			count++
		}
	}
	return frames, count, complete
}
