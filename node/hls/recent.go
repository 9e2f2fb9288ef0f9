package hls

import (
	"sync"
	"time"
)

// recent remembers a value per stream for window after it was last noted:
// which streams had players here (prefetch.go), which node ingests each
// live stream (source.go). Only streams that exist are noted (a playlist
// was served, or a peer announced one), so the map is bounded by the live
// streams; entries past the window are pruned as it grows.
type recent[V any] struct {
	window time.Duration

	mu sync.Mutex
	m  map[string]noted[V]
}

type noted[V any] struct {
	v  V
	at time.Time
}

// pruneAt is the size at which note drops expired entries.
const pruneAt = 1024

func (r *recent[V]) note(stream string, v V) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]noted[V])
	}
	if len(r.m) >= pruneAt {
		for k, n := range r.m {
			if now.Sub(n.at) > r.window {
				delete(r.m, k)
			}
		}
	}
	r.m[stream] = noted[V]{v, now}
}

// get returns stream's value if it was noted within the window.
func (r *recent[V]) get(stream string) (V, bool) {
	r.mu.Lock()
	n, ok := r.m[stream]
	r.mu.Unlock()
	if !ok || time.Since(n.at) > r.window {
		var zero V
		return zero, false
	}
	return n.v, true
}
