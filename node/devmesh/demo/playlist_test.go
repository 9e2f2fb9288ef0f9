package demo

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestPlaylistGolden(t *testing.T) {
	const head = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n"
	seg := func(ns ...int) string {
		var b strings.Builder
		for _, n := range ns {
			if n < 0 { // a wrap before -n
				b.WriteString("#EXT-X-DISCONTINUITY\n")
				n = -n
			}
			fmt.Fprintf(&b, "#EXTINF:1.000,\nseg%d.ts\n", n)
		}
		return b.String()
	}
	tests := []struct {
		name   string
		newest uint64
		window int
		want   string
	}{
		{"first segment", 0, 6, head + "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(0)},
		{"window not yet full", 3, 6, head + "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(0, 1, 2, 3)},
		{"window just full", 5, 6, head + "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(0, 1, 2, 3, 4, 5)},
		{"window slides", 6, 6, head + "#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(1, 2, 3, 4, 5, 6)},
		{"before the first wrap", 9, 6, head + "#EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(4, 5, 6, 7, 8, 9)},
		{"first wrap newest", 10, 6, head + "#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(5, 6, 7, 8, 9, -10)},
		{"wrap mid window", 12, 6, head + "#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(7, 8, 9, -10, 11, 12)},
		{"wrapped segment first", 15, 6, head + "#EXT-X-MEDIA-SEQUENCE:10\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(-10, 11, 12, 13, 14, 15)},
		{"wrap slid out", 16, 6, head + "#EXT-X-MEDIA-SEQUENCE:11\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n" + seg(11, 12, 13, 14, 15, 16)},
		{"second wrap", 21, 6, head + "#EXT-X-MEDIA-SEQUENCE:16\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n" + seg(16, 17, 18, 19, -20, 21)},
		{"two wraps in a wide window", 21, 15, head + "#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" +
			seg(7, 8, 9, -10, 11, 12, 13, 14, 15, 16, 17, 18, 19, -20, 21)},
		{"window of one", 31, 1, head + "#EXT-X-MEDIA-SEQUENCE:31\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n" + seg(31)},
		{"window of one on a wrap", 30, 1, head + "#EXT-X-MEDIA-SEQUENCE:30\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n" + seg(-30)},
		{"window below one counts as one", 7, 0, head + "#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" + seg(7)},
		{"far along", 1_000_004, 6, head + "#EXT-X-MEDIA-SEQUENCE:999999\n#EXT-X-DISCONTINUITY-SEQUENCE:99999\n" +
			seg(999999, -1000000, 1000001, 1000002, 1000003, 1000004)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Playlist(tt.newest, tt.window); got != tt.want {
				t.Errorf("Playlist(%d, %d) =\n%s\nwant\n%s", tt.newest, tt.window, got, tt.want)
			}
		})
	}
}

// TestPlaylistInvariants checks every playlist of a long run against the
// rules a player relies on, from one playlist to the next.
func TestPlaylistInvariants(t *testing.T) {
	const window = 6
	var prev parsed
	for newest := uint64(0); newest < 100; newest++ {
		p := parse(t, Playlist(newest, window))
		if last := p.segs[len(p.segs)-1]; last != newest {
			t.Fatalf("newest %d: last listed segment is %d", newest, last)
		}
		if want := min(newest+1, window); uint64(len(p.segs)) != want {
			t.Fatalf("newest %d: %d segments listed, want %d", newest, len(p.segs), want)
		}
		for i, n := range p.segs {
			if n != p.mediaSeq+uint64(i) {
				t.Fatalf("newest %d: segment %d at position %d, media sequence %d", newest, n, i, p.mediaSeq)
			}
			if p.disc[n] != (n > 0 && n%Segments == 0) {
				t.Fatalf("newest %d: discontinuity before segment %d is %v", newest, n, p.disc[n])
			}
		}
		if newest > 0 {
			// The discontinuity sequence rises by the marked segments that slid out.
			slid := uint64(0)
			for n := prev.mediaSeq; n < p.mediaSeq; n++ {
				if prev.disc[n] {
					slid++
				}
			}
			if p.discSeq != prev.discSeq+slid {
				t.Fatalf("newest %d: discontinuity sequence %d, previous %d with %d marked segments slid out",
					newest, p.discSeq, prev.discSeq, slid)
			}
		}
		prev = p
	}
}

type parsed struct {
	mediaSeq, discSeq uint64
	segs              []uint64
	disc              map[uint64]bool // segment number -> preceded by #EXT-X-DISCONTINUITY
}

func parse(t *testing.T, pl string) parsed {
	t.Helper()
	p := parsed{disc: map[uint64]bool{}}
	lines := strings.Split(strings.TrimSuffix(pl, "\n"), "\n")
	if len(lines) < 4 || lines[0] != "#EXTM3U" || lines[1] != "#EXT-X-VERSION:3" || lines[2] != "#EXT-X-TARGETDURATION:1" {
		t.Fatalf("bad header:\n%s", pl)
	}
	num := func(s string) uint64 {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("bad number %q in:\n%s", s, pl)
		}
		return n
	}
	marked, inf := false, false
	for _, l := range lines[3:] {
		switch {
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			p.mediaSeq = num(strings.TrimPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"))
		case strings.HasPrefix(l, "#EXT-X-DISCONTINUITY-SEQUENCE:"):
			p.discSeq = num(strings.TrimPrefix(l, "#EXT-X-DISCONTINUITY-SEQUENCE:"))
		case l == "#EXT-X-DISCONTINUITY":
			marked = true
		case l == "#EXTINF:1.000,":
			inf = true
		case strings.HasPrefix(l, "seg") && strings.HasSuffix(l, ".ts") && inf:
			n := num(strings.TrimSuffix(strings.TrimPrefix(l, "seg"), ".ts"))
			p.segs = append(p.segs, n)
			p.disc[n] = marked
			marked, inf = false, false
		default:
			t.Fatalf("unexpected line %q in:\n%s", l, pl)
		}
	}
	if len(p.segs) == 0 || marked || inf {
		t.Fatalf("no segments or a dangling tag in:\n%s", pl)
	}
	return p
}
