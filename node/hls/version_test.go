package hls

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/hls/cache"
)

func livePlaylist(first, n int, ended bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	for k := first; k < first+n; k++ {
		fmt.Fprintf(&b, "#EXTINF:1,\nseg%d.ts\n", k)
	}
	if ended {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return []byte(b.String())
}

func TestPlaylistSupersedes(t *testing.T) {
	t0 := time.Now()
	entry := func(body []byte, stored time.Time) cache.Entry {
		return cache.Entry{Body: body, Meta: cache.Meta{Stored: stored}}
	}
	for _, c := range []struct {
		name     string
		old, new cache.Entry
		want     bool
	}{
		{"further along, stamped earlier (another node's clock)", entry(livePlaylist(10, 6, false), t0), entry(livePlaylist(11, 6, false), t0.Add(-time.Second)), true},
		{"behind, stamped later (an origin fill racing an announcement)", entry(livePlaylist(11, 6, false), t0), entry(livePlaylist(10, 6, false), t0.Add(time.Second)), false},
		{"window still filling", entry(livePlaylist(0, 3, false), t0), entry(livePlaylist(0, 4, false), t0), true},
		{"ended beats not ended at the same position", entry(livePlaylist(5, 6, false), t0), entry(livePlaylist(5, 6, true), t0.Add(-time.Second)), true},
		{"not ended does not undo ended", entry(livePlaylist(5, 6, true), t0), entry(livePlaylist(5, 6, false), t0.Add(time.Second)), false},
		{"same position: the later copy", entry(livePlaylist(5, 6, false), t0), entry(livePlaylist(5, 6, false), t0.Add(time.Second)), true},
		{"same position: not the earlier copy", entry(livePlaylist(5, 6, false), t0), entry(livePlaylist(5, 6, false), t0.Add(-time.Second)), false},
		{"master playlists: by time", entry([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n"), t0), entry([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nb.m3u8\n"), t0.Add(time.Second)), true},
		{"unparsable: by time", entry([]byte("garbage"), t0), entry(livePlaylist(0, 1, false), t0.Add(-time.Second)), false},
	} {
		if got := PlaylistSupersedes(c.old, c.new); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// An origin fill that returns an older playlist than the announced one
// the cache holds must not replace it, whatever the timestamps say.
func TestCacheKeepsTheFurtherPlaylist(t *testing.T) {
	c, err := cache.New(cache.Config{MemoryBytes: 1 << 20, Supersedes: PlaylistSupersedes})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now := time.Now()
	announced := livePlaylist(20, 6, false)
	_ = c.Put(cache.Entry{Key: "live/index.m3u8", Body: announced, Meta: cache.Meta{Stored: now.Add(-time.Second), Expires: now.Add(time.Minute)}})
	_ = c.Put(cache.Entry{Key: "live/index.m3u8", Body: livePlaylist(19, 6, false), Meta: cache.Meta{Stored: now, Expires: now.Add(time.Minute)}})
	if e, ok := c.Get("live/index.m3u8"); !ok || string(e.Body) != string(announced) {
		t.Fatalf("cached %q, want the announced playlist", e.Body)
	}
}
