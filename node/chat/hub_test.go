package chat

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

func msg(origin string, seq uint64, room string) wire.Message {
	return wire.Message{ID: wire.ID{Origin: origin, Seq: seq}, Room: room, User: "u", Text: fmt.Sprint(seq), TS: time.Unix(0, 0).UTC()}
}

// entryOf is m as the hub holds it in a room.
func entryOf(t *testing.T, m wire.Message) entry {
	t.Helper()
	payload, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return entry{id: m.ID, frame: serverFrame(payload)}
}

// splitFrames decodes concatenated server frames into their messages.
func splitFrames(t *testing.T, b []byte) []wire.Message {
	t.Helper()
	var out []wire.Message
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		h, err := ws.ReadHeader(r)
		if err != nil {
			t.Fatalf("frames: %v", err)
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatalf("frames: %v", err)
		}
		f, err := wire.DecodeServerFrame(payload)
		if err != nil {
			t.Fatalf("frame %q: %v", payload, err)
		}
		m, ok := f.(wire.Message)
		if !ok {
			t.Fatalf("frame %q is not a message", payload)
		}
		out = append(out, m)
	}
	return out
}

func ringIDs(h *hub, room string) []string {
	var out []string
	for _, m := range h.history(room, 1000) {
		out = append(out, m.ID.String())
	}
	return out
}

// TestHubDeliversEachMessageOnceInOriginOrder drives both paths in the
// orders they can race in: whichever brings an origin's next message first
// delivers it, the other copy is dropped, and a live message past a gap
// waits for the durable path instead of jumping it.
func TestHubDeliversEachMessageOnceInOriginOrder(t *testing.T) {
	h := newHub(slog.New(slog.DiscardHandler), 100, 0, 0)
	h.offerLive(msg("a", 1, "r"))    // first message of a: live may deliver it
	h.offerLive(msg("a", 3, "r"))    // 2 was lost on the live path
	h.offerDurable(msg("a", 1, "r")) // duplicate
	h.offerDurable(msg("a", 2, "r")) // the repair
	h.offerLive(msg("a", 4, "r"))    // also skipped: durable has not brought 3 yet
	h.offerDurable(msg("a", 3, "r"))
	h.offerDurable(msg("a", 4, "r"))
	h.offerLive(msg("a", 5, "r")) // in step again: live delivers
	h.offerDurable(msg("a", 5, "r"))
	h.offerLive(msg("b", 7, "r")) // b unknown and not its first: wait for ROOMS
	h.offerDurable(msg("b", 7, "r"))
	h.offerLive(msg("b", 8, "r"))

	want := []string{"a.1", "a.2", "a.3", "a.4", "a.5", "b.7", "b.8"}
	if got := ringIDs(h, "r"); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if got := h.delivered.Load(); got != uint64(len(want)) {
		t.Errorf("delivered counter %d, want %d", got, len(want))
	}
	if got := h.liveFirst.Load(); got != 3 { // a.1, a.5, b.8
		t.Errorf("live first %d, want 3", got)
	}
	if got := h.liveSkipped.Load(); got != 2 { // a.3, a.4
		t.Errorf("live out of order %d, want 2", got)
	}
}

// TestForgedLiveIDDoesNotMuteOrigin: a live message claiming a sequence far
// ahead (seoul-1.999999999) is not delivered and does not move the mark, so
// the origin's real next message still gets through.
func TestForgedLiveIDDoesNotMuteOrigin(t *testing.T) {
	h := newHub(slog.New(slog.DiscardHandler), 100, 0, 0)
	h.offerDurable(msg("seoul-1", 1, "r"))
	h.offerLive(msg("seoul-1", 999999999, "r"))
	h.offerLive(msg("seoul-1", 2, "r"))
	h.offerDurable(msg("seoul-1", 3, "r"))
	if got, want := ringIDs(h, "r"), []string{"seoul-1.1", "seoul-1.2", "seoul-1.3"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

func TestSourceSeq(t *testing.T) {
	for _, c := range []struct {
		hdr string
		seq uint64
		ok  bool
	}{
		{"ORIGIN 42 > > chat.o.a.r", 42, true},
		{"ORIGIN:abcd 7 > >", 7, true},
		{"ORIGIN 1", 1, true},
		{"", 0, false},
		{"ORIGIN", 0, false},
		{"ORIGIN x > >", 0, false},
		{"ORIGIN 0 > >", 0, false},
		{"ORIGIN -3 > >", 0, false},
		{"ORIGIN 99999999999999999999999 > >", 0, false},
	} {
		seq, ok := sourceSeq(c.hdr)
		if seq != c.seq || ok != c.ok {
			t.Errorf("sourceSeq(%q) = %d, %v; want %d, %v", c.hdr, seq, ok, c.seq, c.ok)
		}
	}
}

func TestLiveSubject(t *testing.T) {
	if s := liveSubject("seoul-1", "lobby"); s != "chat.live.seoul-1.lobby" {
		t.Fatalf("liveSubject = %q", s)
	}
	for _, c := range []struct {
		subj, origin, room string
		ok                 bool
	}{
		{"chat.live.seoul-1.lobby", "seoul-1", "lobby", true},
		{"chat.live.seoul-1.lob.by", "", "", false},
		{"chat.live.seoul-1", "", "", false},
		{"chat.live..lobby", "", "", false},
		{"chat.live.seoul-1.", "", "", false},
		{"chat.o.seoul-1.lobby", "", "", false},
		{"chat.live.", "", "", false},
	} {
		o, r, ok := ofLiveSubject(c.subj)
		if o != c.origin || r != c.room || ok != c.ok {
			t.Errorf("ofLiveSubject(%q) = %q, %q, %v", c.subj, o, r, ok)
		}
	}
}

// TestRoomsAreNotCreatedByLookups: history and presence lookups of rooms
// nobody is in leave no trace, and a room a fan left without messages is
// freed (a client once grew the map to 600,000 rooms in 27 s).
func TestRoomsAreNotCreatedByLookups(t *testing.T) {
	h := newHub(slog.New(slog.DiscardHandler), 100, 0, 0)
	for i := range 1000 {
		if got := h.history(fmt.Sprintf("room-%d", i), 10); len(got) != 0 {
			t.Fatalf("history of an unknown room: %v", got)
		}
		h.sendToFans(fmt.Sprintf("room-%d", i), []byte("x"))
	}
	if n := h.roomCount(); n != 0 {
		t.Fatalf("%d rooms after lookups, want 0", n)
	}
	r := h.room("quiet")
	s := &session{room: "quiet", since: wire.Since{}}
	r.mu.Lock()
	r.fans[s] = struct{}{}
	r.mu.Unlock()
	h.leave(s)
	if n := h.roomCount(); n != 0 {
		t.Fatalf("%d rooms after the only fan left a room without messages, want 0", n)
	}
	// A room with messages stays: its history serves later joins.
	h.offerDurable(msg("a", 1, "busy"))
	if n := h.roomCount(); n != 1 {
		t.Fatalf("%d rooms after a message, want 1", n)
	}
}

// TestReplayMarks: a resume gets exactly what its marks say it lacks, per
// origin, and is told when the window no longer reaches back far enough.
func TestReplayMarks(t *testing.T) {
	r := newRoom("r", 4, 0, &heldMemory{})
	for _, m := range []wire.Message{msg("a", 1, "r"), msg("b", 1, "r"), msg("a", 2, "r"), msg("b", 2, "r"), msg("a", 3, "r")} {
		r.addLocked(entryOf(t, m)) // a.1 falls out of the window of 4
	}
	ids := func(frames []byte) []string {
		var out []string
		for _, m := range splitFrames(t, frames) {
			out = append(out, m.ID.String())
		}
		return out
	}
	for _, c := range []struct {
		name     string
		since    wire.Since
		want     []string
		complete bool
	}{
		{"join: the last n", wire.Since{}, []string{"a.2", "b.2", "a.3"}, true},
		{"resume, saw a.2 and b.1", wire.Since{"a": 2, "b": 1}, []string{"b.2", "a.3"}, true},
		{"resume, saw everything", wire.Since{"a": 3, "b": 2}, nil, true},
		{"resume from before the window", wire.Since{"a": 0, "b": 2}, []string{"a.2", "a.3"}, false},
		{"resume knowing only b", wire.Since{"b": 1}, []string{"a.2", "b.2", "a.3"}, true},
	} {
		got, n, complete := r.replayLocked(c.since, 3)
		if !slices.Equal(ids(got), c.want) || n != len(c.want) || complete != c.complete {
			t.Errorf("%s: replay %v complete=%v, want %v complete=%v", c.name, ids(got), complete, c.want, c.complete)
		}
	}
}

// TestRecentWraps: the circular buffer keeps the last limit entries in
// order however often it wraps, and reports each entry it pushes out.
func TestRecentWraps(t *testing.T) {
	q := recent{limit: 3}
	var evicted []uint64
	for seq := uint64(1); seq <= 10; seq++ {
		if old, ok := q.push(entry{id: wire.ID{Origin: "a", Seq: seq}}); ok {
			evicted = append(evicted, old.id.Seq)
		}
		var held []uint64
		for i := range q.len() {
			held = append(held, q.at(i).id.Seq)
		}
		want := []uint64{}
		for s := max(1, int(seq)-2); s <= int(seq); s++ {
			want = append(want, uint64(s))
		}
		if !slices.Equal(held, want) {
			t.Fatalf("after %d pushes: holds %v, want %v", seq, held, want)
		}
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(evicted, want) {
		t.Fatalf("evicted %v, want %v", evicted, want)
	}

	// Dropping the oldest early, then filling again, while growing and
	// after wrapping: the order holds.
	q = recent{limit: 5}
	var want []uint64
	seq := uint64(0)
	for round := range 12 {
		for range 1 + round%3 {
			seq++
			q.push(entry{id: wire.ID{Origin: "a", Seq: seq}})
			want = append(want, seq)
			if len(want) > 5 {
				want = want[1:]
			}
		}
		if round%2 == 1 && q.len() > 1 {
			if got := q.popOldest().id.Seq; got != want[0] {
				t.Fatalf("round %d: popOldest gave %d, want %d", round, got, want[0])
			}
			want = want[1:]
		}
		var held []uint64
		for i := range q.len() {
			held = append(held, q.at(i).id.Seq)
		}
		if !slices.Equal(held, want) {
			t.Fatalf("round %d: holds %v, want %v", round, held, want)
		}
	}
}

// TestRecoveryMemoryIsBounded: rooms × recovery_window has no bound of its
// own, so the node's rooms share a budget. Past it, a room that gets a
// message drops its oldest ones down to its share; the total stays under
// twice the budget, every room keeps its newest messages, and a resume
// from before what a room dropped is told it is not complete.
func TestRecoveryMemoryIsBounded(t *testing.T) {
	const budget = 64 << 10
	h := newHub(slog.New(slog.DiscardHandler), 1000, 0, budget)
	var frame int64
	for seq := uint64(1); seq <= 5000; seq++ {
		m := msg("a", seq, fmt.Sprintf("r-%d", seq%50))
		m.Text = strings.Repeat("x", 150)
		h.offerDurable(m)
		if seq == 1 {
			frame = h.held.bytes.Load()
		}
		if got := h.held.bytes.Load(); got > 2*budget {
			t.Fatalf("after %d messages in 50 rooms the rooms hold %d bytes; the budget is %d", seq, got, budget)
		}
	}
	if unbounded := 5000 * frame; unbounded <= 2*budget {
		t.Fatalf("the test's %d bytes of messages fit the budget anyway", unbounded)
	}
	if h.held.trims.Load() == 0 {
		t.Fatal("nothing dropped for the budget")
	}
	var sum int64
	for _, r := range h.allRooms() {
		r.mu.Lock()
		sum += r.bytes
		r.mu.Unlock()
	}
	if got := h.held.bytes.Load(); got != sum {
		t.Fatalf("the budget counts %d bytes held; the rooms hold %d", got, sum)
	}
	r := h.lookup("r-7")
	r.mu.Lock()
	defer r.mu.Unlock()
	if last := r.ring.at(r.ring.len() - 1).id.Seq; last != 4957 {
		t.Fatalf("room r-7's newest held message is a.%d, want a.4957", last)
	}
	if _, _, complete := r.replayLocked(wire.Since{"a": 7}, 50); complete {
		t.Fatal("a resume from a.7 is told it is complete, though the room dropped messages after it")
	}
	t.Logf("%d frames of %d bytes, budget %d: rooms hold %d bytes, %d dropped early", 5000, frame, budget, h.held.bytes.Load(), h.held.trims.Load())
}

func TestLimiter(t *testing.T) {
	l := newLimiter(5, 10)
	now := time.Unix(1000, 0)
	for i := range 10 {
		if !l.allow("192.0.2.1", now) {
			t.Fatalf("publish %d of the burst refused", i+1)
		}
	}
	if l.allow("192.0.2.1", now) {
		t.Fatal("11th publish in the same instant allowed; the burst is 10")
	}
	if !l.allow("192.0.2.2", now) {
		t.Fatal("another address shares the first one's budget")
	}
	if !l.allow("192.0.2.1", now.Add(200*time.Millisecond)) {
		t.Fatal("no token after 200 ms at 5/s")
	}
	if l.allow("192.0.2.1", now.Add(200*time.Millisecond)) {
		t.Fatal("two tokens after 200 ms at 5/s")
	}
	// Idle buckets are forgotten, so the map does not grow with every
	// address ever seen; a forgotten bucket was full anyway.
	later := now.Add(2 * idleBucket)
	l.allow("192.0.2.3", later)
	l.mu.Lock()
	n := len(l.buckets)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d buckets after the idle sweep, want 1", n)
	}
}
