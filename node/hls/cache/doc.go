// Package cache is the edge's store of HLS objects (playlists, init and
// media segments), keyed by "{stream}/{path}", the same key the origin uses.
//
// It has two tiers:
//
//   - memory: an LRU bounded by total bytes. Objects larger than a fraction of
//     the bound (Config.MaxObjectFraction) are never kept in memory, so one
//     huge object cannot flush every hot segment.
//   - disk (optional, Config.Dir): an LRU of files bounded by total bytes,
//     holding immutable objects only. Files are written to a temporary name,
//     fsynced and renamed into place, so a crash leaves either the whole
//     object or a temporary file that the next start deletes. The index is
//     rebuilt from the directory at start, so the disk tier survives restarts.
//
// Media and init segments are immutable: once stored they are served until
// evicted or deleted. Playlists are mutable: they are kept in memory only,
// until their expiry time, and a newer version replaces an older one.
//
// Fill coalesces misses: however many callers ask for one missing key at
// once, the fill function runs once (golang.org/x/sync/singleflight) and all
// of them get its result.
//
// Locking: lru and the disk format are single-threaded building blocks; the
// Cache holds one mutex around the memory LRU and the disk tier holds its own
// around its index, and file I/O happens outside both.
package cache
