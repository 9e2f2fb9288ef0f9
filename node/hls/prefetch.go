package hls

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
)

// Prefetching: when a new live playlist is announced, an edge whose players
// follow that stream fills the newly listed segments before any player
// asks, the way a player's request would (from its region's owner, which
// asks the stream's ingest node: see source.go), so that the players'
// requests are hits. Edges without players of the stream do nothing: the
// mesh does not copy every stream everywhere.

// watchWindow is how long after a player last fetched a stream's playlist
// this edge still counts as having players of it. Players reload the
// playlist every target duration (seconds); half a minute covers a player
// that stalled and came back.
const watchWindow = 30 * time.Second

// prefetchDepth is how many of the newest segments a playlist lists are
// prefetched: players join at the live edge (hls.js starts three target
// durations from it), so older ones are rarely asked for.
const prefetchDepth = 3

// Watched reports whether players fetched stream's playlist from this edge
// within the last half minute.
func (s *Server) Watched(stream string) bool {
	_, ok := s.watched.get(stream)
	return ok
}

// Prefetch fills the newest segments (and init sections) listed in the
// playlist p, stored under playlistKey, that this edge has not cached,
// as a player's request would, and returns how many it filled. A failure
// is counted and left to the players' own requests.
func (s *Server) Prefetch(ctx context.Context, playlistKey string, p playlist.Playlist) int {
	segs := p.Segments[max(0, len(p.Segments)-prefetchDepth):]
	var keys []string
	for _, uri := range append(append([]string(nil), p.Maps...), segs...) {
		key, ok := playlist.Resolve(playlistKey, uri)
		if !ok || hlskey.Check(key) != nil {
			continue
		}
		if _, immutable, ok := hlskey.KindOf(key); ok && immutable && !s.cfg.Cache.Has(key) {
			keys = append(keys, key)
		}
	}
	// In parallel: across regions each fetch is a few round trips of
	// QUIC slow start, and there are at most prefetchDepth+maps of them.
	var wg sync.WaitGroup
	var fetched atomic.Int64
	for _, key := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.prefetchOne(ctx, key) {
				fetched.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(fetched.Load())
}

// prefetchOne fills key unless it is cached by then, and reports whether
// it did.
func (s *Server) prefetchOne(ctx context.Context, key string) bool {
	ctype, immutable, _ := hlskey.KindOf(key)
	_, outcome, err := s.cfg.Cache.FillOutcome(ctx, key, func(ctx context.Context) (cache.Entry, error) {
		return s.fillKey(ctx, key, ctype, immutable, false)
	})
	if err != nil {
		s.counters.PrefetchFails.Add(1)
		s.log.Debug("prefetch failed", "key", key, "err", err)
		return false
	}
	if outcome == cache.Filled {
		s.counters.Prefetched.Add(1)
		return true
	}
	return false
}
