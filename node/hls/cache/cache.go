package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache is the edge's two-tier object cache. It is safe for concurrent use:
// mu guards the memory LRU, the disk tier locks its own index, and counters
// are atomic.
type Cache struct {
	cfg          Config
	maxMemObject int64
	disk         *diskTier // nil without Config.Dir

	mu  sync.Mutex
	mem *lru[Entry] // guarded by mu

	flight singleflight.Group
	// joinedHook, set by tests only, runs when a FillOutcome caller is
	// registered with its key's flight (DoChan has returned), so that a
	// test can tell a joined caller from a late one without sleeping.
	joinedHook func()

	// Fill lifecycle: fills run under base, which Close cancels; fillsMu
	// orders fills.Add against Close's fills.Wait.
	base    context.Context
	stop    context.CancelFunc
	fillsMu sync.Mutex
	closed  bool // guarded by fillsMu
	fills   sync.WaitGroup

	memHits, diskHits, misses atomic.Uint64
	expired, tooLarge         atomic.Uint64
	fillCount, fillErrs       atomic.Uint64
}

// New builds a Cache. With Config.Dir set it opens the disk tier and
// rebuilds its index from the directory before returning.
func New(cfg Config) (*Cache, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache{
		cfg:          cfg,
		maxMemObject: int64(cfg.MaxObjectFraction * float64(cfg.MemoryBytes)),
		mem:          newLRU[Entry](cfg.MemoryBytes, nil),
	}
	if cfg.Dir != "" {
		if c.disk, err = openDisk(cfg.Dir, cfg.DiskBytes, cfg.Logger); err != nil {
			return nil, err
		}
	}
	c.base, c.stop = context.WithCancel(context.Background())
	return c, nil
}

// Get returns the live entry under key: from memory, else from disk (and
// then keeps it in memory too, if it fits).
func (c *Cache) Get(key string) (Entry, bool) { return c.get(key, true) }

// get is Get; count says whether to update the hit and miss counters (Fill's
// re-check inside the flight does not, its caller has counted its miss).
func (c *Cache) get(key string, count bool) (Entry, bool) {
	now := c.cfg.Now()
	c.mu.Lock()
	e, ok := c.mem.get(key)
	if ok && !e.live(now) {
		// Expired entries stay (as LRU entries like any other) while
		// they may still be served stale; see Stale.
		if !c.mayServeStale(e, now) {
			c.mem.remove(key)
		}
		c.expired.Add(1)
		ok = false
	}
	c.mu.Unlock()
	if ok {
		if count {
			c.memHits.Add(1)
		}
		return e, true
	}
	if c.disk != nil {
		if e, ok := c.disk.get(key); ok {
			if e.Size <= c.maxMemObject {
				c.mu.Lock()
				c.mem.add(key, e, e.Size)
				c.mu.Unlock()
			}
			if count {
				c.diskHits.Add(1)
			}
			return e, true
		}
	}
	if count {
		c.misses.Add(1)
	}
	return Entry{}, false
}

// Stale returns the mutable entry under key if it has expired, but by no
// more than Config.MaxStale: a copy the edge may serve when it cannot get
// a fresh one (stale-if-error, RFC 5861). It does not count as a hit or
// a miss.
func (c *Cache) Stale(key string) (Entry, bool) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.mem.peek(key)
	if !ok || e.live(now) || !c.mayServeStale(e, now) {
		return Entry{}, false
	}
	return e, true
}

func (c *Cache) mayServeStale(e Entry, now time.Time) bool {
	return !e.Immutable && now.Before(e.Expires.Add(c.cfg.MaxStale))
}

// Put stores e, replacing what is stored under e.Key, with two exceptions:
// a mutable entry that does not supersede the live mutable entry it would
// replace (Config.Supersedes) is ignored, and so is a mutable entry
// already expired. Put sets
// Size, and Stored and Expires when zero (see Meta). Immutable entries are
// also written to the disk tier, synchronously; a failure there is logged
// and counted in Stats, not returned: the entry is cached, only less widely.
// The error is for an invalid key only.
func (c *Cache) Put(e Entry) error {
	_, err := c.put(e)
	return err
}

func (c *Cache) put(e Entry) (Entry, error) {
	if err := validKey(e.Key); err != nil {
		return e, err
	}
	now := c.cfg.Now()
	e.Size = int64(len(e.Body))
	if e.Stored.IsZero() {
		e.Stored = now
	}
	if e.Immutable {
		e.Expires = time.Time{}
	} else if e.Expires.IsZero() {
		e.Expires = e.Stored.Add(c.cfg.MutableTTL)
	}

	c.mu.Lock()
	for !e.Immutable {
		old, ok := c.mem.peek(e.Key)
		if !ok || old.Immutable || !old.live(now) {
			break
		}
		// Supersedes parses both playlists, which can be large: it runs
		// outside mu so that it holds up no other key's Get. If the entry
		// changed meanwhile, compare against the new one.
		c.mu.Unlock()
		supersedes := c.cfg.Supersedes(old, e)
		c.mu.Lock()
		if cur, ok := c.mem.peek(e.Key); !ok || !sameVersion(cur, old) {
			continue
		}
		if !supersedes {
			c.mu.Unlock()
			return old, nil // a newer version is already here
		}
		break
	}
	switch {
	case !e.live(now):
		c.mu.Unlock()
		return e, nil // nothing to keep
	case e.Size > c.maxMemObject:
		c.mem.remove(e.Key)
		c.tooLarge.Add(1)
	default:
		c.mem.add(e.Key, e, e.Size)
	}
	c.mu.Unlock()

	if c.disk != nil {
		if e.Immutable {
			if err := c.disk.put(&e); err != nil {
				c.cfg.Logger.Warn("disk write failed", "key", e.Key, "err", err)
			}
		} else {
			// A key that turns mutable must not be served from an
			// older immutable copy on disk.
			c.disk.remove(e.Key)
		}
	}
	return e, nil
}

// sameVersion reports whether a and b are the same stored entry: the
// same Stored time and the same body (by identity, not content, so that
// the check is O(1)).
func sameVersion(a, b Entry) bool {
	return a.Stored.Equal(b.Stored) && len(a.Body) == len(b.Body) &&
		(len(a.Body) == 0 || &a.Body[0] == &b.Body[0])
}

// Delete removes key from both tiers (ingest deleting an old segment).
// A Get or Fill of the same key running at the same time may still store
// the old object; Delete is meant for objects no player asks for anymore.
func (c *Cache) Delete(key string) {
	c.mu.Lock()
	c.mem.remove(key)
	c.mu.Unlock()
	if c.disk != nil {
		c.disk.remove(key)
	}
}

// TierStats describes one tier.
type TierStats struct {
	Bytes     int64 // bodies in memory; whole files on disk
	MaxBytes  int64
	Entries   int
	Evictions uint64 // entries removed to make room
}

// Stats are counters since New, and the tiers' current sizes.
type Stats struct {
	Hits       uint64 // MemoryHits + DiskHits
	MemoryHits uint64
	DiskHits   uint64
	Misses     uint64
	// Fills counts runs of a fill function (at most one per key at a
	// time); FillErrors those that failed.
	Fills      uint64
	FillErrors uint64
	// Expired counts Gets that found a mutable entry expired (a miss;
	// the entry is kept for Stale until Config.MaxStale has passed too).
	Expired uint64
	// TooLarge counts entries not kept in memory for their size.
	TooLarge uint64
	// DiskErrors counts failed disk writes, reads and removals;
	// DiskCorrupt the partial or corrupt files found and deleted.
	DiskErrors  uint64
	DiskCorrupt uint64

	Memory TierStats
	Disk   TierStats // zero without a disk tier
}

// Stats returns a snapshot of the counters.
func (c *Cache) Stats() Stats {
	s := Stats{
		MemoryHits: c.memHits.Load(),
		DiskHits:   c.diskHits.Load(),
		Misses:     c.misses.Load(),
		Fills:      c.fillCount.Load(),
		FillErrors: c.fillErrs.Load(),
		Expired:    c.expired.Load(),
		TooLarge:   c.tooLarge.Load(),
	}
	s.Hits = s.MemoryHits + s.DiskHits
	c.mu.Lock()
	s.Memory = TierStats{
		Bytes:     c.mem.size(),
		MaxBytes:  c.mem.maxBytes,
		Entries:   c.mem.len(),
		Evictions: c.mem.evictions,
	}
	c.mu.Unlock()
	if c.disk != nil {
		s.Disk = c.disk.stats()
		s.DiskErrors = c.disk.errs.Load()
		s.DiskCorrupt = c.disk.corrupt.Load()
	}
	return s
}

// Peek is Get without counting a hit or a miss: for answering peers that
// ask "only if you have it", which says nothing about this edge's players.
func (c *Cache) Peek(key string) (Entry, bool) { return c.get(key, false) }

// Has reports whether a live entry is cached under key, in either tier,
// without counting a hit or miss or refreshing its recency: for work the
// edge does on its own (prefetching), which must not skew the player
// statistics.
func (c *Cache) Has(key string) bool {
	now := c.cfg.Now()
	c.mu.Lock()
	e, ok := c.mem.peek(key)
	c.mu.Unlock()
	if ok && e.live(now) {
		return true
	}
	return c.disk != nil && c.disk.has(key)
}
