package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// hubReplay bounds how far back the hub reads ROOMS when the node starts,
// to refill the rooms' recent messages without reading 30 days of chat.
const hubReplay = 100_000

// hub reads ROOMS in order and hands every message to its room: into the
// room's recent messages and out to the room's fans on this node.
type hub struct {
	log    *slog.Logger
	window int

	mu    sync.Mutex
	rooms map[string]*room

	delivered atomic.Uint64
	malformed atomic.Uint64
	consume   jetstream.ConsumeContext
}

func newHub(log *slog.Logger, window int) *hub {
	return &hub{log: log, window: window, rooms: make(map[string]*room)}
}

// start begins consuming ROOMS; messages are handled on the consumer's
// own goroutine, one at a time, in stream order.
func (h *hub) start(ctx context.Context, js jetstream.JetStream) error {
	st, err := js.Stream(ctx, roomsStream)
	if err != nil {
		return fmt.Errorf("chat: %s stream: %w", roomsStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("chat: %s stream info: %w", roomsStream, err)
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if info.State.LastSeq > hubReplay {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = info.State.LastSeq - hubReplay + 1
	}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("chat: %s consumer: %w", roomsStream, err)
	}
	h.consume, err = cons.Consume(h.handle)
	if err != nil {
		return fmt.Errorf("chat: consume %s: %w", roomsStream, err)
	}
	return nil
}

func (h *hub) stop() {
	if h.consume != nil {
		h.consume.Stop()
		<-h.consume.Closed()
	}
}

// room returns the named room, creating it.
func (h *hub) room(name string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[name]
	if r == nil {
		r = newRoom(name, h.window)
		h.rooms[name] = r
	}
	return r
}

func (h *hub) handle(jm jetstream.Msg) {
	origin, roomName, ok := roomOfSubject(jm.Subject())
	var m wire.Message
	if ok {
		ok = json.Unmarshal(jm.Data(), &m) == nil
	}
	id := m.ID
	if !ok || id.Valid() != nil || id.Origin != origin || m.Room != roomName {
		// Only nodes write ORIGIN streams, so this is a bug or a foreign
		// writer: skip it rather than show fans something malformed.
		h.malformed.Add(1)
		h.log.Warn("skipping malformed chat message", "subject", jm.Subject())
		return
	}
	frame, err := wire.Encode(m) // once for every fan of the room
	if err != nil {
		h.malformed.Add(1)
		return
	}
	r := h.room(roomName)
	r.mu.Lock()
	r.addLocked(entry{id: id, msg: m})
	for s := range r.fans {
		s.deliverLocked(id, frame)
	}
	r.mu.Unlock()
	h.delivered.Add(1)
}

// join registers s in its room and queues its replay, atomically with
// respect to deliveries, so the fan gets replay then live without a gap
// or a duplicate.
func (h *hub) join(s *session) (replayed int, complete bool) {
	r := h.room(s.room)
	r.mu.Lock()
	defer r.mu.Unlock()
	msgs, complete := r.replayLocked(s.since, s.svc.cfg.HistoryOnJoin)
	// Everything the room holds is now either sent or, for a fresh join,
	// before the fan's time: mark it all seen, and tell the fan the marks
	// (synced.since) so that a later resume does not replay old messages
	// of origins the join history did not reach back to.
	for _, e := range r.ring {
		s.since.Advance(e.id)
	}
	s.queueReplay(msgs, complete)
	r.fans[s] = struct{}{}
	return len(msgs), complete
}

func (h *hub) leave(s *session) {
	r := h.room(s.room)
	r.mu.Lock()
	delete(r.fans, s)
	r.mu.Unlock()
}

// history returns up to limit recent messages of a room, oldest first.
func (h *hub) history(name string, limit int) []wire.Message {
	r := h.room(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	start := max(0, len(r.ring)-limit)
	out := make([]wire.Message, 0, len(r.ring)-start)
	for _, e := range r.ring[start:] {
		out = append(out, e.msg)
	}
	return out
}

// fanCounts returns, per room, the number of fans connected here.
func (h *hub) fanCounts() map[string]int {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	out := make(map[string]int)
	for _, r := range rooms {
		r.mu.Lock()
		if n := len(r.fans); n > 0 {
			out[r.name] = n
		}
		r.mu.Unlock()
	}
	return out
}

// fansOf returns the sessions in a room (none if the room is unknown here).
func (h *hub) fansOf(name string) []*session {
	h.mu.Lock()
	r := h.rooms[name]
	h.mu.Unlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*session, 0, len(r.fans))
	for s := range r.fans {
		out = append(out, s)
	}
	return out
}
