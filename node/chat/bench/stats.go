package bench

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// pairKey is a region pair: messages published on a node of From and
// received by a fan on a node of To.
type pairKey struct{ From, To string }

// latencies holds one histogram per region pair in each of several shards;
// a fan always records into the same shard (its index modulo the count),
// so thousands of fans rarely wait for one lock. merged adds them up at the
// end of the run.
//
// Each shard also keeps, per second of the measured phase (by send time),
// the count and the worst latency: whether a tail is steady or a few
// bursts shows in that timeline and not in a quantile.
type latencies struct {
	shards []latencyShard
}

type latencyShard struct {
	mu    sync.Mutex
	h     map[pairKey]*benchkit.Histogram
	bySec []SecondStats
	_     [40]byte // keep shards' locks on separate cache lines
}

// SecondStats is one second of the measured phase: the measured messages
// sent in it that were delivered, and the worst latency among them.
type SecondStats struct {
	Delivered uint64  `json:"delivered"`
	MaxMs     float64 `json:"max_ms"`
	max       time.Duration
}

func newLatencies(shards, seconds int) *latencies {
	l := &latencies{shards: make([]latencyShard, shards)}
	for i := range l.shards {
		l.shards[i].h = map[pairKey]*benchkit.Histogram{}
		l.shards[i].bySec = make([]SecondStats, seconds)
	}
	return l
}

// record adds one delivery of latency d, of a message sent sec seconds into
// the measured phase.
func (l *latencies) record(fan int, k pairKey, sec int, d time.Duration) {
	s := &l.shards[fan%len(l.shards)]
	s.mu.Lock()
	h := s.h[k]
	if h == nil {
		h = benchkit.NewHistogram()
		s.h[k] = h
	}
	h.Record(d)
	if sec >= 0 && sec < len(s.bySec) {
		b := &s.bySec[sec]
		b.Delivered++
		b.max = max(b.max, d)
	}
	s.mu.Unlock()
}

// timeline returns the per-second figures over all shards.
func (l *latencies) timeline() []SecondStats {
	if len(l.shards) == 0 {
		return nil
	}
	out := make([]SecondStats, len(l.shards[0].bySec))
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for j, b := range s.bySec {
			out[j].Delivered += b.Delivered
			out[j].max = max(out[j].max, b.max)
		}
		s.mu.Unlock()
	}
	for j := range out {
		out[j].MaxMs = benchkit.Millis(out[j].max)
	}
	return out
}

// merged returns one histogram per pair, over all shards.
func (l *latencies) merged() map[pairKey]*benchkit.Histogram {
	out := map[pairKey]*benchkit.Histogram{}
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for k, h := range s.h {
			if out[k] == nil {
				out[k] = benchkit.NewHistogram()
			}
			out[k].Merge(h)
		}
		s.mu.Unlock()
	}
	return out
}

// counters are the run's tallies that many goroutines update.
type counters struct {
	connectFailures   atomic.Int64
	acks              atomic.Int64
	presence          atomic.Int64
	badFrames         atomic.Int64 // server frames the client could not decode
	foreign           atomic.Int64 // messages that are not this run's
	reconnects        atomic.Int64
	reconnectFailures atomic.Int64
	measured          atomic.Int64 // measured deliveries, duplicates excluded

	mu          sync.Mutex
	errors      map[string]int // error frames by code
	disconnects map[string]int // by close status or cause
	samples     []string       // first few connect and disconnect errors, for the report
}

const maxSamples = 5

func newCounters() *counters {
	return &counters{errors: map[string]int{}, disconnects: map[string]int{}}
}

func (c *counters) errorFrame(code string) {
	c.mu.Lock()
	c.errors[code]++
	c.mu.Unlock()
}

func (c *counters) disconnect(reason string, err error) {
	c.mu.Lock()
	c.disconnects[reason]++
	c.sampleLocked("disconnect", err)
	c.mu.Unlock()
}

func (c *counters) connectFailure(err error) {
	c.connectFailures.Add(1)
	c.mu.Lock()
	c.sampleLocked("connect", err)
	c.mu.Unlock()
}

func (c *counters) sampleLocked(what string, err error) {
	if len(c.samples) < maxSamples && err != nil {
		c.samples = append(c.samples, fmt.Sprintf("%s: %v", what, err))
	}
}

func (c *counters) snapshot() (errors, disconnects map[string]int, samples []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	errors, disconnects = map[string]int{}, map[string]int{}
	for k, v := range c.errors {
		errors[k] = v
	}
	for k, v := range c.disconnects {
		disconnects[k] = v
	}
	return errors, disconnects, append([]string(nil), c.samples...)
}
