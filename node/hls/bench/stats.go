package bench

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// kind is what a request fetched.
type kind int

const (
	kindPlaylist kind = iota // master or media playlist
	kindSegment              // media segment or initialisation section
	numKinds
)

func (k kind) String() string {
	if k == kindPlaylist {
		return "playlist"
	}
	return "segment"
}

// outcome is one finished request. A request the run's end cancelled is
// not an outcome: it says nothing about the node.
type outcome struct {
	kind    kind
	status  int    // HTTP status; 0 when no response came
	errCode string // "" for a good response; else "404", "timeout", "not_playlist", ...
	ttfb    time.Duration
	total   time.Duration // whole body read; only for good responses
	bytes   int64         // body bytes read, good or not
	cache   cacheResult
	newConn bool  // the request opened a connection
	err     error // what went wrong, for the samples
}

// kindStats are one shard's figures for one kind of request.
type kindStats struct {
	requests, ok, bytes, newConns    int64
	hit, stale, miss, collapsed, unk int64
	ttfb, total                      *benchkit.Histogram
	errors                           map[string]int
}

func newKindStats() *kindStats {
	return &kindStats{ttfb: benchkit.NewHistogram(), total: benchkit.NewHistogram(), errors: map[string]int{}}
}

func (s *kindStats) add(o outcome) {
	s.requests++
	s.bytes += o.bytes
	if o.newConn {
		s.newConns++
	}
	if o.status != 0 {
		s.ttfb.Record(o.ttfb)
	}
	if o.errCode != "" {
		s.errors[o.errCode]++
		return
	}
	s.ok++
	s.total.Record(o.total)
	// Cache figures cover good responses only: an error page says nothing
	// about how well the cache holds the stream.
	switch c := o.cache; {
	case !c.known:
		s.unk++
	case c.hit:
		s.hit++
		if c.stale {
			s.stale++
		}
	default:
		s.miss++
		if c.collapsed {
			s.collapsed++
		}
	}
}

func (s *kindStats) merge(o *kindStats) {
	s.requests += o.requests
	s.ok += o.ok
	s.bytes += o.bytes
	s.newConns += o.newConns
	s.hit += o.hit
	s.stale += o.stale
	s.miss += o.miss
	s.collapsed += o.collapsed
	s.unk += o.unk
	s.ttfb.Merge(o.ttfb)
	s.total.Merge(o.total)
	for k, v := range o.errors {
		s.errors[k] += v
	}
}

// shard holds the figures of the players whose index is its own modulo
// the shard count: a histogram is ~20 KiB, too much for one per player at
// thousands of players, and one lock for all would be contended.
type shard struct {
	mu    sync.Mutex
	kinds [numKinds]*kindStats
	keys  map[string]struct{} // segment paths requested: distinct across nodes
	_     [40]byte            // keep shards' locks on separate cache lines
}

func newShards(n int) []*shard {
	out := make([]*shard, n)
	for i := range out {
		out[i] = &shard{keys: map[string]struct{}{}}
		for k := range out[i].kinds {
			out[i].kinds[k] = newKindStats()
		}
	}
	return out
}

func (s *shard) record(o outcome) {
	s.mu.Lock()
	s.kinds[o.kind].add(o)
	s.mu.Unlock()
}

func (s *shard) requested(key string) {
	s.mu.Lock()
	s.keys[key] = struct{}{}
	s.mu.Unlock()
}

// live are the run's running totals for progress lines.
type live struct {
	started, requests, bytes, errors atomic.Int64
	received, missed, late           atomic.Int64
}

// samples keeps the first error of each kind and code, with its URL, for
// the report: a thousand players failing alike make one sample, not five
// copies of it.
type samples struct {
	mu   sync.Mutex
	seen map[string]bool
	list []string
}

const maxSamples = 5

func (s *samples) add(key, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[key] || len(s.list) >= maxSamples {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[key] = true
	s.list = append(s.list, fmt.Sprintf(format, args...))
}

func (s *samples) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.list...)
}
