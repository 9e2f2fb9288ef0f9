package cache

import (
	"fmt"
	"testing"
)

// BenchmarkGetHit measures a memory hit, the path nearly every player
// request takes. Run: go test -run '^$' -bench GetHit ./node/hls/cache/
func BenchmarkGetHit(b *testing.B) {
	c := newTestCache(b, Config{MemoryBytes: 64 << 20})
	keys := benchKeys(c, 1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Get(keys[i%len(keys)]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

// BenchmarkGetHitParallel is the same under contention on the cache mutex.
func BenchmarkGetHitParallel(b *testing.B) {
	c := newTestCache(b, Config{MemoryBytes: 64 << 20})
	keys := benchKeys(c, 1000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i%len(keys)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}

func benchKeys(c *Cache, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("live/720p/seg%05d.ts", i)
		c.Put(segment(keys[i], 16<<10))
	}
	return keys
}
