package cache

import (
	"errors"
	"fmt"
	"time"
)

// MaxKeyLen bounds a key's length in bytes. Keys are validated for paths by
// the HTTP layer; the cache only needs them to be non-empty and bounded, as it
// never uses a key as a file name.
const MaxKeyLen = 1024

// ErrClosed is returned by Fill after Close.
var ErrClosed = errors.New("cache: closed")

// Entry is one cached object.
//
// Body is shared between the cache and every caller that gets the entry:
// treat it as read-only. Put takes ownership of the slice it is given.
type Entry struct {
	// Key is "{stream}/{path}".
	Key  string
	Body []byte
	Meta
}

// Meta describes an entry.
type Meta struct {
	ContentType string
	ETag        string
	// Size is len(Body); Put sets it.
	Size int64
	// Stored is when the object was produced. Put sets it to now when zero.
	// For mutable entries it is the version: a Put never replaces a live
	// mutable entry with an older one.
	Stored time.Time
	// Immutable marks media and init segments: kept until evicted or
	// deleted, and written to the disk tier. Mutable entries (playlists)
	// stay in memory only, until Expires.
	Immutable bool
	// Expires is when a mutable entry stops being served. Put sets it to
	// Stored+Config.MutableTTL when zero. Ignored for immutable entries.
	Expires time.Time
}

func validKey(key string) error {
	switch {
	case key == "":
		return errors.New("cache: empty key")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("cache: key of %d bytes is longer than %d", len(key), MaxKeyLen)
	}
	return nil
}

// live reports whether e may be served at now.
func (e *Entry) live(now time.Time) bool {
	return e.Immutable || now.Before(e.Expires)
}
