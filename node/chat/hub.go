package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// hubReplay bounds how far back the hub reads ROOMS when the node starts,
// to refill the rooms' recent messages without reading 30 days of chat.
const hubReplay = 100_000

// The hub hands every message to its room on this node: into the room's
// recent messages and out to the room's fans. Messages reach it on two
// paths:
//
//   - live: every node sends each message it stored on chat.live.<origin>.<room>
//     (core NATS, not stored), and the hub subscribes to chat.live.>. Interest
//     travels along the leaf tree, so a message crosses each link once, as
//     soon as it is stored: this is how fans normally get messages.
//   - durable: the hub reads ROOMS in order. ROOMS sources every member's
//     ORIGIN stream, reliably and in each origin's order, so it holds every
//     message even when the live path lost some (core NATS drops messages
//     while the tree re-forms, or to a slow subscriber).
//
// Ids are per-origin sequence numbers without gaps, so the hub keeps, per
// origin, the next sequence it expects. A message with that sequence is
// delivered, from whichever path brings it first; a lower one was already
// delivered and is skipped; a live message with a higher one means the
// live path lost something, so it is skipped too and the durable path,
// which cannot skip, delivers everything from the gap on. Either way fans
// get each origin's messages exactly once and in order, and a message that
// the hub has not seen from ROOMS yet never moves the mark by more than
// one. The durable path alone sets the mark of an origin the hub has not
// heard of (after a restart, or for a new member), because only ROOMS knows
// where that origin's messages start.
type hub struct {
	log         *slog.Logger
	window      int           // messages per room held for recovery
	batchWindow time.Duration // see room.deliverLocked

	mu    sync.Mutex
	rooms map[string]*room
	held  heldMemory // the rooms' frames, against chat.recovery_memory

	deliverMu sync.Mutex        // serialises the two paths
	next      map[string]uint64 // per origin, the next sequence to deliver

	delivered   atomic.Uint64 // messages delivered to their room
	liveFirst   atomic.Uint64 // of them, first seen on the live path
	liveSkipped atomic.Uint64 // live messages out of order (the durable path has them)
	malformed   atomic.Uint64
	consume     jetstream.ConsumeContext
	liveSub     *nats.Subscription
}

func newHub(log *slog.Logger, window int, batchWindow time.Duration, memoryBudget int64) *hub {
	h := &hub{log: log, window: window, batchWindow: batchWindow,
		rooms: make(map[string]*room), next: make(map[string]uint64)}
	h.held.budget = memoryBudget
	return h
}

// start subscribes to the live subject and begins consuming ROOMS.
func (h *hub) start(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) error {
	var err error
	h.liveSub, err = nc.Subscribe("chat.live.>", h.handleLive)
	if err != nil {
		return fmt.Errorf("chat: live subscription: %w", err)
	}
	// A burst must not make the client drop messages: the durable path
	// would repair it, but late.
	_ = h.liveSub.SetPendingLimits(1<<20, 256<<20)

	st, err := js.Stream(ctx, roomsStream)
	if err != nil {
		h.stop()
		return fmt.Errorf("chat: %s stream: %w", roomsStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		h.stop()
		return fmt.Errorf("chat: %s stream info: %w", roomsStream, err)
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if info.State.LastSeq > hubReplay {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = info.State.LastSeq - hubReplay + 1
	}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		h.stop()
		return fmt.Errorf("chat: %s consumer: %w", roomsStream, err)
	}
	h.consume, err = cons.Consume(h.handleDurable)
	if err != nil {
		h.stop()
		return fmt.Errorf("chat: consume %s: %w", roomsStream, err)
	}
	return nil
}

func (h *hub) stop() {
	if h.liveSub != nil {
		_ = h.liveSub.Unsubscribe()
	}
	if h.consume != nil {
		h.consume.Stop()
		<-h.consume.Closed()
	}
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.stopTimer()
	}
}

// room returns the named room, creating it. Only messages and joins
// create rooms; lookups use lookup.
func (h *hub) room(name string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[name]
	if r == nil {
		r = newRoom(name, h.window, h.batchWindow, &h.held)
		h.rooms[name] = r
		h.held.rooms.Add(1)
	}
	return r
}

// lookup returns the named room, or nil if this node has neither fans
// nor messages of it.
func (h *hub) lookup(name string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[name]
}

// decode checks a message from either path against the subject it came
// on. Only nodes publish these subjects (the leaf permissions say so), so
// a bad one is a bug or a foreign writer: it is skipped, never shown.
func (h *hub) decode(subject string, data []byte, ofSubject func(string) (string, string, bool)) (wire.Message, bool) {
	origin, roomName, ok := ofSubject(subject)
	var m wire.Message
	if ok {
		ok = json.Unmarshal(data, &m) == nil
	}
	if !ok || m.ID.Valid() != nil || m.ID.Origin != origin || m.Room != roomName || wire.ValidRoom(roomName) != nil {
		h.malformed.Add(1)
		h.log.Warn("skipping malformed chat message", "subject", subject)
		return m, false
	}
	return m, true
}

func (h *hub) handleLive(msg *nats.Msg) {
	if m, ok := h.decode(msg.Subject, msg.Data, ofLiveSubject); ok {
		h.offerLive(m)
	}
}

func (h *hub) handleDurable(jm jetstream.Msg) {
	// The sequence in the origin's stream (the server writes it into the
	// source header) tells, before any decoding, whether the live path
	// delivered this message already, which it usually has.
	seq, seqOK := sourceSeq(jm.Headers().Get(streamSourceHeader))
	if origin, _, ok := roomOfSubject(jm.Subject()); ok && seqOK {
		h.deliverMu.Lock()
		next := h.next[origin]
		h.deliverMu.Unlock()
		if next != 0 && seq < next {
			return
		}
	}
	m, ok := h.decode(jm.Subject(), jm.Data(), roomOfSubject)
	if !ok {
		return
	}
	// The id inside the message must be that position: a message claiming
	// any other id is refused, so a forged one can neither pass as another
	// message nor move the origin's mark and mute it.
	if !seqOK || seq != m.ID.Seq {
		h.malformed.Add(1)
		h.log.Warn("skipping chat message whose id is not its stream position", "subject", jm.Subject(), "id", m.ID.String())
		return
	}
	h.offerDurable(m)
}

// streamSourceHeader is where JetStream records, on a sourced message,
// the source stream and the message's sequence there.
const streamSourceHeader = "Nats-Stream-Source"

// sourceSeq reads the origin stream's sequence from a sourced message's
// Nats-Stream-Source header: "<stream> <seq> <filter> <transform> ...".
func sourceSeq(hdr string) (uint64, bool) {
	_, rest, ok := strings.Cut(hdr, " ")
	if !ok {
		return 0, false
	}
	field, _, _ := strings.Cut(rest, " ")
	seq, err := strconv.ParseUint(field, 10, 64)
	if err != nil || seq == 0 {
		return 0, false
	}
	return seq, true
}

// offerLive delivers a message from the live path if it is the origin's
// next one.
func (h *hub) offerLive(m wire.Message) {
	h.deliverMu.Lock()
	defer h.deliverMu.Unlock()
	next := h.next[m.ID.Origin]
	if next == 0 && m.ID.Seq == 1 {
		next = 1 // an origin's first message: nothing can come before it
	}
	if next == 0 || m.ID.Seq != next {
		if next != 0 && m.ID.Seq > next {
			h.liveSkipped.Add(1)
		}
		return
	}
	h.liveFirst.Add(1)
	h.deliverLocked(m)
}

// offerDurable delivers a message from ROOMS unless the live path did.
func (h *hub) offerDurable(m wire.Message) {
	h.deliverMu.Lock()
	defer h.deliverMu.Unlock()
	if next := h.next[m.ID.Origin]; next != 0 && m.ID.Seq < next {
		return // delivered from the live path
	}
	// ROOMS holds each origin's messages in order and without gaps from
	// where it starts, so anything at or past the mark is the next one.
	h.deliverLocked(m)
}

// deliverLocked hands m to its room; called with deliverMu held.
func (h *hub) deliverLocked(m wire.Message) {
	h.next[m.ID.Origin] = m.ID.Seq + 1
	payload, err := wire.Encode(m)
	if err != nil {
		h.malformed.Add(1)
		return
	}
	e := entry{id: m.ID, frame: serverFrame(payload)}
	for !h.room(m.Room).deliver(e, time.Now()) {
	}
	h.delivered.Add(1)
}

// join registers s in its room and queues its replay, atomically with
// respect to deliveries, so the fan gets replay then live without a gap
// or a duplicate.
func (h *hub) join(s *session) (replayed int, complete bool) {
	r := h.room(s.room)
	r.mu.Lock()
	for r.dropped {
		r.mu.Unlock()
		r = h.room(s.room)
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	r.flushLocked(time.Now()) // what the window held goes out first, to the others
	frames, replayed, complete := r.replayLocked(s.since, s.svc.cfg.HistoryOnJoin)
	// Everything the room holds is now either sent or, for a fresh join,
	// before the fan's time: mark it all seen, and tell the fan the marks
	// (synced.since) so that a later resume does not replay old messages
	// of origins the join history did not reach back to.
	for i := range r.ring.len() {
		s.since.Advance(r.ring.at(i).id)
	}
	s.queueReplay(frames, replayed, complete)
	r.fans[s] = struct{}{}
	return replayed, complete
}

// leave removes s from its room, and the room itself once it has neither
// fans nor messages.
func (h *hub) leave(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[s.room]
	if r == nil {
		return
	}
	r.mu.Lock()
	delete(r.fans, s)
	if len(r.fans) == 0 && r.ring.len() == 0 {
		r.dropped = true
		delete(h.rooms, s.room)
		h.held.rooms.Add(-1)
	}
	r.mu.Unlock()
}

// history returns up to limit recent messages of a room, oldest first.
// The room holds them as frames; they are decoded here, outside its lock
// (an HTTP request, rare next to deliveries).
func (h *hub) history(name string, limit int) []wire.Message {
	r := h.lookup(name)
	if r == nil {
		return []wire.Message{}
	}
	r.mu.Lock()
	frames := make([][]byte, 0, min(limit, r.ring.len()))
	for i := max(0, r.ring.len()-limit); i < r.ring.len(); i++ {
		frames = append(frames, r.ring.at(i).frame)
	}
	r.mu.Unlock()
	out := make([]wire.Message, 0, len(frames))
	for _, f := range frames {
		// The frames are this node's own encoding of messages it checked.
		if m, err := wire.DecodeServerFrame(framePayload(f)); err == nil {
			if msg, ok := m.(wire.Message); ok {
				out = append(out, msg)
			}
		}
	}
	return out
}

// roomCount is the number of rooms this node holds.
func (h *hub) roomCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms)
}

// allRooms returns the rooms this node holds.
func (h *hub) allRooms() []*room {
	h.mu.Lock()
	defer h.mu.Unlock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	return rooms
}

// fanCounts returns, per room, the number of fans connected here.
func (h *hub) fanCounts() map[string]int {
	out := make(map[string]int)
	for _, r := range h.allRooms() {
		r.mu.Lock()
		if n := len(r.fans); n > 0 {
			out[r.name] = n
		}
		r.mu.Unlock()
	}
	return out
}

// sendToFans sends one frame to every fan of a room (presence), in line
// with the room's messages and within its batch window.
func (h *hub) sendToFans(name string, frame []byte) {
	if r := h.lookup(name); r != nil {
		r.broadcast(frame, time.Now())
	}
}

// sendToSlot sends one frame to every fan on this node in ping slot slot.
func (h *hub) sendToSlot(frame []byte, slot uint32) {
	for _, r := range h.allRooms() {
		r.mu.Lock()
		for s := range r.fans {
			if s.pingSlot == slot {
				s.sendLocked(r, frame)
			}
		}
		r.mu.Unlock()
	}
}

// sessions returns every fan on this node.
func (h *hub) sessions() []*session {
	var out []*session
	for _, r := range h.allRooms() {
		r.mu.Lock()
		for s := range r.fans {
			out = append(out, s)
		}
		r.mu.Unlock()
	}
	return out
}
