package hls

import (
	"context"
	"fmt"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/fetch"
	"github.com/relaymesh/relaymesh/origin"
)

// Live sources: the node a streamer pushes a stream to holds every new
// segment of it in its cache before the origin does (the ingest node
// answers the streamer once the object is spooled, and announces each new
// playlist to every member). So where a fill would leave the region (to
// the shield or the origin), a segment of a live stream is asked of its
// ingest node first, over a fetch-cached stream: the ingest node answers
// from its cache only and never forwards, so this cannot loop; on a miss
// there the fill goes on as usual. With a pushed stream the origin then
// serves (almost) no segment GETs, and new segments reach a region one
// cross-region hop after they are pushed.

// sourceTTL is how long after its last announcement a node is taken for
// a stream's ingest node: several target durations, so a brief gap in
// announcements does not send fills to the origin.
const sourceTTL = 30 * time.Second

// NoteSource records that node announced a playlist of stream now: it is
// the stream's ingest node.
func (s *Server) NoteSource(stream, node string) { s.sources.note(stream, node) }

// sourceOf returns the QUIC address of key's stream's live ingest node,
// or "" when there is none, it is this node, or it is not a live member.
func (s *Server) sourceOf(key string) string {
	if s.cfg.Mesh == nil || s.cfg.CachedOpener == nil {
		return ""
	}
	stream := hlskey.Stream(key)
	node, ok := s.sources.get(stream)
	if !ok || node == s.cfg.Mesh.Self().Name {
		return ""
	}
	for _, m := range s.cfg.Mesh.Members() {
		if m.Name == node {
			return m.Addr
		}
	}
	return ""
}

// fromSource asks the live ingest node at addr for key, cache only.
func (s *Server) fromSource(ctx context.Context, addr, key string) (cache.Entry, error) {
	return fetch.Fetch(ctx, s.cfg.CachedOpener, addr, key, s.cfg.MaxObjectBytes)
}

// CachedPeerHandler serves other edges' fetch-cached streams (kind
// link.KindFetchCached): from this node's cache, or "unavailable". It
// never fills, so what it is asked costs no further fetch. ctx is the
// node's lifetime.
func (s *Server) CachedPeerHandler(ctx context.Context) link.StreamHandler {
	get := func(_ context.Context, key string) (cache.Entry, error) {
		if e, ok := s.cfg.Cache.Peek(key); ok {
			return e, nil
		}
		return cache.Entry{}, errNotCached
	}
	return fetch.Handler(ctx, get, s.cfg.MaxObjectBytes, func(format string, args ...any) {
		s.log.Debug("fetch-cached not answered: "+format, args...)
	})
}

// errNotCached answers a fetch-cached miss; it maps to "unavailable".
var errNotCached = fmt.Errorf("not cached here: %w", origin.ErrUnavailable)
