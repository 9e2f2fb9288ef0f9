package cache

import (
	"testing"
	"time"
)

// TestSupersedesRunsOutsideTheLock: while Put compares two versions of a
// playlist (Supersedes parses both; a large playlist took seconds when the
// parse was quadratic), Gets of other keys and of the same key are
// answered. Supersedes here blocks until the test has seen both Gets.
func TestSupersedesRunsOutsideTheLock(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	c := newTestCache(t, Config{Supersedes: func(old, new Entry) bool {
		close(entered)
		<-release
		return NotOlder(old, new)
	}})
	now := time.Now()
	if err := c.Put(playlist("live/index.m3u8", "#EXTM3U\nv1\n", now)); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(segment("live/seg1.ts", 100)); err != nil {
		t.Fatal(err)
	}
	put := make(chan error, 1)
	go func() { put <- c.Put(playlist("live/index.m3u8", "#EXTM3U\nv2\n", now.Add(time.Second))) }()
	<-entered

	got := make(chan string, 2)
	go func() {
		e, _ := c.Get("live/seg1.ts")
		got <- e.Key
		e, _ = c.Get("live/index.m3u8")
		got <- string(e.Body)
	}()
	for _, want := range []string{"live/seg1.ts", "#EXTM3U\nv1\n"} {
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("Get during the compare: %q, want %q", g, want)
			}
		case <-time.After(10 * time.Second): // a generous bound on a blocked Get; a free one answers at once
			close(release)
			<-put
			t.Fatal("a Get waited for a Put's Supersedes: it runs under the cache's lock")
		}
	}
	close(release)
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	mustGet(t, c, "live/index.m3u8", []byte("#EXTM3U\nv2\n"))
}

// TestSupersedesComparesWithTheEntryStored: when the cached entry changes
// while Put compares against it, Put compares again with the new one, so
// an older version never replaces a newer one that landed meanwhile.
func TestSupersedesComparesWithTheEntryStored(t *testing.T) {
	now := time.Now()
	first, release := make(chan struct{}), make(chan struct{})
	calls := 0
	c := newTestCache(t, Config{Supersedes: func(old, new Entry) bool {
		calls++ // Puts of the slow version only; the fast one is below
		if calls == 1 {
			close(first)
			<-release
		}
		return NotOlder(old, new)
	}})
	if err := c.Put(playlist("live/index.m3u8", "v1", now)); err != nil {
		t.Fatal(err)
	}
	put := make(chan error, 1)
	go func() { put <- c.Put(playlist("live/index.m3u8", "v2", now.Add(time.Second))) }()
	<-first
	// v3 lands while v2 is compared with v1. Its own compare with v1 must
	// not wait either (it is another call of Supersedes).
	c.cfg.Supersedes = NotOlder
	put3 := make(chan error, 1)
	go func() { put3 <- c.Put(playlist("live/index.m3u8", "v3", now.Add(2*time.Second))) }()
	select {
	case err := <-put3:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // generous; a free Put returns at once
		close(release)
		t.Fatal("a Put waited for another Put's Supersedes")
	}
	close(release)
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	mustGet(t, c, "live/index.m3u8", []byte("v3"))
}
