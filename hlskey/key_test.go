package hlskey

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestJoin(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		stream, path string
		want         string // the key, or "" for an error
		why          string // a part of the error message
	}{
		// Good keys: what HLS players and ffmpeg ask for.
		{"live", "index.m3u8", "live/index.m3u8", ""},
		{"live", "1080p/seg-000123.m4s", "live/1080p/seg-000123.m4s", ""},
		{"a", "init.mp4", "a/init.mp4", ""},
		{"0-stream_1", "x.ts", "0-stream_1/x.ts", ""},
		{long, "x.ts", long + "/x.ts", ""},
		{"live", "...", "live/...", ""}, // only "." and ".." are dot segments
		{"live", "..x/x..", "live/..x/x..", ""},
		{"live", "seg 1.ts", "live/seg 1.ts", ""},   // a space is no trick
		{"live", "seg?x=1#y", "live/seg?x=1#y", ""}, // '?' and '#' are plain characters in an unescaped path
		{"live", "한국어/セグ.ts", "live/한국어/セグ.ts", ""},
		{"live", "．．/x.ts", "live/．．/x.ts", ""}, // fullwidth dots are not dots to S3
		{"live", strings.Repeat("a/", 15) + "b", "live/" + strings.Repeat("a/", 15) + "b", ""},
		{"live", strings.Repeat("x", 512-5), "live/" + strings.Repeat("x", 512-5), ""},

		// Streams.
		{"", "x.ts", "", "stream name is empty"},
		{long + "a", "x.ts", "", "more than 64"},
		{"Live", "x.ts", "", "'L' at byte 0"},
		{"-live", "x.ts", "", "must start with"},
		{"_live", "x.ts", "", "must start with"},
		{"li.ve", "x.ts", "", "'.' at byte 2"},
		{"..", "x.ts", "", "'.' at byte 0"},
		{"live/other", "x.ts", "", "'/' at byte 4"},
		{"live\x00", "x.ts", "", `'\x00' at byte 4`},
		{"lïve", "x.ts", "", "byte 1"},
		{"live ", "x.ts", "", "byte 4"},

		// Traversal and dot segments.
		{"live", "..", "", `segment 1 is ".."`},
		{"live", "../other/x.ts", "", `segment 1 is ".."`},
		{"live", "a/../../other/x.ts", "", `segment 2 is ".."`},
		{"live", "a/..", "", `segment 2 is ".."`},
		{"live", ".", "", `segment 1 is "."`},
		{"live", "./x.ts", "", `segment 1 is "."`},
		{"live", "a/./x.ts", "", `segment 2 is "."`},
		{"live", "/etc/passwd", "", `starts with "/"`},
		{"live", "//x.ts", "", `starts with "/"`},
		{"live", "a//x.ts", "", "segment 2 is empty"},
		{"live", "a/", "", "segment 2 is empty"},
		{"live", "", "", "path is empty"},
		{"live", `..\other\x.ts`, "", "backslash at byte 2"},
		{"live", `a\x.ts`, "", "backslash"},
		{"live", "C:\\x.ts", "", "backslash"},

		// Escapes left in: double encoding, or a client hoping for a second unescape.
		{"live", "%2e%2e/x.ts", "", "'%' at byte 0"},
		{"live", "a%2fb.ts", "", "'%' at byte 1"},
		{"live", "%252e%252e/x.ts", "", "'%'"},
		{"live", "x.ts%00", "", "'%'"},

		// Control, format and broken characters.
		{"live", "x.ts\x00.m3u8", "", "NUL byte at byte 4"},
		{"live", "x\r\nSet-Cookie: a=b", "", "control character U+000D at byte 1"},
		{"live", "x\n.ts", "", "U+000A"},
		{"live", "x\t.ts", "", "U+0009"},
		{"live", "x\x7f.ts", "", "U+007F"},
		{"live", "x\u0085.ts", "", "U+0085"},                     // C1 next line
		{"live", "x\u202egnp.ts", "", "format character U+202E"}, // right-to-left override
		{"live", "x\u200b.ts", "", "U+200B"},                     // zero-width space
		{"live", "\ufeffx.ts", "", "U+FEFF"},                     // byte order mark
		{"live", "\xc0\xae\xc0\xae/x.ts", "", "not valid UTF-8"}, // overlong "."
		{"live", "x\xff.ts", "", "not valid UTF-8"},

		// Size.
		{"live", strings.Repeat("x", 512-4), "", "key is 513 bytes, more than 512"},
		{"live", strings.Repeat("x", 100000), "", "path is 100000 bytes"},
		{"live", strings.Repeat("a/", 16) + "b", "", "more than 16 segments"},
		{"live", strings.Repeat("../", 1000) + "x", "", "path is 3001 bytes"},
	} {
		key, err := Join(tc.stream, tc.path)
		if tc.want != "" {
			if err != nil || key != tc.want {
				t.Errorf("Join(%q, %.60q) = %q, %v; want %q", tc.stream, tc.path, key, err, tc.want)
			}
			if err := Check(key); err != nil {
				t.Errorf("Check(%q): %v", key, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Join(%q, %.60q) = %q, want an error (%s)", tc.stream, tc.path, key, tc.why)
			continue
		}
		if key != "" || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Join(%q, %.60q) = %q, %v; want ErrInvalid saying %q", tc.stream, tc.path, key, err, tc.why)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "hlskey: invalid object key ") || strings.ContainsAny(msg, "\x00\r\n") || len(msg) > 400 {
			t.Errorf("message %q: want a one-line hlskey scope", err)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, key := range []string{"", "live", "/live/x.ts", "live/", "../x.ts", "live/a/../x.ts"} {
		if err := Check(key); !errors.Is(err, ErrInvalid) {
			t.Errorf("Check(%q) = %v, want ErrInvalid", key, err)
		}
	}
}

// FuzzJoin: whatever Join accepts stays inside the stream's prefix
// and means the same to every layer that reads it.
func FuzzJoin(f *testing.F) {
	for _, s := range [][2]string{
		{"live", "index.m3u8"}, {"live", "1080p/seg-1.m4s"}, {"live", "../x"}, {"live", "a/../b"},
		{"live", "/x"}, {"live", `a\b`}, {"live", "%2e%2e/x"}, {"live", "a//b"}, {"live", "a\x00b"},
		{"a_b-c", "..."}, {"..", "x"}, {"live", "\xc0\xae\xc0\xae/x"}, {"live", "x\u202e"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, stream, p string) {
		key, err := Join(stream, p)
		if err != nil {
			if key != "" || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Join(%q, %q) = %q, %v", stream, p, key, err)
			}
			return
		}
		if key != stream+"/"+p || !strings.HasPrefix(key, stream+"/") {
			t.Fatalf("key %q does not start with stream %q", key, stream)
		}
		if len(key) > MaxKeyLen || !utf8.ValidString(key) {
			t.Fatalf("key %q: too long or not UTF-8", key)
		}
		// No dot, empty or escaped segments: cleaning changes nothing, so
		// the key resolves inside the stream's prefix on any path layer.
		if path.Clean("/"+key) != "/"+key {
			t.Fatalf("key %q is not clean: %q", key, path.Clean("/"+key))
		}
		segs := strings.Split(key, "/")
		if segs[0] != stream || len(segs) > 1+MaxPathSegments {
			t.Fatalf("key %q: segments %q", key, segs)
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." {
				t.Fatalf("key %q has segment %q", key, s)
			}
		}
		if strings.ContainsAny(key, "\\%\x00") || strings.ContainsFunc(key, unicode.IsControl) {
			t.Fatalf("key %q has a forbidden character", key)
		}
		if err := Check(key); err != nil {
			t.Fatalf("Check(%q) refuses what Join built: %v", key, err)
		}
	})
}
