package cache

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	_, err := New(Config{MemoryBytes: -1, MaxObjectFraction: 2, FillTimeout: -time.Second})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"MemoryBytes: -1", "MaxObjectFraction: 2", "FillTimeout: -1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	c := newTestCache(t, Config{})
	if s := c.Stats(); s.Memory.MaxBytes != DefaultConfig().MemoryBytes {
		t.Fatalf("default memory bound %d", s.Memory.MaxBytes)
	}
}

func TestPutGetDeleteMemory(t *testing.T) {
	c := newTestCache(t, Config{MemoryBytes: 1000})
	e := segment("live/seg1.ts", 100)
	if err := c.Put(e); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, c, "live/seg1.ts", e.Body)
	if got.Size != 100 || got.ContentType != "video/mp2t" || got.ETag != e.ETag || got.Stored.IsZero() || !got.Immutable {
		t.Fatalf("meta %+v", got.Meta)
	}
	mustMiss(t, c, "live/seg2.ts")
	c.Delete("live/seg1.ts")
	mustMiss(t, c, "live/seg1.ts")
	s := c.Stats()
	if s.Hits != 1 || s.MemoryHits != 1 || s.Misses != 2 || s.Memory.Entries != 0 || s.Memory.Bytes != 0 {
		t.Fatalf("stats %+v", s)
	}
	for _, bad := range []string{"", strings.Repeat("k", MaxKeyLen+1)} {
		if err := c.Put(Entry{Key: bad, Body: []byte("x")}); err == nil {
			t.Errorf("Put with key of %d bytes accepted", len(bad))
		}
	}
}

func TestMemoryEvictsLRUByBytes(t *testing.T) {
	c := newTestCache(t, Config{MemoryBytes: 300, MaxObjectFraction: 1})
	for _, k := range []string{"s/a", "s/b", "s/c"} {
		c.Put(segment(k, 100))
	}
	c.Get("s/a")
	c.Put(segment("s/d", 100)) // evicts s/b
	mustMiss(t, c, "s/b")
	for _, k := range []string{"s/a", "s/c", "s/d"} {
		mustGet(t, c, k, segment(k, 100).Body)
	}
	if s := c.Stats(); s.Memory.Bytes != 300 || s.Memory.Evictions != 1 {
		t.Fatalf("stats %+v", s.Memory)
	}
}

func TestLargeObjectsSkipMemory(t *testing.T) {
	dir := t.TempDir()
	c := newTestCache(t, Config{MemoryBytes: 1000, MaxObjectFraction: 0.25, Dir: dir, DiskBytes: 1 << 20})
	c.Put(segment("s/small.ts", 100))
	big := segment("s/big.ts", 251) // > 1000 * 0.25
	c.Put(big)
	// Served from disk, and not promoted into memory.
	mustGet(t, c, "s/big.ts", big.Body)
	mustGet(t, c, "s/big.ts", big.Body)
	s := c.Stats()
	if s.Memory.Entries != 1 || s.Memory.Bytes != 100 || s.DiskHits != 2 || s.TooLarge != 1 {
		t.Fatalf("stats %+v", s)
	}
	// A large mutable entry has nowhere to go: not cached at all.
	c.Put(playlist("s/huge.m3u8", strings.Repeat("#", 300), time.Time{}))
	mustMiss(t, c, "s/huge.m3u8")
}

func TestMutableExpiresAndIsReplaced(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	c := newTestCache(t, Config{MemoryBytes: 1 << 20, MutableTTL: time.Second, Now: clock.Now, Dir: dir})
	t0 := clock.Now()

	c.Put(playlist("s/index.m3u8", "v1", time.Time{}))
	e := mustGet(t, c, "s/index.m3u8", []byte("v1"))
	if e.Immutable || !e.Expires.Equal(t0.Add(time.Second)) {
		t.Fatalf("meta %+v", e.Meta)
	}
	clock.Advance(999 * time.Millisecond)
	mustGet(t, c, "s/index.m3u8", []byte("v1"))
	clock.Advance(time.Millisecond)
	mustMiss(t, c, "s/index.m3u8")
	if s := c.Stats(); s.Expired != 1 || s.Memory.Entries != 1 {
		t.Fatalf("stats %+v (the expired entry is kept for Stale)", s)
	}

	// A newer version replaces; an older one arriving late does not.
	now := clock.Now()
	c.Put(playlist("s/index.m3u8", "v3", now.Add(-time.Millisecond)))
	c.Put(playlist("s/index.m3u8", "v2", now.Add(-2*time.Millisecond)))
	mustGet(t, c, "s/index.m3u8", []byte("v3"))
	c.Put(playlist("s/index.m3u8", "v4", now))
	mustGet(t, c, "s/index.m3u8", []byte("v4"))
	// An explicit Expires wins over the TTL.
	pl := playlist("s/index.m3u8", "v5", now.Add(time.Millisecond))
	pl.Expires = now.Add(10 * time.Second)
	c.Put(pl)
	clock.Advance(5 * time.Second)
	mustGet(t, c, "s/index.m3u8", []byte("v5"))
	// Already expired: not stored.
	c.Put(Entry{Key: "s/old.m3u8", Body: []byte("x"), Meta: Meta{Expires: clock.Now()}})
	mustMiss(t, c, "s/old.m3u8")

	// Mutable entries never reach the disk tier.
	if n, _ := dirObjects(t, dir); n != 0 {
		t.Fatalf("%d files on disk for mutable entries", n)
	}
	// And a key turning mutable drops its immutable copy from disk.
	c.Put(segment("s/x", 10))
	c.Put(playlist("s/x", "now mutable", time.Time{}))
	if n, _ := dirObjects(t, dir); n != 0 {
		t.Fatalf("immutable copy of s/x left on disk")
	}
}

// Acceptance 6 of issue 4: a workload larger than the cache keeps both tiers
// within their bounds, and every hit returns the right object.
func TestBoundsHoldUnderLargeWorkload(t *testing.T) {
	const memBytes, diskBytes = 64 << 10, 256 << 10
	dir := t.TempDir()
	c := newTestCache(t, Config{MemoryBytes: memBytes, MaxObjectFraction: 0.25, Dir: dir, DiskBytes: diskBytes})
	rng := rand.New(rand.NewPCG(1, 2))
	var keys []string
	want := map[string][]byte{}
	var total int64
	for i := range 600 {
		e := segment(fmt.Sprintf("s/seg%04d.ts", i), 1+rng.IntN(20<<10))
		keys = append(keys, e.Key)
		want[e.Key] = e.Body
		total += int64(len(e.Body))
		if err := c.Put(e); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			k := keys[rng.IntN(len(keys))]
			if got, ok := c.Get(k); ok && string(got.Body) != string(want[k]) {
				t.Fatalf("Get(%q) returned another object", k)
			}
		}
		s := c.Stats()
		if s.Memory.Bytes > memBytes || s.Disk.Bytes > diskBytes {
			t.Fatalf("after %d puts: memory %d/%d disk %d/%d", i+1, s.Memory.Bytes, memBytes, s.Disk.Bytes, diskBytes)
		}
	}
	if total < 10*diskBytes {
		t.Fatalf("workload of %d bytes is not much larger than the cache", total)
	}
	s := c.Stats()
	n, size := dirObjects(t, dir)
	if n != s.Disk.Entries || size != s.Disk.Bytes || size > diskBytes {
		t.Fatalf("directory holds %d files, %d bytes; index says %d, %d (bound %d)", n, size, s.Disk.Entries, s.Disk.Bytes, diskBytes)
	}
	if s.Memory.Evictions == 0 || s.Disk.Evictions == 0 || s.DiskErrors != 0 {
		t.Fatalf("stats %+v", s)
	}
	t.Logf("workload %d bytes; memory %d entries %d bytes; disk %d entries %d bytes; hits %d misses %d",
		total, s.Memory.Entries, s.Memory.Bytes, s.Disk.Entries, s.Disk.Bytes, s.Hits, s.Misses)
}

// TestStaleServesExpiredPlaylistsForMaxStale: an expired playlist is a
// miss for Get but Stale returns it until MaxStale after its expiry; then
// it is gone. Immutable and live entries are never "stale".
func TestStaleServesExpiredPlaylistsForMaxStale(t *testing.T) {
	clock := newFakeClock()
	c := newTestCache(t, Config{MemoryBytes: 1 << 20, MutableTTL: time.Second, MaxStale: time.Minute, Now: clock.Now})
	c.Put(playlist("s/index.m3u8", "v1", time.Time{}))
	c.Put(segment("s/seg1.ts", 10))
	if _, ok := c.Stale("s/index.m3u8"); ok {
		t.Fatal("Stale returned a live playlist")
	}
	if _, ok := c.Stale("s/seg1.ts"); ok {
		t.Fatal("Stale returned an immutable segment")
	}
	clock.Advance(2 * time.Second)
	mustMiss(t, c, "s/index.m3u8")
	e, ok := c.Stale("s/index.m3u8")
	if !ok || string(e.Body) != "v1" {
		t.Fatalf("Stale after expiry = %q, %v; want v1", e.Body, ok)
	}
	clock.Advance(time.Minute)
	if _, ok := c.Stale("s/index.m3u8"); ok {
		t.Fatal("Stale returned a playlist expired for longer than MaxStale")
	}
	mustMiss(t, c, "s/index.m3u8")
	if s := c.Stats(); s.Memory.Entries != 1 { // only the segment is left
		t.Fatalf("stats %+v: the playlist past MaxStale is still held", s)
	}
}
