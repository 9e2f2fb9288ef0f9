package hls

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/fetch"
	"github.com/relaymesh/relaymesh/node/hls/owner"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
	"github.com/relaymesh/relaymesh/origin"
)

// Mesh is what the fill path needs to know about the other edges.
type Mesh interface {
	// Self is this node (name, region, QUIC address).
	Self() owner.Member
	// Members are the live members, this node included or not.
	Members() []owner.Member
}

// Counters of where fills went and what the edge did without being asked,
// for metrics and tests.
type Counters struct {
	Segments  FillCounters // immutable objects: media and init segments
	Playlists FillCounters
	// StaleServed counts expired playlists served because no fresh one
	// could be had in time.
	StaleServed atomic.Uint64
	// Misses answered without the origin (guard.go, known.go):
	// NotFoundCached from the negative cache, UnknownRefused for segments
	// of streams the edge does not know, OriginBusy over the cap of
	// origin requests in flight.
	NotFoundCached atomic.Uint64
	UnknownRefused atomic.Uint64
	OriginBusy     atomic.Uint64
	// Prefetched counts segments fetched ahead of players from the node
	// that ingested them; PrefetchFails the fetches that failed.
	Prefetched    atomic.Uint64
	PrefetchFails atomic.Uint64
}

// FillCounters say where fills of one kind of object went.
type FillCounters struct {
	OriginGets  atomic.Uint64 // GETs this node sent to the origin
	PeerFetches atomic.Uint64 // fills answered by a peer edge
	PeerFails   atomic.Uint64 // peer fetches that failed and fell back to the origin
	// SourceFetches counts fills answered by a live stream's ingest node;
	// SourceMisses those it could not answer (the fill went on as usual).
	SourceFetches atomic.Uint64
	SourceMisses  atomic.Uint64
}

func (c *Counters) of(immutable bool) *FillCounters {
	if immutable {
		return &c.Segments
	}
	return &c.Playlists
}

// fillKey is fillFrom behind the negative cache: a key found missing in
// the last NotFoundTTL is answered 404 without asking anyone. A filled
// playlist's listing is noted (known.go).
func (s *Server) fillKey(ctx context.Context, key, ctype string, immutable, asOwner bool) (cache.Entry, error) {
	if s.notFound.has(key) {
		s.counters.NotFoundCached.Add(1)
		return cache.Entry{}, fmt.Errorf("hls: %s: %w (remembered)", key, origin.ErrNotFound)
	}
	e, err := s.fillFrom(ctx, key, ctype, immutable, asOwner)
	switch {
	case errors.Is(err, origin.ErrNotFound):
		// Not for a segment a playlist lists: that is the origin lagging
		// behind the stream's ingest node (its spool catching up), and
		// the segment will be there soon.
		if !immutable || !s.listed.listed(key) {
			s.notFound.add(key)
		}
	case err == nil && !immutable:
		if p, perr := playlist.Parse(e.Body); perr == nil {
			s.listed.note(key, p)
		}
	}
	return e, err
}

// fillFrom fills key for a player (asOwner false) or for a peer that took
// this node for the key's owner (asOwner true): from the region's owner,
// the shield region's owner or the origin, as node/hls/owner decides.
// Without a mesh, every fill goes to the origin.
func (s *Server) fillFrom(ctx context.Context, key, ctype string, immutable, asOwner bool) (cache.Entry, error) {
	if s.cfg.Mesh == nil || s.cfg.Opener == nil {
		return s.fill(ctx, key, ctype, immutable)
	}
	self := s.cfg.Mesh.Self()
	members := s.cfg.Mesh.Members()
	route := owner.Plan(key, self.Name, self.Region, members, s.cfg.ShieldRegion)
	if asOwner {
		route = owner.OwnerRoute(key, self.Name, self.Region, members, s.cfg.ShieldRegion)
	}
	if route.Via != owner.ViaRegionOwner && immutable {
		// The fill leaves the region: a live stream's ingest node has
		// the segment, and is asked first (cache only, never forwarded).
		if addr := s.sourceOf(key); addr != "" {
			e, err := s.fromSource(ctx, addr, key)
			if err == nil {
				s.counters.Segments.SourceFetches.Add(1)
				return e, nil
			}
			if ctx.Err() != nil {
				return cache.Entry{}, err
			}
			s.counters.Segments.SourceMisses.Add(1)
			s.log.Debug("ingest node did not have the segment; filling as usual", "key", key, "err", err)
		}
	}
	if route.Via == owner.ViaOrigin {
		return s.fill(ctx, key, ctype, immutable)
	}
	e, err := fetch.Fetch(ctx, s.cfg.Opener, route.Peer.Addr, key, s.cfg.MaxObjectBytes)
	if errors.Is(err, fetch.ErrPeerFailed) {
		// The peer is gone or broken; gossip will say so soon. Meanwhile
		// the origin still has the object.
		s.counters.of(immutable).PeerFails.Add(1)
		s.log.Debug("peer fetch failed, asking the origin", "key", key, "peer", route.Peer.Name, "err", err)
		return s.fill(ctx, key, ctype, immutable)
	}
	if err != nil {
		return cache.Entry{}, err
	}
	s.counters.of(immutable).PeerFetches.Add(1)
	return e, nil
}

// PeerHandler serves other edges' fetches (QUIC streams of kind fetch)
// from this node's cache, filling as the key's owner on a miss. ctx is
// the node's lifetime.
func (s *Server) PeerHandler(ctx context.Context) link.StreamHandler {
	get := func(ctx context.Context, key string) (cache.Entry, error) {
		ctype, immutable, ok := hlskey.KindOf(key)
		if !ok {
			return cache.Entry{}, errNotHLS
		}
		return s.cfg.Cache.Fill(ctx, key, func(ctx context.Context) (cache.Entry, error) {
			return s.fillKey(ctx, key, ctype, immutable, true)
		})
	}
	return fetch.Handler(ctx, get, s.cfg.MaxObjectBytes, func(format string, args ...any) {
		s.log.Debug("peer fetch not answered: "+format, args...)
	})
}

var errNotHLS = errors.New("not an HLS object")

// Counters returns the fill counters.
func (s *Server) Counters() *Counters { return &s.counters }
