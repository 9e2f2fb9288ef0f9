package node

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/node/nodetest"
)

func announcement(key, body string) []byte {
	b, _ := json.Marshal(playlistAnnounce{Key: key, Body: []byte(body), Stored: time.Now().UnixNano()})
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
	"oversized":           announcement("live/index.m3u8", "#EXTM3U\n"+strings.Repeat("#x\n", maxAnnounce/3)),
	"empty":               nil,
}

func TestParseAnnouncementRejectsBadInput(t *testing.T) {
	for name, data := range badAnnouncements {
		if _, _, err := parseAnnouncement(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	a, stream, err := parseAnnouncement(announcement("live/720p/index.m3u8", goodPlaylist))
	if err != nil || stream != "live" || string(a.Body) != goodPlaylist {
		t.Fatalf("good announcement: %+v %q %v", a, stream, err)
	}
}

// TestBadAnnouncementsChangeNothing sends every bad announcement to a
// node over a real QUIC stream from a peer: none is applied or cached,
// and the good one that follows is.
func TestBadAnnouncementsChangeNothing(t *testing.T) {
	a := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
	b := startNode(t, testConfig(t, "tokyo-1", "tokyo", "127.0.0.1", a.MeshAddr().String()))
	send := func(data []byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := a.endpoint.OpenStream(ctx, b.MeshAddr().String(), link.KindAnnounce)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Write(data)
		_ = s.Stream.Close()
	}
	for _, data := range badAnnouncements {
		send(data)
	}
	send(announcement("live/index.m3u8", goodPlaylist))
	eventually(t, 5*time.Second, "the good announcement is applied", func() (bool, string) {
		return b.PlaylistUpdates() == 1, ""
	})
	if got := b.PlaylistUpdates(); got != 1 {
		t.Fatalf("%d announcements applied, want only the good one", got)
	}
	if e, ok := b.hlsCache.Get("live/index.m3u8"); !ok || string(e.Body) != goodPlaylist {
		t.Fatalf("cached playlist %q, %v", e.Body, ok)
	}
	for _, key := range []string{"live/seg1.ts", "index.m3u8", "etc/index.m3u8"} {
		if b.hlsCache.Has(key) {
			t.Errorf("%s is cached after bad announcements", key)
		}
	}
}

// FuzzParseAnnouncement: whatever a peer sends, parsing does not panic,
// and what it accepts is a valid playlist key in the stream it reports.
func FuzzParseAnnouncement(f *testing.F) {
	f.Add(announcement("live/index.m3u8", goodPlaylist))
	for _, data := range badAnnouncements {
		if len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, stream, err := parseAnnouncement(data)
		if err != nil {
			return
		}
		if !strings.HasPrefix(a.Key, stream+"/") || !strings.HasSuffix(a.Key, ".m3u8") {
			t.Fatalf("accepted key %q (stream %q)", a.Key, stream)
		}
		for _, el := range strings.Split(a.Key, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("accepted key %q with element %q", a.Key, el)
			}
		}
	})
}

// TestAnnounceWhileClosing: ingest may hand over a playlist while the node
// closes. Announcing then must neither race Close's wait for the
// announcement goroutines (the race detector reported wg.Add against
// wg.Wait) nor start goroutines after it. Run it with -race.
func TestAnnounceWhileClosing(t *testing.T) {
	a := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
	b := startNode(t, testConfig(t, "tokyo-1", "tokyo", "127.0.0.1", a.MeshAddr().String()))
	nodetest.WaitFor(t, 10*time.Second, "seoul-1 sees tokyo-1", func() bool {
		for _, m := range a.cluster.Members() {
			if m.Name == b.cfg.Node.Name && m.State == membership.StateAlive {
				return true
			}
		}
		return false
	})
	closed := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for after := 0; after < 200; {
			a.announcePlaylist("live/index.m3u8", []byte(goodPlaylist))
			select {
			case <-closed:
				after++ // announcing after Close returned must do nothing
			default:
			}
		}
	}()
	if err := a.Close(); err != nil {
		t.Log(err)
	}
	close(closed)
	<-done
}
