// Package demo publishes a looping test-pattern stream into the origin as
// an endless live HLS stream, so a local mesh (`relaymesh dev`) has
// something to watch without a streamer.
//
// The media are ten 1-second MPEG-TS segments embedded from assets/
// (H.264 baseline 426x240 at 24 fps with a mono AAC tone, ~320 KB in all),
// made by generate.sh with ffmpeg's test sources. A Publisher uploads them
// in a loop under ever-increasing names and keeps a sliding-window live
// playlist beside them; see Publisher.
package demo

import (
	"context"
	"embed"
	"fmt"
	"io"

	"github.com/relaymesh/relaymesh/origin"
)

// Segments is how many segments the embedded loop has: segment n of the
// live stream carries Asset(n), the loop's segment n mod Segments.
const Segments = 10

// Content types of what the Publisher uploads, as the edges serve them.
const (
	SegmentType  = "video/mp2t"
	PlaylistType = "application/vnd.apple.mpegurl"
)

//go:embed assets/*.ts
var assetFS embed.FS

// assets holds the loop's segments, read once from assetFS at init: a
// missing or empty file is a broken build, not a runtime condition.
var assets = func() [Segments][]byte {
	var a [Segments][]byte
	for i := range a {
		b, err := assetFS.ReadFile(fmt.Sprintf("assets/seg%03d.ts", i))
		if err != nil || len(b) == 0 {
			panic(fmt.Sprintf("demo: embedded asset seg%03d.ts: missing or empty (%v); run generate.sh", i, err))
		}
		a[i] = b
	}
	return a
}()

// Asset is the content of live segment n: the loop's segment n mod
// Segments. The slice is shared; callers must not modify it.
func Asset(n uint64) []byte { return assets[n%Segments] }

// Store is where the Publisher writes: the origin bucket. Keys are
// "{stream}/{path}", as the origin package builds them.
type Store interface {
	// Put stores a whole object; r holds size bytes.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Delete removes an object; deleting one that is not there succeeds.
	Delete(ctx context.Context, key string) error
}

// Origin adapts an *origin.Client, whose Put also returns the stored
// object's Info, to Store.
type Origin struct{ Client *origin.Client }

// Put implements Store.
func (o Origin) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	_, err := o.Client.Put(ctx, key, r, size, contentType)
	return err
}

// Delete implements Store.
func (o Origin) Delete(ctx context.Context, key string) error {
	return o.Client.Delete(ctx, key)
}
