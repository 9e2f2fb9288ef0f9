package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Cache. Zero fields take the defaults written beside
// them, applied in one place (withDefaults); negative values are errors.
type Config struct {
	// MemoryBytes bounds the total size of the bodies held in memory.
	// Default 256 MiB: about two minutes of a 5 Mbit/s rendition per
	// 10 streams, and small next to an edge's RAM. Larger keeps more of
	// the live window hot; the bound counts bodies only, not the few
	// hundred bytes of bookkeeping per entry.
	MemoryBytes int64

	// MaxObjectFraction is the largest share of MemoryBytes one object may
	// take in memory; bigger objects are served from disk (immutable) or
	// not cached at all (mutable). Default 1/8, as groupcache's hot cache:
	// one large object can then displace at most an eighth of the tier.
	// Must be in (0, 1].
	MaxObjectFraction float64

	// Dir, if set, enables the disk tier in that directory (created if
	// missing). Only immutable objects go to disk. The directory must not
	// be shared with another Cache or process; files in it that are not
	// the cache's are left alone.
	Dir string

	// DiskBytes bounds the total size of the object files in Dir.
	// Default 10 GiB. Files being written are not counted until renamed
	// into place, so the directory can briefly exceed the bound by the
	// objects in flight.
	DiskBytes int64

	// MutableTTL is how long a mutable entry (a live playlist) put without
	// an Expires is served. Default 1 s: a fraction of a typical 2-6 s
	// target duration, so players see new segments promptly even without
	// the mesh's push updates; shorter costs more origin GETs.
	MutableTTL time.Duration

	// MaxStale is how long after its expiry a mutable entry is still
	// kept for Stale (served while the origin is unreachable). Default
	// 10 min: long enough to ride out an origin restart; a live playlist
	// older than that lists segments players have long moved past.
	MaxStale time.Duration

	// FillTimeout bounds each fill run by Fill. The fill runs detached
	// from any single caller's context (a caller giving up must not fail
	// the others), so this is what stops a hung origin from holding the
	// flight forever. Default 10 s.
	FillTimeout time.Duration

	// Supersedes reports whether a new version of a mutable entry may
	// replace the live one cached: Put keeps old otherwise. Default: new
	// is not older by Stored. Live playlists need better: versions come
	// from different clocks (the ingest node's announcement, this node's
	// origin fill), so the HLS server compares what the playlists list.
	// Put calls it without the cache's lock held (it may parse large
	// playlists), and again if the entry changed meanwhile.
	Supersedes func(old, new Entry) bool

	// Logger receives disk-tier warnings. Default: discard.
	Logger *slog.Logger

	// Now is the clock for expiry and Stored times. Default time.Now;
	// tests set a fake one.
	Now func() time.Time
}

// DefaultConfig returns the defaults, memory tier only.
func DefaultConfig() Config {
	return Config{
		MemoryBytes:       256 << 20,
		MaxObjectFraction: 1.0 / 8,
		DiskBytes:         10 << 30,
		MutableTTL:        time.Second,
		MaxStale:          10 * time.Minute,
		FillTimeout:       10 * time.Second,
	}
}

// withDefaults validates c and fills its zero fields from DefaultConfig.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.MemoryBytes < 0 {
		errs = append(errs, fmt.Errorf("MemoryBytes: %d is negative", c.MemoryBytes))
	}
	if c.MaxObjectFraction < 0 || c.MaxObjectFraction > 1 {
		errs = append(errs, fmt.Errorf("MaxObjectFraction: %v is not in (0, 1]", c.MaxObjectFraction))
	}
	if c.DiskBytes < 0 {
		errs = append(errs, fmt.Errorf("DiskBytes: %d is negative", c.DiskBytes))
	}
	if c.MutableTTL < 0 {
		errs = append(errs, fmt.Errorf("MutableTTL: %v is negative", c.MutableTTL))
	}
	if c.MaxStale < 0 {
		errs = append(errs, fmt.Errorf("MaxStale: %v is negative", c.MaxStale))
	}
	if c.FillTimeout < 0 {
		errs = append(errs, fmt.Errorf("FillTimeout: %v is negative", c.FillTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("cache: invalid config: %w", err)
	}
	d := DefaultConfig()
	if c.MemoryBytes == 0 {
		c.MemoryBytes = d.MemoryBytes
	}
	if c.MaxObjectFraction == 0 {
		c.MaxObjectFraction = d.MaxObjectFraction
	}
	if c.DiskBytes == 0 {
		c.DiskBytes = d.DiskBytes
	}
	if c.MutableTTL == 0 {
		c.MutableTTL = d.MutableTTL
	}
	if c.MaxStale == 0 {
		c.MaxStale = d.MaxStale
	}
	if c.FillTimeout == 0 {
		c.FillTimeout = d.FillTimeout
	}
	if c.Supersedes == nil {
		c.Supersedes = NotOlder
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// NotOlder is the default Supersedes: new replaces old unless old was
// stored later.
func NotOlder(old, new Entry) bool { return !old.Stored.After(new.Stored) }
