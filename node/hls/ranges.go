package hls

import (
	"net/http"
	"strconv"
	"strings"
)

// maxRanges is the most byte ranges one request may ask for. Players ask
// for one (EXT-X-BYTERANGE) or none; many small ranges only amplify: each
// part of a multipart/byteranges answer carries ~100 bytes of headers,
// so a thousand 1-byte ranges of a 1000-byte segment made a 134 KB body.
const maxRanges = 4

// limitRanges removes r's Range header when it asks for more than
// maxRanges ranges, or for ranges that overlap, of a body of size bytes:
// http.ServeContent then answers 200 with the whole body, as it already
// does when the ranges add up to more than the body. That is what nginx
// does past max_ranges, and RFC 9110 section 14.2 lets a server ignore
// such a Range. A header that does not parse is left for ServeContent to
// answer 416.
func limitRanges(r *http.Request, size int64) {
	h := r.Header.Get("Range")
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || !strings.Contains(spec, ",") {
		return // none, one range, or malformed: ServeContent's to judge
	}
	type span struct{ start, end int64 } // inclusive
	var spans []span
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue // net/http skips empty elements too
		}
		first, last, ok := strings.Cut(part, "-")
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		if !ok {
			return
		}
		var sp span
		switch {
		case first == "": // suffix: the last N bytes
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil || n < 0 {
				return
			}
			sp = span{max(0, size-n), size - 1}
		default:
			start, err := strconv.ParseInt(first, 10, 64)
			if err != nil || start < 0 {
				return
			}
			end := size - 1
			if last != "" {
				if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
					return
				}
			}
			sp = span{start, min(end, size-1)}
		}
		if sp.start > sp.end {
			continue // unsatisfiable: ServeContent skips it too
		}
		spans = append(spans, sp)
		if len(spans) > maxRanges {
			r.Header.Del("Range")
			return
		}
	}
	for i, a := range spans {
		for _, b := range spans[i+1:] {
			if a.start <= b.end && b.start <= a.end {
				r.Header.Del("Range")
				return
			}
		}
	}
}
