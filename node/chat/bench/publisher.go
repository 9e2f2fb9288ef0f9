package bench

import (
	"sort"
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
	fan    *fanState // nil when another worker process runs this publisher
	room   int
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

func newPublisher(idx int, f *fanState, room int, region string, maxSeq int) *publisher {
	return &publisher{idx: idx, fan: f, room: room, region: region, seen: make([]atomic.Bool, maxSeq)}
}

// local reports whether this process runs the publisher and it connected.
func (p *publisher) local() bool { return p.fan != nil && p.fan.inRun }

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
// ack wins over anything else: the edge stored the message. first is true
// when this is the publish's first ack; sent is when it was sent (unix ns).
func (p *publisher) resolve(nonce string, st pubStatus) (sent int64, first bool) {
	seq, err := strconv.ParseUint(nonce, 10, 64)
	if err != nil || seq == 0 {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq > uint64(len(p.status)) {
		return 0, false
	}
	if cur := &p.status[seq-1]; *cur != statusAcked {
		*cur = st
		return p.sentAt[seq-1], st == statusAcked
	}
	return 0, false
}

// unsent marks a publish that never reached the edge.
func (p *publisher) unsent(seq uint64) { _, _ = p.resolve(strconv.FormatUint(seq, 10), statusUnsent) }

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

// PubResult is what a process reports of a publisher it ran: enough for
// the merge to tell, with every process's Seen, which publishes were stored.
type PubResult struct {
	Idx  int `json:"idx"`
	Sent int `json:"sent"`
	// MeasFirst..MeasLast are the seqs sent in the measured window (send
	// times grow with seq, so they are one range); 0, 0 when none.
	MeasFirst uint64 `json:"meas_first"`
	MeasLast  uint64 `json:"meas_last"`
	Acked     Ranges `json:"acked"`
	Rejected  int    `json:"rejected"`
	Unsent    int    `json:"unsent"`
	Pending   int    `json:"pending"` // no answer by the end
	Missed    int    `json:"missed"`  // schedule slots skipped
}

func (p *publisher) result(from, to int64) PubResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := PubResult{Idx: p.idx, Sent: len(p.sentAt), Missed: p.missed}
	for i, t := range p.sentAt {
		seq := uint64(i + 1)
		if t >= from && t < to {
			if r.MeasFirst == 0 {
				r.MeasFirst = seq
			}
			r.MeasLast = seq
		}
		switch p.status[i] {
		case statusAcked:
			r.Acked = r.Acked.add(seq)
		case statusRejected:
			r.Rejected++
		case statusUnsent:
			r.Unsent++
		case statusSent:
			r.Pending++
		}
	}
	return r
}

// seenRanges is the seqs of this publisher that this process's fans got.
func (p *publisher) seenRanges() Ranges {
	var rs Ranges
	for i := range p.seen {
		if p.seen[i].Load() {
			rs = rs.add(uint64(i + 1))
		}
	}
	return rs
}

// Ranges is a set of sequence numbers as sorted, disjoint, inclusive
// ranges: a publisher's acked or seen seqs are almost always one range.
type Ranges [][2]uint64

// add appends x, which must be larger than every number already in rs.
func (rs Ranges) add(x uint64) Ranges {
	if n := len(rs); n > 0 && rs[n-1][1]+1 == x {
		rs[n-1][1] = x
		return rs
	}
	return append(rs, [2]uint64{x, x})
}

// has reports whether x is in rs.
func (rs Ranges) has(x uint64) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i][1] >= x })
	return i < len(rs) && rs[i][0] <= x
}

// count is how many numbers rs holds.
func (rs Ranges) count() int {
	n := 0
	for _, r := range rs {
		n += int(r[1] - r[0] + 1)
	}
	return n
}
