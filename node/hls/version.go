package hls

import (
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
)

// PlaylistSupersedes is the cache's Supersedes for playlists: whether a
// new copy of a playlist may replace the cached one.
//
// Copies come from different places: the ingest node's announcement
// (stamped by its clock, sent before the origin has the object), this
// node's origin fills (stamped by this clock, and possibly older than the
// announcement they race), peers. Clocks and arrival order are no guide,
// what the playlist lists is: a live media playlist only grows (its next
// media sequence number never goes down, and once ended it stays ended).
// Playlists that do not say (master playlists, unparsable ones, equal
// positions) fall back to the Stored times. A streamer that restarts its
// encoder from sequence 0 is held back only while the old copy is fresh
// (hls.playlist_max_age), since Put replaces expired entries regardless.
func PlaylistSupersedes(old, new cache.Entry) bool {
	po, errOld := playlist.Parse(old.Body)
	pn, errNew := playlist.Parse(new.Body)
	if errOld == nil && errNew == nil && !po.Master && !pn.Master {
		switch {
		case pn.Next() != po.Next():
			return pn.Next() > po.Next()
		case po.Ended != pn.Ended:
			return pn.Ended
		}
	}
	return cache.NotOlder(old, new)
}
