package playlist

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// ffmpegLive is a media playlist as `ffmpeg -f hls -hls_flags delete_segments` writes it.
const ffmpegLive = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:1
#EXT-X-MEDIA-SEQUENCE:17
#EXTINF:1.000000,
index17.ts
#EXTINF:1.000000,
index18.ts
#EXT-X-DISCONTINUITY
#EXTINF:0.960000,
index19.ts
`

func TestParseMediaPlaylist(t *testing.T) {
	p, err := Parse([]byte(ffmpegLive))
	if err != nil {
		t.Fatal(err)
	}
	if p.Master || p.Ended {
		t.Errorf("Master=%v Ended=%v, want false, false", p.Master, p.Ended)
	}
	if want := []string{"index17.ts", "index18.ts", "index19.ts"}; !slices.Equal(p.Segments, want) {
		t.Errorf("Segments = %q, want %q", p.Segments, want)
	}
	if want := []time.Duration{time.Second, time.Second, 960 * time.Millisecond}; !slices.Equal(p.Durations, want) {
		t.Errorf("Durations = %v, want %v", p.Durations, want)
	}
	if p.TargetDuration != time.Second || p.MediaSequence != 17 {
		t.Errorf("TargetDuration=%v MediaSequence=%d, want 1s, 17", p.TargetDuration, p.MediaSequence)
	}
}

func TestParseFMP4AndEnd(t *testing.T) {
	body := "\xef\xbb\xbf#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"720@0\"\r\n" +
		"#EXTINF:4,\r\nseg0.m4s\r\n#EXT-X-MAP:URI=\"init.mp4\"\r\n#EXTINF:4,\r\nseg1.m4s\r\n" +
		"#EXT-X-VENDOR-THING:whatever\r\n#EXT-X-ENDLIST\r\n"
	p, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Maps, []string{"init.mp4"}) || !slices.Equal(p.Segments, []string{"seg0.m4s", "seg1.m4s"}) {
		t.Errorf("Maps=%q Segments=%q", p.Maps, p.Segments)
	}
	if !p.Ended || p.TargetDuration != 4*time.Second {
		t.Errorf("Ended=%v TargetDuration=%v", p.Ended, p.TargetDuration)
	}
}

func TestParseMasterPlaylist(t *testing.T) {
	body := `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en, main",URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000
720p/index.m3u8
`
	p, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Master || len(p.Segments) != 0 {
		t.Errorf("Master=%v Segments=%q", p.Master, p.Segments)
	}
	if want := []string{"audio/en.m3u8", "360p/index.m3u8", "720p/index.m3u8"}; !slices.Equal(p.Variants, want) {
		t.Errorf("Variants = %q, want %q", p.Variants, want)
	}
}

func TestParseRejects(t *testing.T) {
	for name, body := range map[string]string{
		"empty":        "",
		"no header":    "#EXTINF:1,\nseg.ts\n",
		"html":         "<html>404</html>",
		"header later": "\n#EXTM3U\n",
		"too large":    "#EXTM3U\n" + strings.Repeat("a", MaxBytes),
	} {
		if _, err := Parse([]byte(body)); err != ErrNotPlaylist {
			t.Errorf("%s: err = %v, want ErrNotPlaylist", name, err)
		}
	}
}

func TestAttrMalformed(t *testing.T) {
	for list, want := range map[string]string{
		`URI="a.mp4"`:                  "a.mp4",
		`BYTERANGE="1@0",URI="b.mp4"`:  "b.mp4",
		`URI="unterminated`:            "",
		`URI`:                          "",
		`,,,URI=d.mp4`:                 "d.mp4",
		`NAME="x, y",URI="e.mp4",X=1`:  "e.mp4",
		`NAME="URI=z",URI="f.mp4"`:     "f.mp4",
		`TYPE=AUDIO,GROUP-ID="a",URI=`: "",
	} {
		if got := attr(list, "URI"); got != want {
			t.Errorf("attr(%q) = %q, want %q", list, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	for _, c := range []struct {
		playlist, uri, want string
		ok                  bool
	}{
		{"live/index.m3u8", "seg1.ts", "live/seg1.ts", true},
		{"live/720p/index.m3u8", "seg1.ts", "live/720p/seg1.ts", true},
		{"live/720p/index.m3u8", "../audio/seg1.aac", "live/audio/seg1.aac", true},
		{"live/index.m3u8", "/hls/live/a/seg.ts", "live/a/seg.ts", true},
		{"live/index.m3u8", "../other/seg.ts", "", false},   // out of the stream
		{"live/index.m3u8", "/hls/other/seg.ts", "", false}, // another stream
		{"live/index.m3u8", "/elsewhere/seg.ts", "", false}, // not under /hls/
		{"live/index.m3u8", "https://cdn.example/s.ts", "", false},
		{"live/index.m3u8", "//cdn.example/s.ts", "", false},
		{"live/index.m3u8", "seg.ts?token=1", "", false},
		{"live/index.m3u8", "seg.ts#t=1", "", false},
		{"live/index.m3u8", "", "", false},
		{"live/index.m3u8", "%zz", "", false},
		{"index.m3u8", "seg.ts", "", false}, // no stream in the key
	} {
		got, ok := Resolve(c.playlist, c.uri)
		if got != c.want || ok != c.ok {
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q, %v", c.playlist, c.uri, got, ok, c.want, c.ok)
		}
	}
}

// FuzzParse: any input either fails with ErrNotPlaylist or parses into
// URIs that are non-empty lines of the input, without panicking.
func FuzzParse(f *testing.F) {
	f.Add([]byte(ffmpegLive))
	f.Add([]byte("#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-STREAM-INF:B=1\nv.m3u8\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-MEDIA:URI=\"a"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse(body)
		if err != nil {
			if err != ErrNotPlaylist {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(p.Durations) != len(p.Segments) {
			t.Fatalf("%d durations for %d segments", len(p.Durations), len(p.Segments))
		}
		for _, u := range append(append(p.Segments, p.Variants...), p.Maps...) {
			if u == "" || !bytes.Contains(body, []byte(u)) {
				t.Fatalf("URI %q is not in the input", u)
			}
		}
	})
}

// FuzzResolve: a resolved key always stays inside the playlist's stream
// and never contains a parent-directory element.
func FuzzResolve(f *testing.F) {
	f.Add("live/index.m3u8", "../../x.ts")
	f.Add("live/a/index.m3u8", "/hls/live/../../x.ts")
	f.Add("../", "0") // once resolved to "../0"
	f.Fuzz(func(t *testing.T, playlistKey, uri string) {
		key, ok := Resolve(playlistKey, uri)
		if !ok {
			return
		}
		stream, _, _ := strings.Cut(playlistKey, "/")
		if !strings.HasPrefix(key, stream+"/") {
			t.Fatalf("Resolve(%q, %q) = %q, outside stream %q", playlistKey, uri, key, stream)
		}
		for _, el := range strings.Split(key, "/") {
			if el == ".." {
				t.Fatalf("Resolve(%q, %q) = %q has ..", playlistKey, uri, key)
			}
		}
	})
}
