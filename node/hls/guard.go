package hls

import (
	"fmt"
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/origin"
)

// What bounds the origin requests of one edge (besides one fill per key,
// the cache's single flight, and the checks of known.go):
//
//   - notFound remembers the keys the origin (or a peer, for it) answered
//     404 for Config.NotFoundTTL: a missing key asked again and again costs
//     one GET per TTL, not one per request;
//   - slots caps the origin requests in flight at Config.MaxOriginRequests.
//     A fill over the cap is refused at once (errOriginBusy: 503 with
//     Retry-After, or the stale playlist if there is one) rather than
//     queued: a queued fill holds its flight, a goroutine and the players'
//     connections for up to the fill timeout, which is what a flood wants,
//     and players retry a 503 on their own;
//   - unknownSlots, an eighth of the slots, is all that playlists of
//     streams the edge does not know (known.go) may take, so invented
//     stream names cannot crowd out the streams that play.

// maxNotFound bounds the negative cache. When it is full of live entries
// new 404s are not remembered: the slots still bound what they cost.
const maxNotFound = 16384

// notFoundCache is the negative cache: key -> when its 404 expires.
type notFoundCache struct {
	ttl time.Duration // <= 0: off

	mu sync.Mutex
	m  map[string]time.Time // guarded by mu
}

func (c *notFoundCache) has(key string) bool {
	if c.ttl <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.m[key]
	if ok && time.Now().After(exp) {
		delete(c.m, key)
		ok = false
	}
	return ok
}

func (c *notFoundCache) add(key string) {
	if c.ttl <= 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]time.Time)
	}
	if len(c.m) >= maxNotFound {
		for k, exp := range c.m {
			if now.After(exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxNotFound {
			return
		}
	}
	c.m[key] = now.Add(c.ttl)
}

// errOriginBusy refuses an origin request over the cap. It matches
// origin.ErrUnavailable, so a stale playlist is served instead when there
// is one, and a peer asking is told "unavailable".
var errOriginBusy = fmt.Errorf("too many origin requests in flight: %w", origin.ErrUnavailable)

// errUnknown refuses a player's miss of a segment the edge does not know
// (known.go). It matches origin.ErrNotFound: the player gets the same 404
// as for a segment the origin does not have.
var errUnknown = fmt.Errorf("segment of no known stream or playlist: %w", origin.ErrNotFound)

// originSlot takes an origin slot, from the unknown streams' share too
// when known is false, and returns its release, or errOriginBusy.
func (s *Server) originSlot(known bool) (release func(), err error) {
	if !known {
		select {
		case s.unknownSlots <- struct{}{}:
		default:
			s.counters.OriginBusy.Add(1)
			return nil, errOriginBusy
		}
	}
	select {
	case s.slots <- struct{}{}:
	default:
		if !known {
			<-s.unknownSlots
		}
		s.counters.OriginBusy.Add(1)
		return nil, errOriginBusy
	}
	return func() {
		<-s.slots
		if !known {
			<-s.unknownSlots
		}
	}, nil
}

// OriginInFlight is how many origin requests this edge has in flight.
func (s *Server) OriginInFlight() int { return len(s.slots) }
