package cache

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestDiskSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{MemoryBytes: 1 << 20, Dir: dir, DiskBytes: 1 << 20}
	c1 := newTestCache(t, cfg)
	segs := []Entry{segment("live/init.mp4", 700), segment("live/seg1.m4s", 5000), segment("live/seg2.m4s", 6000)}
	for _, e := range segs {
		c1.Put(e)
	}
	c1.Put(playlist("live/index.m3u8", "#EXTM3U", time.Time{}))
	before := c1.Stats().Disk
	c1.Close()

	c2 := newTestCache(t, cfg) // the "restart": a new Cache on the same dir
	if s := c2.Stats(); s.Disk.Entries != 3 || s.Disk.Bytes != before.Bytes || s.Memory.Entries != 0 {
		t.Fatalf("after restart: %+v, before %+v", s, before)
	}
	for _, e := range segs {
		got := mustGet(t, c2, e.Key, e.Body)
		if got.ETag != e.ETag || got.ContentType != e.ContentType || got.Size != int64(len(e.Body)) || !got.Immutable {
			t.Fatalf("%s: meta after restart %+v", e.Key, got.Meta)
		}
	}
	mustMiss(t, c2, "live/index.m3u8") // mutable: memory only
	if s := c2.Stats(); s.DiskHits != 3 || s.Memory.Entries != 3 {
		t.Fatalf("disk hits were not served and promoted: %+v", s)
	}
	// Promoted: the second round is served from memory.
	for _, e := range segs {
		mustGet(t, c2, e.Key, e.Body)
	}
	if s := c2.Stats(); s.MemoryHits != 3 {
		t.Fatalf("memory hits %d, want 3", s.MemoryHits)
	}
}

func TestDiskRecencySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	// A fixed Stored makes every file below the same length.
	stored := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seg := func(k string) Entry {
		e := segment(k, 1000)
		e.Stored = stored
		return e
	}
	one := seg("s/a")
	hdr, _ := encodeHeader(&one)
	fileLen := int64(len(hdr) + 1000)
	cfg := Config{MemoryBytes: 1 << 20, Dir: dir, DiskBytes: 3 * fileLen}
	c1 := newTestCache(t, cfg)
	for _, k := range []string{"s/a", "s/b", "s/c"} {
		c1.Put(seg(k))
	}
	if s := c1.Stats().Disk; s.Entries != 3 || s.Bytes != 3*fileLen {
		t.Fatalf("disk %+v, file %d", s, fileLen)
	}
	c1.Close()
	// Pin the modification times (the recency the index is rebuilt in) so
	// the test does not depend on the file system's timestamp resolution.
	base := time.Now().Add(-time.Hour)
	for i, k := range []string{"s/b", "s/c", "s/a"} {
		ts := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(filepath.Join(dir, fileName(k)), ts, ts); err != nil {
			t.Fatal(err)
		}
	}
	c2 := newTestCache(t, cfg)
	c2.Put(seg("s/d")) // evicts s/b, the oldest
	mustMiss(t, c2, "s/b")
	for _, k := range []string{"s/a", "s/c", "s/d"} {
		mustGet(t, c2, k, seg(k).Body)
	}
	// A disk hit refreshes the file's time.
	p := filepath.Join(dir, fileName("s/c"))
	c2.Delete("s/c")
	c2.Put(seg("s/c"))
	os.Chtimes(p, base, base)
	c3 := newTestCache(t, Config{MemoryBytes: 1 << 20, Dir: dir, DiskBytes: 3 * fileLen})
	mustGet(t, c3, "s/c", seg("s/c").Body)
	if info, err := os.Stat(p); err != nil || !info.ModTime().After(base.Add(time.Minute)) {
		t.Fatalf("disk hit did not refresh the modification time: %v %v", info.ModTime(), err)
	}

	// A lowered bound evicts at start, oldest first.
	c4 := newTestCache(t, Config{MemoryBytes: 1 << 20, Dir: dir, DiskBytes: fileLen})
	if s := c4.Stats().Disk; s.Entries != 1 || s.Bytes != fileLen {
		t.Fatalf("disk after lowering the bound: %+v", s)
	}
	mustGet(t, c4, "s/c", seg("s/c").Body)
	if n, _ := dirObjects(t, dir); n != 1 {
		t.Fatalf("%d files left, want 1", n)
	}
}

func TestDiskCorruptAndPartialFilesAreCleaned(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{MemoryBytes: 1 << 20, Dir: dir, DiskBytes: 1 << 20}
	c1 := newTestCache(t, cfg)
	for _, k := range []string{"s/good", "s/truncated", "s/flipped", "s/moved"} {
		c1.Put(segment(k, 4000))
	}
	c1.Close()

	path := func(k string) string { return filepath.Join(dir, fileName(k)) }
	write := func(p string, data []byte) {
		t.Helper()
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A crash mid-write leaves a temporary file.
	write(filepath.Join(dir, tempPrefix+"123456"), []byte("RMHC\x01partial"))
	// A torn object: shorter than its header says.
	if err := os.Truncate(path("s/truncated"), 3000); err != nil {
		t.Fatal(err)
	}
	// Bit rot in the body: same length, wrong checksum (found on read).
	data, _ := os.ReadFile(path("s/flipped"))
	data[len(data)-1] ^= 0xff
	write(path("s/flipped"), data)
	// A valid object under another key's name.
	if err := os.Rename(path("s/moved"), path("s/elsewhere")); err != nil {
		t.Fatal(err)
	}
	// Garbage with an object's name, and an empty one.
	write(path("s/garbage"), []byte("not a cache file at all"))
	write(path("s/empty"), nil)
	// Files that are not the cache's are left alone.
	write(filepath.Join(dir, "README"), []byte("keep me"))

	c2 := newTestCache(t, cfg)
	s := c2.Stats()
	if s.Disk.Entries != 2 || s.DiskCorrupt != 5 {
		t.Fatalf("after start: %d entries, %d corrupt; want 2 (good, flipped) and 5", s.Disk.Entries, s.DiskCorrupt)
	}
	mustGet(t, c2, "s/good", segment("s/good", 4000).Body)
	mustMiss(t, c2, "s/flipped")
	for _, k := range []string{"s/truncated", "s/moved", "s/elsewhere", "s/garbage", "s/empty"} {
		mustMiss(t, c2, k)
	}
	s = c2.Stats()
	if s.Disk.Entries != 1 || s.DiskCorrupt != 6 {
		t.Fatalf("after reads: %d entries, %d corrupt; want 1 and 6", s.Disk.Entries, s.DiskCorrupt)
	}
	des, _ := os.ReadDir(dir)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{fileName("s/good"), "README"}) {
		t.Fatalf("directory holds %v, want README and the good object", names)
	}
}

func TestKeysNeverBecomePaths(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	c := newTestCache(t, Config{Dir: dir, DiskBytes: 1 << 20})
	for _, k := range []string{"../../" + filepath.Base(outside) + "/x", "/etc/passwd", "s/\x00nul", "s/a/../../b"} {
		c.Put(segment(k, 10))
		mustGet(t, c, k, segment(k, 10).Body)
	}
	if n, _ := dirObjects(t, dir); n != 4 {
		t.Fatalf("%d object files, want 4", n)
	}
	if des, _ := os.ReadDir(outside); len(des) != 0 {
		t.Fatalf("files written outside the cache dir: %v", des)
	}
}
