package announce

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
)

// Receiver takes announcements from peers (streams of kind announce) and
// hands the good ones to its apply func. Announcements are peer messages:
// anything malformed, or of a version this node does not read, is dropped
// and counted, and nothing else happens.
type Receiver struct {
	apply func(peer string, p Playlist)
	log   *slog.Logger

	malformed, unknownVersion atomic.Uint64

	mu     sync.Mutex
	warned map[string]bool // peer+version refusals logged at Warn; guarded by mu
}

// maxWarned bounds Receiver.warned: past it, refusals are logged at Debug
// only (a peer inventing versions must not grow the map).
const maxWarned = 64

// Stats are a Receiver's counters of dropped announcements.
type Stats struct {
	Malformed      uint64 // did not decode or check (Decode)
	UnknownVersion uint64 // of a version this node does not read
}

// NewReceiver returns a Receiver that calls apply with each good
// announcement and the name of the peer (by its certificate) that sent
// it. apply runs on the stream's goroutine, after the stream is closed.
func NewReceiver(apply func(peer string, p Playlist), log *slog.Logger) *Receiver {
	if log == nil {
		log = slog.Default()
	}
	return &Receiver{apply: apply, log: log, warned: make(map[string]bool)}
}

// Handle is the link.StreamHandler for kind announce.
func (r *Receiver) Handle(s *link.Stream) {
	defer s.Close()
	_ = s.SetReadDeadline(time.Now().Add(Timeout))
	data, err := io.ReadAll(io.LimitReader(s, MaxBytes+1))
	if err != nil {
		return
	}
	_ = s.Close() // done with the stream before apply, which may prefetch
	p, err := Decode(data)
	switch {
	case errors.Is(err, ErrVersion):
		r.unknownVersion.Add(1)
		r.refusedVersion(s.PeerName(), err)
	case err != nil:
		r.malformed.Add(1)
		r.log.Debug("dropping a playlist announcement", "peer", s.PeerName(), "err", err)
	default:
		r.apply(s.PeerName(), p)
	}
}

// refusedVersion logs a refused version at Warn the first time per peer
// and version (a node of a newer release announces every playlist update),
// at Debug after.
func (r *Receiver) refusedVersion(peer string, err error) {
	key := peer + "\x00" + err.Error() // the error names the version
	r.mu.Lock()
	first := !r.warned[key] && len(r.warned) < maxWarned
	if first {
		r.warned[key] = true
	}
	r.mu.Unlock()
	if first {
		r.log.Warn("refusing playlist announcements of an unknown version; nothing applied (is the peer a newer release?)",
			"peer", peer, "err", err)
		return
	}
	r.log.Debug("refusing a playlist announcement", "peer", peer, "err", err)
}

// Stats returns the counters.
func (r *Receiver) Stats() Stats {
	return Stats{Malformed: r.malformed.Load(), UnknownVersion: r.unknownVersion.Load()}
}
