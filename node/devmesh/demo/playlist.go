package demo

import (
	"fmt"
	"strings"
)

// SegmentName is the name of live segment n beside the playlist.
func SegmentName(n uint64) string { return fmt.Sprintf("seg%d.ts", n) }

// PlaylistName is the live playlist's name under the stream.
const PlaylistName = "index.m3u8"

// Playlist renders the live media playlist (RFC 8216) after segment
// newest has been published: the last window segments, newest last, each
// 1 s long (window < 1 counts as 1; fewer are listed while newest+1 <
// window).
//
// The loop wraps before every segment n with n mod Segments == 0 (n > 0):
// the media timestamps restart there, which the playlist marks with
// #EXT-X-DISCONTINUITY. #EXT-X-DISCONTINUITY-SEQUENCE counts the marked
// segments that have slid out of the window, as RFC 8216 6.2.2 asks, so a
// player that reloads keeps its discontinuities numbered consistently.
func Playlist(newest uint64, window int) string {
	if window < 1 {
		window = 1
	}
	first := uint64(0)
	if newest >= uint64(window) {
		first = newest - uint64(window) + 1
	}
	// Marked segments before first: 10, 20, ... up to first-1.
	disc := uint64(0)
	if first > 0 {
		disc = (first - 1) / Segments
	}

	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n")
	fmt.Fprintf(&b, "#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	fmt.Fprintf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%d\n", disc)
	for n := first; n <= newest; n++ {
		if n > 0 && n%Segments == 0 {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		b.WriteString("#EXTINF:1.000,\n")
		b.WriteString(SegmentName(n))
		b.WriteByte('\n')
	}
	return b.String()
}
