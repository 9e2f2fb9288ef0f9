package origin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/relaymesh/relaymesh/hlskey"
)

// Info describes an object at the origin.
type Info struct {
	Key          string
	Size         int64
	ETag         string // without quotes
	ContentType  string
	LastModified time.Time // zero after Put unless the origin said (S3 does not)
}

// MaxBufferedPut is the largest body Put copies into memory to be able to
// send it again on a retry, when the reader cannot be re-read in place
// (it is not an io.ReaderAt with an io.Seeker, as files and bytes.Readers are).
const MaxBufferedPut = 64 << 20

// Get opens an object. The body must be closed. The call's timeout covers
// reading the body too, which is what an edge wants for segments of a few
// MB; only opening it is retried, a body cut short returns the error.
func (c *Client) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := hlskey.Check(key); err != nil {
		return nil, Info{}, err
	}
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	var rc io.ReadCloser
	var info Info
	err := c.retry(callCtx, ctx, "get", key, func(ctx context.Context) error {
		// Core.GetObject sends one GET and returns its body; Client.GetObject
		// would send a HEAD first and the GET lazily, outside the retries.
		r, st, _, err := minio.Core{Client: c.s3}.GetObject(ctx, c.cfg.Bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		rc, info = r, infoOf(st)
		return nil
	})
	if err != nil {
		cancel()
		return nil, Info{}, err
	}
	return &body{rc: rc, cancel: cancel, key: key}, info, nil
}

// body is an object being read; Close releases the call's context.
type body struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	key    string
	once   sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = &Error{Op: "get", Key: b.key, Attempts: 1, Err: fmt.Errorf("reading body: %w", err)}
	}
	return n, err
}

func (b *body) Close() error {
	var err error
	b.once.Do(func() {
		err = b.rc.Close()
		b.cancel()
	})
	return err
}

// Stat describes an object without reading it.
func (c *Client) Stat(ctx context.Context, key string) (Info, error) {
	if err := hlskey.Check(key); err != nil {
		return Info{}, err
	}
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var info Info
	err := c.retry(callCtx, ctx, "stat", key, func(ctx context.Context) error {
		st, err := c.s3.StatObject(ctx, c.cfg.Bucket, key, minio.StatObjectOptions{})
		if err != nil {
			return err
		}
		info = infoOf(st)
		return nil
	})
	return info, err
}

// Put stores a whole object with one PUT (never multipart), so a retry
// after a lost answer just writes the same object again. size may be -1
// when unknown. To retry, Put must be able to send the body again: an r
// that is an io.ReaderAt and io.Seeker (a file, a bytes.Reader) is re-read
// in place from its current offset; any other r is first read into memory,
// up to MaxBufferedPut bytes.
func (c *Client) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error) {
	if err := hlskey.Check(key); err != nil {
		return Info{}, err
	}
	src, size, err := replayable(r, size)
	if err != nil {
		return Info{}, &Error{Op: "put", Key: key, Err: err}
	}
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var info Info
	err = c.retry(callCtx, ctx, "put", key, func(ctx context.Context) error {
		up, err := c.s3.PutObject(ctx, c.cfg.Bucket, key, src(), size, minio.PutObjectOptions{
			ContentType:      contentType,
			DisableMultipart: true,
		})
		if err != nil {
			return err
		}
		info = Info{Key: key, Size: up.Size, ETag: up.ETag, ContentType: contentType, LastModified: up.LastModified}
		return nil
	})
	if err == nil && info.ContentType == "" {
		info.ContentType = "application/octet-stream" // what minio-go sends then
	}
	return info, err
}

// Delete removes an object. Deleting an object that is not there succeeds
// (S3 answers 204 either way), so a retried Delete is harmless.
func (c *Client) Delete(ctx context.Context, key string) error {
	if err := hlskey.Check(key); err != nil {
		return err
	}
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	return c.retry(callCtx, ctx, "delete", key, func(ctx context.Context) error {
		return c.s3.RemoveObject(ctx, c.cfg.Bucket, key, minio.RemoveObjectOptions{})
	})
}

// replayable returns a function giving a fresh reader of the same bytes for
// each attempt, and the body's size.
func replayable(r io.Reader, size int64) (func() io.Reader, int64, error) {
	type readSeekerAt interface {
		io.ReaderAt
		io.Seeker
	}
	if rs, ok := r.(readSeekerAt); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, 0, fmt.Errorf("body: %w", err)
		}
		end, err := rs.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, 0, fmt.Errorf("body: %w", err)
		}
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return nil, 0, fmt.Errorf("body: %w", err)
		}
		switch {
		case size < 0:
			size = end - start
		case size > end-start:
			return nil, 0, fmt.Errorf("body has %d bytes, size says %d", end-start, size)
		}
		return func() io.Reader { return io.NewSectionReader(rs, start, size) }, size, nil
	}
	limit := int64(MaxBufferedPut)
	if size > limit {
		return nil, 0, fmt.Errorf("body of %d bytes is over %d and cannot be re-read for retries: pass a file", size, limit)
	}
	var buf bytes.Buffer
	if size >= 0 {
		buf.Grow(int(size))
		limit = size
	}
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		return nil, 0, fmt.Errorf("reading body: %w", err)
	case size < 0 && n > limit:
		return nil, 0, fmt.Errorf("body is over %d bytes and cannot be re-read for retries: pass a file", limit)
	case size >= 0 && n != size:
		return nil, 0, fmt.Errorf("body has %s bytes, size says %d", countOf(n, size), size)
	}
	data := buf.Bytes()
	return func() io.Reader { return bytes.NewReader(data) }, n, nil
}

func countOf(n, size int64) string {
	if n > size {
		return fmt.Sprintf("more than %d", size)
	}
	return fmt.Sprint(n)
}

func infoOf(st minio.ObjectInfo) Info {
	return Info{Key: st.Key, Size: st.Size, ETag: st.ETag, ContentType: st.ContentType, LastModified: st.LastModified}
}
