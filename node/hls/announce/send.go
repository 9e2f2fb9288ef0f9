package announce

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
)

// Opener opens a stream of kind announce (link.Endpoint.OpenStream).
type Opener interface {
	OpenStream(ctx context.Context, addr string, k link.Kind) (*link.Stream, error)
}

// Peer is a member to announce to.
type Peer struct {
	Name string // for logs
	Addr string // QUIC address
}

// Sender sends announcements, one goroutine per peer so that the
// streamer's ack is not held up by the farthest region. It owns those
// goroutines: Close waits for them.
//
// Ingest may hand over a playlist while the node closes, so Send and Close
// order themselves under mu: once Close has begun, Send starts nothing (a
// WaitGroup's Add must not race its Wait).
type Sender struct {
	open Opener
	log  *slog.Logger

	mu      sync.Mutex
	closing bool // guarded by mu
	wg      sync.WaitGroup
}

// NewSender returns a Sender that opens its streams with open.
func NewSender(open Opener, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.Default()
	}
	return &Sender{open: open, log: log}
}

// Send sends msg (from Encode) to every peer, each within Timeout, and
// returns at once. ctx bounds the sends, which outlive the call: it is the
// sender's owner's lifetime, not a request's.
func (s *Sender) Send(ctx context.Context, msg []byte, to []Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	for _, p := range to {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.sendOne(ctx, msg, p)
		}()
	}
}

func (s *Sender) sendOne(ctx context.Context, msg []byte, p Peer) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	st, err := s.open.OpenStream(ctx, p.Addr, link.KindAnnounce)
	if err != nil {
		s.log.Debug("announcing playlist", "peer", p.Name, "err", err)
		return
	}
	_ = st.SetWriteDeadline(time.Now().Add(Timeout))
	_, _ = st.Write(msg)
	_ = st.Stream.Close() // FIN: the whole message is sent
}

// Close stops later sends and waits for those running. Cancel the ctx
// given to Send first, or Close may wait up to Timeout.
func (s *Sender) Close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.wg.Wait()
}
