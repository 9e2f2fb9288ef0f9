package announce

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// announcement is what a sender would write for key and body.
func announcement(key, body string) []byte {
	b, _ := json.Marshal(message{Version: Version, Key: key, Body: []byte(body), Stored: time.Now().UnixNano()})
	return b
}

const goodPlaylist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg1.ts\n"

// badAnnouncements are peer messages a node must drop.
var badAnnouncements = map[string][]byte{
	"not json":            []byte("GET / HTTP/1.1\r\n"),
	"truncated json":      announcement("live/index.m3u8", goodPlaylist)[:20],
	"traversal":           announcement("live/../../etc/index.m3u8", goodPlaylist),
	"absolute":            announcement("/live/index.m3u8", goodPlaylist),
	"no stream":           announcement("index.m3u8", goodPlaylist),
	"not a playlist key":  announcement("live/seg1.ts", goodPlaylist),
	"control character":   announcement("live/in\x00dex.m3u8", goodPlaylist),
	"body not a playlist": announcement("live/index.m3u8", "<html>hello</html>"),
	"oversized":           announcement("live/index.m3u8", "#EXTM3U\n"+strings.Repeat("#x\n", MaxBytes/3)),
	"version not a number": []byte(`{"v":"1","key":"live/index.m3u8","body":"` +
		"I0VYVE0zVQo=" + `","stored":1}`),
	"empty": nil,
}

func TestDecodeRejectsBadInput(t *testing.T) {
	for name, data := range badAnnouncements {
		if _, err := Decode(data); err == nil {
			t.Errorf("%s: accepted", name)
		} else if errors.Is(err, ErrVersion) {
			t.Errorf("%s: refused as a version: %v", name, err)
		}
	}
	p, err := Decode(announcement("live/720p/index.m3u8", goodPlaylist))
	if err != nil || p.Stream != "live" || p.Key != "live/720p/index.m3u8" || string(p.Body) != goodPlaylist || len(p.Parsed.Segments) != 1 {
		t.Fatalf("good announcement: %+v %v", p, err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	stored := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	b, err := Encode("live/index.m3u8", []byte(goodPlaylist), stored)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"v":1`) {
		t.Errorf("encoded %s: no version", b)
	}
	p, err := Decode(b)
	if err != nil || !p.Stored.Equal(stored) || string(p.Body) != goodPlaylist {
		t.Fatalf("round trip: %+v %v", p, err)
	}
	if _, err := Encode("live/index.m3u8", []byte(strings.Repeat("x", MaxBytes)), stored); err == nil {
		t.Error("Encode of an oversized playlist succeeded")
	}
}

// TestVersions: a message without a version is version 1 (nodes before
// the field); any other version is refused as such, whatever it holds.
func TestVersions(t *testing.T) {
	unversioned, _ := json.Marshal(struct {
		Key    string `json:"key"`
		Body   []byte `json:"body"`
		Stored int64  `json:"stored"`
	}{"live/index.m3u8", []byte(goodPlaylist), 1})
	if _, err := Decode(unversioned); err != nil {
		t.Errorf("unversioned announcement: %v, want it read as version 1", err)
	}
	for _, data := range []string{
		`{"v":2,"key":"live/index.m3u8","body":"I0VYVE0zVQo=","stored":1}`,
		`{"v":2,"key":{"stream":"live","path":"index.m3u8"},"body":"#EXTM3U"}`, // a layout this node cannot read
		`{"v":-1}`,
	} {
		if _, err := Decode([]byte(data)); !errors.Is(err, ErrVersion) {
			t.Errorf("%s: %v, want ErrVersion", data, err)
		}
	}
}

// FuzzDecode: whatever a peer sends, decoding does not panic, and what it
// accepts is a valid playlist key in the stream it reports.
func FuzzDecode(f *testing.F) {
	f.Add(announcement("live/index.m3u8", goodPlaylist))
	f.Add([]byte(`{"v":2}`))
	for _, data := range badAnnouncements {
		if len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			return
		}
		if p.Stream == "" || !strings.HasPrefix(p.Key, p.Stream+"/") || !strings.HasSuffix(p.Key, ".m3u8") {
			t.Fatalf("accepted key %q (stream %q)", p.Key, p.Stream)
		}
		for _, el := range strings.Split(p.Key, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("accepted key %q with element %q", p.Key, el)
			}
		}
	})
}
