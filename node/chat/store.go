package chat

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Streams. Every node has both, in its own JetStream domain (its name):
//
//   - ORIGIN holds the messages published at this node, on subjects
//     chat.o.<node>.<room>. Its stream sequence is the node's per-origin
//     message sequence: message ids are <node>.<seq>. A message is
//     acknowledged to its author once it is stored here.
//   - ROOMS sources the ORIGIN stream of every member, this node's
//     included. JetStream sourcing is reliable and resumes where it left
//     off after a link or a node comes back, and it keeps each origin's
//     order, so every node converges on every message, each origin's in
//     order. Fans are fed from ROOMS.
const (
	originStream = "ORIGIN"
	roomsStream  = "ROOMS"
)

func originSubject(node, room string) string { return "chat.o." + node + "." + room }

// roomOfSubject extracts the room from chat.o.<node>.<room>.
func roomOfSubject(subj string) (origin, room string, ok bool) {
	parts := strings.Split(subj, ".")
	if len(parts) != 4 || parts[0] != "chat" || parts[1] != "o" {
		return "", "", false
	}
	return parts[2], parts[3], true
}

// store wraps the node's two streams.
type store struct {
	js        jetstream.JetStream
	self      string
	retention time.Duration

	lastSeq uint64 // ORIGIN's last sequence when opened: the publisher starts there

	srcMu   sync.Mutex
	sources []string // members ROOMS sources from, sorted
}

func openStore(ctx context.Context, js jetstream.JetStream, self string, retention time.Duration) (*store, error) {
	s := &store{js: js, self: self, retention: retention}
	origin, err := s.createOrigin(ctx)
	if err != nil {
		return nil, err
	}
	info, err := origin.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("chat: %s stream info: %w", originStream, err)
	}
	s.lastSeq = info.State.LastSeq
	if err := s.syncSources(ctx, []string{self}); err != nil {
		return nil, err
	}
	return s, nil
}

// ensure makes sure both streams exist with their configuration, after the
// store was restarted.
func (s *store) ensure(ctx context.Context) error {
	if _, err := s.createOrigin(ctx); err != nil {
		return err
	}
	s.srcMu.Lock()
	members := s.sources
	s.sources = nil // force the update
	s.srcMu.Unlock()
	return s.syncSources(ctx, members)
}

func (s *store) createOrigin(ctx context.Context) (jetstream.Stream, error) {
	origin, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        originStream,
		Description: "chat messages published at this node",
		Subjects:    []string{"chat.o." + s.self + ".>"},
		Storage:     jetstream.FileStorage,
		MaxAge:      s.retention,
		Discard:     jetstream.DiscardOld,
		DenyDelete:  true,
		DenyPurge:   true,
		Duplicates:  dedupWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("chat: create %s stream: %w", originStream, err)
	}
	return origin, nil
}

// syncSources makes ROOMS source from exactly the ORIGIN streams of the
// given members (self always included). Sources of members that left are
// dropped; failed members stay, so their messages flow again when they
// come back.
func (s *store) syncSources(ctx context.Context, members []string) error {
	want := slices.Clone(members)
	if !slices.Contains(want, s.self) {
		want = append(want, s.self)
	}
	slices.Sort(want)
	want = slices.Compact(want)

	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	if slices.Equal(want, s.sources) {
		return nil
	}
	srcs := make([]*jetstream.StreamSource, 0, len(want))
	for _, m := range want {
		src := &jetstream.StreamSource{Name: originStream}
		if m != s.self {
			src.External = &jetstream.ExternalStream{APIPrefix: "$JS." + m + ".API"}
		}
		srcs = append(srcs, src)
	}
	_, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        roomsStream,
		Description: "chat messages of every node, sourced from their ORIGIN streams",
		Sources:     srcs,
		Storage:     jetstream.FileStorage,
		MaxAge:      s.retention,
		Discard:     jetstream.DiscardOld,
	})
	if err != nil {
		return fmt.Errorf("chat: update %s sources: %w", roomsStream, err)
	}
	s.sources = want
	return nil
}

// dedupWindow is how long ORIGIN remembers a publish's dedup id: a
// client retrying an unanswered publish with the same nonce within it gets
// the original message's ack instead of posting it twice.
const dedupWindow = 2 * time.Minute

// Stalled sources. JetStream repairs a stalled source on its own, but only
// after its 10 s health check, and a source whose consumer-create request
// was lost (sent while the leaf tree was re-forming) waits 30 s for the
// answer first. Chat should flow again within seconds of the tree healing,
// so the node watches its sources and re-arms a stalled one by taking it
// out of ROOMS and putting it back: the server then creates a fresh
// consumer that resumes after the last message ROOMS holds from that
// origin (it reads the position from the stored messages' source headers),
// so nothing is skipped or stored twice.

// sourceStalledAfter: a healthy source hears a heartbeat every second.
const sourceStalledAfter = 3 * time.Second

// rearmBackoff bounds how often one source is re-armed.
const (
	rearmBackoffMin = 2 * time.Second
	rearmBackoffMax = 30 * time.Second
)

type rearmState struct {
	next    time.Time
	backoff time.Duration
}

// rearmStalled re-arms the stalled sources of live members and returns
// their names.
func (s *store) rearmStalled(ctx context.Context, alive map[string]bool, state map[string]*rearmState, now time.Time) ([]string, error) {
	st, err := s.js.Stream(ctx, roomsStream)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	var stalled []string
	for _, src := range info.Sources {
		if src.External == nil {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(src.External.APIPrefix, "$JS."), ".API")
		healthy := src.Active >= 0 && src.Active < sourceStalledAfter
		rs := state[name]
		if healthy {
			delete(state, name)
			continue
		}
		if !alive[name] {
			continue // a failed member: nothing to gain until it is back
		}
		if rs == nil {
			rs = &rearmState{backoff: rearmBackoffMin}
			state[name] = rs
		}
		if now.Before(rs.next) {
			continue
		}
		rs.next = now.Add(rs.backoff)
		rs.backoff = min(2*rs.backoff, rearmBackoffMax)
		stalled = append(stalled, name)
	}
	if len(stalled) == 0 {
		return nil, nil
	}
	s.srcMu.Lock()
	members := slices.Clone(s.sources)
	s.srcMu.Unlock()
	without := slices.DeleteFunc(slices.Clone(members), func(m string) bool { return slices.Contains(stalled, m) })
	if err := s.syncSources(ctx, without); err != nil {
		return nil, err
	}
	return stalled, s.syncSources(ctx, members)
}
