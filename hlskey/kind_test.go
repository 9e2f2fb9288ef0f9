package hlskey

import "testing"

func TestKindOf(t *testing.T) {
	for p, want := range map[string]bool{"a.m3u8": true, "A.TS": true, "init.mp4": true, "x.m4s": true, "x.exe": false, "noext": false} {
		if _, _, ok := KindOf(p); ok != want {
			t.Errorf("KindOf(%q) = %v", p, ok)
		}
	}
}

func TestIsPlaylist(t *testing.T) {
	for key, want := range map[string]bool{"live/index.m3u8": true, "live/720p/index.m3u8": true,
		"live/seg1.ts": false, "live/INDEX.M3U8": false, "live/m3u8": false} {
		if got := IsPlaylist(key); got != want {
			t.Errorf("IsPlaylist(%q) = %v, want %v", key, got, want)
		}
	}
}
