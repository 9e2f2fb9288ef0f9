package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// diskTier keeps immutable objects as files in one directory, bounded by the
// total size of the files (LRU). Its index lives in memory and is rebuilt
// from the directory by openDisk.
//
// mu guards the index and every rename or removal in the directory, so the
// index and the directory agree; reading, writing and fsyncing object bodies
// happen outside it. Two processes must not share a directory.
type diskTier struct {
	dir string
	log *slog.Logger

	mu    sync.Mutex
	index *lru[diskItem] // guarded by mu; evicting an item removes its file

	corrupt atomic.Uint64 // corrupt or partial files found and deleted
	errs    atomic.Uint64 // I/O errors other than corruption
}

type diskItem struct {
	etag string
}

// openDisk opens (creating if needed) a disk tier in dir bounded by maxBytes
// and rebuilds its index from the files there: partial writes and corrupt
// files are deleted, files that are not the cache's are left alone, and if
// the files exceed maxBytes (the bound was lowered) the least recently used
// are evicted.
func openDisk(dir string, maxBytes int64, log *slog.Logger) (*diskTier, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cache: disk dir: %w", err)
	}
	d := &diskTier{dir: dir, log: log}
	d.index = newLRU(maxBytes, func(key string, _ diskItem) { d.removeFileLocked(key) })
	if err := d.load(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *diskTier) path(key string) string { return filepath.Join(d.dir, fileName(key)) }

func (d *diskTier) load() error {
	des, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("cache: reading disk dir: %w", err)
	}
	type found struct {
		key, etag string
		size      int64
		mtime     time.Time
	}
	var objs []found
	for _, de := range des {
		name := de.Name()
		full := filepath.Join(d.dir, name)
		if strings.HasPrefix(name, tempPrefix) && de.Type().IsRegular() {
			d.corrupt.Add(1)
			d.log.Info("deleting partial cache file", "file", full)
			d.removeQuietly(full)
			continue
		}
		if !isObjectName(name) || !de.Type().IsRegular() {
			d.log.Debug("ignoring file that is not a cache object", "file", full)
			continue
		}
		h, info, err := statObject(full)
		if err == nil && fileName(h.Key) != name {
			err = fmt.Errorf("%w: name does not match key %q", errCorrupt, h.Key)
		}
		if err != nil {
			if errors.Is(err, errCorrupt) {
				d.corrupt.Add(1)
				d.log.Warn("deleting corrupt cache file", "file", full, "err", err)
				d.removeQuietly(full)
			} else {
				d.errs.Add(1)
				d.log.Warn("skipping unreadable cache file", "file", full, "err", err)
			}
			continue
		}
		objs = append(objs, found{key: h.Key, etag: h.ETag, size: info.Size(), mtime: info.ModTime()})
	}
	// Oldest first, so the most recently used ends up at the front and a
	// lowered bound evicts the least recently used.
	slices.SortFunc(objs, func(a, b found) int { return a.mtime.Compare(b.mtime) })
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range objs {
		if !d.index.add(o.key, diskItem{etag: o.etag}, o.size) {
			d.removeFileLocked(o.key) // bigger than the whole bound
		}
	}
	return nil
}

// statObject checks the prefix and header of the object file at path.
func statObject(path string) (fileHeader, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileHeader{}, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fileHeader{}, nil, err
	}
	h, _, err := readHeader(f, info.Size())
	return h, info, err
}

// has reports whether the index has key, without reading it.
func (d *diskTier) has(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.index.peek(key)
	return ok
}

// get reads key's object, if the index has it. A file that turns out corrupt
// is deleted and reported as a miss.
func (d *diskTier) get(key string) (Entry, bool) {
	d.mu.Lock()
	_, ok := d.index.get(key)
	d.mu.Unlock()
	if !ok {
		return Entry{}, false
	}
	p := d.path(key)
	data, err := os.ReadFile(p)
	var e Entry
	if err == nil {
		e, err = decodeFile(data, key)
	}
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Evicted or deleted since the index lookup, or removed by
			// hand: make sure the index forgets it.
		case errors.Is(err, errCorrupt):
			d.corrupt.Add(1)
			d.log.Warn("deleting corrupt cache file", "file", p, "key", key, "err", err)
		default:
			d.errs.Add(1)
			d.log.Warn("reading cache file", "file", p, "key", key, "err", err)
		}
		d.remove(key)
		return Entry{}, false
	}
	// The modification time is the recency openDisk orders by after a
	// restart. Best effort: a failure only makes the order less exact.
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return e, true
}

// put writes e (immutable) to disk: to a temporary file, fsynced, then
// renamed into place, so the directory never holds a partial object under
// an object name. The directory itself is not fsynced: losing a rename in a
// power cut only loses a cached copy.
func (d *diskTier) put(e *Entry) error {
	hdr, err := encodeHeader(e)
	if err != nil {
		d.errs.Add(1)
		return fmt.Errorf("cache: disk put %q: %w", e.Key, err)
	}
	size := int64(len(hdr) + len(e.Body))
	d.mu.Lock()
	if it, ok := d.index.peek(e.Key); ok && it.etag != "" && it.etag == e.ETag {
		d.index.get(e.Key) // same object already there: only touch it
		d.mu.Unlock()
		return nil
	}
	tooBig := size > d.index.maxBytes
	d.mu.Unlock()
	if tooBig {
		d.remove(e.Key) // an older version must not outlive this one
		return nil
	}

	tmp, err := d.writeTemp(hdr, e.Body)
	if err != nil {
		d.errs.Add(1)
		return fmt.Errorf("cache: disk put %q: %w", e.Key, err)
	}
	d.mu.Lock()
	err = os.Rename(tmp, d.path(e.Key))
	if err == nil {
		d.index.add(e.Key, diskItem{etag: e.ETag}, size)
	}
	d.mu.Unlock()
	if err != nil {
		d.errs.Add(1)
		d.removeQuietly(tmp)
		return fmt.Errorf("cache: disk put %q: %w", e.Key, err)
	}
	return nil
}

func (d *diskTier) writeTemp(hdr, body []byte) (string, error) {
	f, err := os.CreateTemp(d.dir, tempPrefix+"*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(hdr)
	if err == nil {
		_, err = f.Write(body)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.removeQuietly(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// remove drops key from the index and the directory. The index is the
// truth (openDisk deleted what it could not index), so a key it does not
// hold costs no system call: every playlist Put comes through here.
func (d *diskTier) remove(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.index.remove(key); ok {
		d.removeFileLocked(key)
	}
}

func (d *diskTier) removeFileLocked(key string) { d.removeQuietly(d.path(key)) }

func (d *diskTier) removeQuietly(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.errs.Add(1)
		d.log.Warn("removing cache file", "file", path, "err", err)
	}
}

func (d *diskTier) stats() TierStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return TierStats{
		Bytes:     d.index.size(),
		MaxBytes:  d.index.maxBytes,
		Entries:   d.index.len(),
		Evictions: d.index.evictions,
	}
}
