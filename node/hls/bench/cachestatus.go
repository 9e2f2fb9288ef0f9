package bench

import (
	"strconv"
	"strings"
)

// cacheResult is how an edge's cache answered one response, from its
// Cache-Status header (RFC 9211).
type cacheResult struct {
	known     bool // the response had a Cache-Status member
	hit       bool // served from the cache ("hit")
	stale     bool // a hit past its freshness (negative ttl): stale-if-error
	collapsed bool // a miss that waited on another request's fill
}

// parseCacheStatus reads the last member of a Cache-Status value, e.g.
// `seoul-1; hit`, `seoul-1; fwd=miss`, `seoul-1; fwd=miss; collapsed`,
// `seoul-1; hit; ttl=-3; detail=origin-unavailable`.
//
// RFC 9211 lists caches from the origin towards the user, so the last
// member is the cache that answered the player: the edge (relaymesh edges
// send one member, their own). A member without "hit" is a miss;
// "hit=?0" (a structured-field false) is not a hit.
func parseCacheStatus(v string) cacheResult {
	items := splitQuoted(v, ',')
	member := strings.TrimSpace(items[len(items)-1])
	if member == "" {
		return cacheResult{}
	}
	res := cacheResult{known: true}
	params := splitQuoted(member, ';')
	for _, p := range params[1:] { // params[0] is the cache's name
		key, val, hasVal := strings.Cut(strings.TrimSpace(p), "=")
		switch key {
		case "hit":
			res.hit = !hasVal || val == "?1"
		case "collapsed":
			res.collapsed = !hasVal || val == "?1"
		case "ttl":
			if ttl, err := strconv.Atoi(val); err == nil && ttl < 0 {
				res.stale = true
			}
		}
	}
	res.stale = res.stale && res.hit
	res.collapsed = res.collapsed && !res.hit
	return res
}

// splitQuoted splits s at sep, except inside "quoted strings" (which may
// hold escaped quotes), as structured fields (RFC 8941) are written.
func splitQuoted(s string, sep byte) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++ // skip the escaped character
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
