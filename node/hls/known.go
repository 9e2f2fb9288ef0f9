package hls

import (
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
)

// Which objects an edge asks the origin for. A request for a key nobody
// has published must not cost an origin GET, or every invented URL is
// one (5,000 requests for distinct missing keys made 5,000 GETs). So a
// player's miss of a segment is filled only when the edge knows the
// segment may exist:
//
//   - its stream is configured here (Config.Streams: the ingest stream
//     keys, every node has the same map, so this includes dev's demo);
//   - its stream was announced by an ingest node in the last 30 s
//     (source.go); or
//   - a playlist of its stream that this edge filled or was announced in
//     the last listedWindow lists the segment.
//
// Playlists are filled for any stream: a fresh edge has no playlist yet,
// and a player's first request is for one. Playlists of streams that are
// not known by the rules above share a small part of the origin slots
// (guard.go), so invented playlist names cost at most that many GETs in
// flight, each answered 404 and remembered. A refused segment gets the
// same 404 as one the origin does not have: the answer does not tell
// which streams exist.
//
// Fills that peers ask of this node as the key's owner are not checked:
// the peer checked its player's request, and the owner need not hold the
// playlist (owners are per key).

// listedWindow is how long a segment counts as listed after a playlist
// last listed it: as long as a stale playlist may be served
// (cache.Config.MaxStale), and far longer than a player lags behind the
// live edge of a sliding window.
const listedWindow = 10 * time.Minute

// listings remembers which segment keys recent playlists listed, per
// stream. Only playlists that exist (filled, or announced by a peer) are
// noted, so it is bounded by the published streams and their windows.
type listings struct {
	mu      sync.Mutex
	streams map[string]*streamListing // guarded by mu
}

type streamListing struct {
	keys    map[string]time.Time // segment key -> when last listed
	noted   time.Time            // when a playlist of the stream was last noted
	pruneAt int                  // prune keys when there are this many
}

// note records the segments and init sections p lists, p being the
// playlist stored under playlistKey.
func (l *listings) note(playlistKey string, p playlist.Playlist) {
	uris := make([]string, 0, len(p.Segments)+len(p.Maps)+len(p.Variants))
	uris = append(append(append(uris, p.Maps...), p.Segments...), p.Variants...)
	keys := make([]string, 0, len(uris))
	for _, uri := range uris {
		if key, ok := playlist.Resolve(playlistKey, uri); ok {
			keys = append(keys, key)
		}
	}
	stream := hlskey.Stream(playlistKey)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams == nil {
		l.streams = make(map[string]*streamListing)
	}
	if len(l.streams) >= pruneAt {
		for name, sl := range l.streams {
			if now.Sub(sl.noted) > listedWindow {
				delete(l.streams, name)
			}
		}
	}
	sl := l.streams[stream]
	if sl == nil {
		sl = &streamListing{keys: make(map[string]time.Time)}
		l.streams[stream] = sl
	}
	sl.noted = now
	for _, k := range keys {
		sl.keys[k] = now
	}
	// Prune when the map has doubled since the last prune: amortised
	// O(1) per key, and a live stream's map stays about its window.
	if len(sl.keys) >= max(sl.pruneAt, pruneAt) {
		for k, at := range sl.keys {
			if now.Sub(at) > listedWindow {
				delete(sl.keys, k)
			}
		}
		sl.pruneAt = 2 * len(sl.keys)
	}
}

// listed reports whether a playlist noted within listedWindow lists key.
func (l *listings) listed(key string) bool {
	stream := hlskey.Stream(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	sl := l.streams[stream]
	if sl == nil {
		return false
	}
	at, ok := sl.keys[key]
	return ok && time.Since(at) <= listedWindow
}

// has reports whether a playlist of stream was noted within listedWindow.
func (l *listings) has(stream string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	sl := l.streams[stream]
	return sl != nil && time.Since(sl.noted) <= listedWindow
}

// NotePlaylist records what the playlist p, stored under key, lists: its
// segments may then be filled for players (see above). The node calls it
// for announced playlists; fills call it for the playlists they bring.
func (s *Server) NotePlaylist(key string, p playlist.Playlist) { s.listed.note(key, p) }

// SetStreams replaces Config.Streams (the ingest stream keys may be
// reloaded).
func (s *Server) SetStreams(names []string) {
	m := make(map[string]struct{}, len(names))
	for _, name := range names {
		m[name] = struct{}{}
	}
	s.streams.Store(&m)
}

// knownStream reports whether stream is configured, announced or has a
// recent playlist here.
func (s *Server) knownStream(stream string) bool {
	return s.configuredOrAnnounced(stream) || s.listed.has(stream)
}

// mayFill reports whether a player's miss of key may be filled: always
// for playlists, for segments only when the edge knows of them.
func (s *Server) mayFill(key string, immutable bool) bool {
	stream := hlskey.Stream(key)
	return !immutable || s.configuredOrAnnounced(stream) || s.listed.listed(key)
}

func (s *Server) configuredOrAnnounced(stream string) bool {
	if _, ok := (*s.streams.Load())[stream]; ok {
		return true
	}
	_, ok := s.sources.get(stream)
	return ok
}
