package bench

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// pubStatus is what became of one publish.
type pubStatus uint8

const (
	statusSent     pubStatus = iota // written to the socket; no answer yet
	statusAcked                     // the edge stored it (ack frame)
	statusRejected                  // the edge answered with an error frame: not stored
	statusUnsent                    // no connection, or the write failed: never reached the edge
)

// publisher is the publishing side of one fan. Its goroutine appends
// publishes; the fan's reader resolves them as acks and errors arrive; every
// fan's reader marks them seen.
type publisher struct {
	idx    int
	fan    *fanState
	region string // region of the publisher's node: the "from" of its deliveries

	// seen[seq-1] is set once any fan received publish seq: then it was
	// stored, whatever the answer (an edge that times out storing a message
	// answers "internal" although the store may still have taken it).
	// Allocated up front for every publish the schedule allows, so fans
	// set it without a lock.
	seen []atomic.Bool

	mu     sync.Mutex
	sentAt []int64     // unix ns, by seq-1
	status []pubStatus // by seq-1
	missed int         // schedule slots skipped because the publisher ran late
}

func newPublisher(idx int, f *fanState, maxSeq int) *publisher {
	return &publisher{idx: idx, fan: f, region: f.node.Region, seen: make([]atomic.Bool, maxSeq)}
}

// markSeen records that a fan received publish seq.
func (p *publisher) markSeen(seq uint64) {
	if seq == 0 || seq > uint64(len(p.seen)) {
		return
	}
	if s := &p.seen[seq-1]; !s.Load() { // read first: no cache-line ping-pong once set
		s.Store(true)
	}
}

func (p *publisher) wasSeen(seq uint64) bool {
	return seq > 0 && seq <= uint64(len(p.seen)) && p.seen[seq-1].Load()
}

// next registers publish seq (1, 2, ...) sent at t and returns its seq.
func (p *publisher) next(t time.Time) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sentAt = append(p.sentAt, t.UnixNano())
	p.status = append(p.status, statusSent)
	return uint64(len(p.sentAt))
}

// resolve sets the fate of the publish whose nonce (its seq) is given. An
// ack wins over anything else: the edge stored the message.
func (p *publisher) resolve(nonce string, st pubStatus) {
	seq, err := strconv.ParseUint(nonce, 10, 64)
	if err != nil || seq == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq > uint64(len(p.status)) {
		return
	}
	if cur := &p.status[seq-1]; *cur != statusAcked {
		*cur = st
	}
}

// unsent marks a publish that never reached the edge.
func (p *publisher) unsent(seq uint64) { p.resolve(strconv.FormatUint(seq, 10), statusUnsent) }

func (p *publisher) addMissed(n int) {
	p.mu.Lock()
	p.missed += n
	p.mu.Unlock()
}

// stored reports whether publish seq is known to be stored at its origin:
// acked, or received by some fan. A publish without an answer that no fan
// received counts as not stored: the edge most likely never took it.
func (p *publisher) stored(seq uint64) bool {
	if p.wasSeen(seq) {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return seq > 0 && seq <= uint64(len(p.status)) && p.status[seq-1] == statusAcked
}

// pubSummary counts one publisher's publishes; the measured ones are those
// sent in [from, to) (unix ns).
type pubSummary struct {
	Sent           int // every publish attempted, warmup included
	Measured       int // sent in the measured phase
	Acked          int
	StoredMeasured int // measured and stored (acked, or seen by a fan): what every fan of the room should get
	Rejected       int // error frame
	Unsent         int // never reached the edge
	Pending        int // no answer (yet)
	PendingMeas    int // measured, no answer yet, seen by no fan yet
	StoredDespite  int // answered with an error (or none) but seen by a fan
	Missed         int // schedule slots skipped
}

func (p *publisher) summary(from, to int64) pubSummary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := pubSummary{Sent: len(p.sentAt), Missed: p.missed}
	for i, t := range p.sentAt {
		meas := t >= from && t < to
		seen := p.wasSeen(uint64(i + 1))
		if meas {
			s.Measured++
		}
		st := p.status[i]
		if meas && (st == statusAcked || seen) {
			s.StoredMeasured++
		}
		if st != statusAcked && seen {
			s.StoredDespite++
		}
		switch st {
		case statusAcked:
			s.Acked++
		case statusRejected:
			s.Rejected++
		case statusUnsent:
			s.Unsent++
		case statusSent:
			s.Pending++
			if meas && !seen {
				s.PendingMeas++
			}
		}
	}
	return s
}

func (s *pubSummary) add(o pubSummary) {
	s.Sent += o.Sent
	s.Measured += o.Measured
	s.Acked += o.Acked
	s.StoredMeasured += o.StoredMeasured
	s.StoredDespite += o.StoredDespite
	s.Rejected += o.Rejected
	s.Unsent += o.Unsent
	s.Pending += o.Pending
	s.PendingMeas += o.PendingMeas
	s.Missed += o.Missed
}
