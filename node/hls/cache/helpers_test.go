package cache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestCache(t testing.TB, cfg Config) *Cache {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func segment(key string, size int) Entry {
	body := bytes.Repeat([]byte{byte(len(key))}, size)
	copy(body, key)
	return Entry{
		Key:  key,
		Body: body,
		Meta: Meta{ContentType: "video/mp2t", ETag: fmt.Sprintf(`"%s-%d"`, key, size), Immutable: true},
	}
}

func playlist(key, text string, stored time.Time) Entry {
	return Entry{
		Key:  key,
		Body: []byte(text),
		Meta: Meta{ContentType: "application/vnd.apple.mpegurl", Stored: stored},
	}
}

func mustGet(t *testing.T, c *Cache, key string, want []byte) Entry {
	t.Helper()
	e, ok := c.Get(key)
	if !ok {
		t.Fatalf("Get(%q): miss", key)
	}
	if !bytes.Equal(e.Body, want) {
		t.Fatalf("Get(%q): body of %d bytes differs from the %d put", key, len(e.Body), len(want))
	}
	return e
}

func mustMiss(t *testing.T, c *Cache, key string) {
	t.Helper()
	if _, ok := c.Get(key); ok {
		t.Fatalf("Get(%q): hit, want miss", key)
	}
}

// dirObjects returns the number and total size of object files in dir, and
// fails on any temporary file left behind.
func dirObjects(t *testing.T, dir string) (n int, bytes int64) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			t.Fatalf("temporary file left in %s: %s", dir, de.Name())
		}
		if !isObjectName(de.Name()) {
			continue
		}
		info, err := os.Stat(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		n++
		bytes += info.Size()
	}
	return n, bytes
}
