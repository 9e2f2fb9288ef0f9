package hlskey

import (
	"path"
	"strings"
)

// kind is what an HLS path names, by its extension.
type kind struct {
	contentType string
	immutable   bool // media never changes once written; playlists do
}

var kinds = map[string]kind{
	".m3u8": {"application/vnd.apple.mpegurl", false},
	".ts":   {"video/mp2t", true},
	".m4s":  {"video/iso.segment", true},
	".mp4":  {"video/mp4", true}, // fMP4 init segments
	".aac":  {"audio/aac", true},
	".m4a":  {"audio/mp4", true},
	".vtt":  {"text/vtt", true},
}

// KindOf reports the content type of an HLS path (or key) and whether it
// is immutable media, or false for anything that is not HLS. The
// extension's case does not matter: players ask for what they were given.
func KindOf(p string) (contentType string, immutable, ok bool) {
	k, ok := kinds[strings.ToLower(path.Ext(p))]
	return k.contentType, k.immutable, ok
}

// IsPlaylist reports whether key names a playlist as announcements between
// nodes carry them: ending in ".m3u8" exactly, lower case (KindOf also takes
// ".M3U8" from a player).
func IsPlaylist(key string) bool { return strings.HasSuffix(key, ".m3u8") }
