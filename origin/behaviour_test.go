package origin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/origin"
)

// testServer is a running S3-compatible origin for the behaviour tests.
type testServer struct {
	cfg  origin.Config // endpoint, bucket, credentials, TLS
	stop func()        // stops the server for good; idempotent
}

// testBehaviour is what the rest of the node relies on, run against every
// origin we have: the embedded devs3 (always) and a real MinIO server
// (RELAYMESH_MINIO=1). Subtests share the server and run in order; the
// last one stops it.
func testBehaviour(t *testing.T, srv testServer) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		c, ft := newTestClient(t, srv.cfg)
		const key = "live/index.m3u8"
		v1 := []byte("#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1.0,\nseg-1.ts\n")
		put, err := c.Put(ctx, key, bytes.NewReader(v1), int64(len(v1)), "application/vnd.apple.mpegurl")
		if err != nil {
			t.Fatal(err)
		}
		if put.Key != key || put.Size != int64(len(v1)) || put.ETag == "" || strings.Contains(put.ETag, `"`) ||
			put.ContentType != "application/vnd.apple.mpegurl" {
			t.Fatalf("put info %+v", put)
		}
		st, err := c.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if st.Key != key || st.Size != put.Size || st.ETag != put.ETag || st.ContentType != put.ContentType {
			t.Fatalf("stat %+v, put %+v", st, put)
		}
		if d := time.Since(st.LastModified); d < -time.Minute || d > time.Minute {
			t.Fatalf("stat last modified %v, now %v", st.LastModified, time.Now())
		}
		checkGet(t, c, key, v1, st)

		// Overwriting is how a retried Put and a live playlist update look.
		v2 := append(v1, "#EXTINF:1.0,\nseg-2.ts\n"...)
		put2, err := c.Put(ctx, key, bytes.NewReader(v2), int64(len(v2)), "application/vnd.apple.mpegurl")
		if err != nil {
			t.Fatal(err)
		}
		if put2.ETag == put.ETag {
			t.Fatalf("etag unchanged by new content: %q", put2.ETag)
		}
		st2, err := c.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		checkGet(t, c, key, v2, st2)

		if err := c.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Stat(ctx, key); !errors.Is(err, origin.ErrNotFound) {
			t.Fatalf("stat after delete: %v, want ErrNotFound", err)
		}
		if err := c.Delete(ctx, key); err != nil {
			t.Fatalf("deleting a deleted object: %v, want nil (idempotent)", err)
		}
		if n := ft.faults(); n != 0 {
			t.Fatalf("%d faults injected, want 0", n)
		}
	})

	t.Run("put bodies", func(t *testing.T) {
		c, ft := newTestClient(t, srv.cfg)
		data := []byte("0123456789abcdefghij")

		// A plain reader (an HTTP request body): buffered, size known or not.
		for _, size := range []int64{int64(len(data)), -1} {
			key := fmt.Sprintf("bodies/plain%d.ts", size)
			info, err := c.Put(ctx, key, onlyReader{bytes.NewReader(data)}, size, "video/mp2t")
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if info.Size != int64(len(data)) {
				t.Fatalf("size %d: stored %d bytes, want %d", size, info.Size, len(data))
			}
			checkGet(t, c, key, data, origin.Info{})
		}

		// A file partly read already (a spool file): from its offset on.
		f, err := os.Create(filepath.Join(t.TempDir(), "spool"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(5, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Put(ctx, "bodies/file.ts", f, -1, ""); err != nil {
			t.Fatal(err)
		}
		checkGet(t, c, "bodies/file.ts", data[5:], origin.Info{ContentType: "application/octet-stream"})

		// A size that the body does not have: refused before any request.
		before := ft.count()
		for _, r := range []io.Reader{onlyReader{bytes.NewReader(data)}, bytes.NewReader(data)} {
			_, err = c.Put(ctx, "bodies/short.ts", r, int64(len(data))+1, "video/mp2t")
			if err == nil || errors.Is(err, origin.ErrUnavailable) || !strings.Contains(err.Error(), `"bodies/short.ts"`) {
				t.Fatalf("put with a size larger than the body (%T): %v", r, err)
			}
		}
		_, err = c.Put(ctx, "bodies/long.ts", onlyReader{bytes.NewReader(data)}, 3, "video/mp2t")
		if err == nil {
			t.Fatal("put with a size smaller than the body: no error")
		}
		if n := ft.count() - before; n != 0 {
			t.Fatalf("bad sizes sent %d requests, want 0", n)
		}
	})

	t.Run("not found", func(t *testing.T) {
		c, ft := newTestClient(t, srv.cfg)
		const key = "live/missing-seg.ts"
		before := ft.count()
		_, _, err := c.Get(ctx, key)
		checkNotFound(t, "get", err, key)
		_, err = c.Stat(ctx, key)
		checkNotFound(t, "stat", err, key)
		if n := ft.count() - before; n != 2 {
			t.Fatalf("2 calls sent %d requests: not found must not be retried", n)
		}
	})

	t.Run("invalid key", func(t *testing.T) {
		c, ft := newTestClient(t, srv.cfg)
		for _, key := range []string{"live/../other/x.ts", "/live/x.ts", "live", "Live/x.ts", "live/a%2e%2e/x.ts"} {
			if _, _, err := c.Get(ctx, key); !errors.Is(err, hlskey.ErrInvalid) {
				t.Errorf("get %q: %v, want ErrInvalidKey", key, err)
			}
			if _, err := c.Put(ctx, key, strings.NewReader("x"), 1, ""); !errors.Is(err, hlskey.ErrInvalid) {
				t.Errorf("put %q: %v, want ErrInvalidKey", key, err)
			}
			if err := c.Delete(ctx, key); !errors.Is(err, hlskey.ErrInvalid) {
				t.Errorf("delete %q: %v, want ErrInvalidKey", key, err)
			}
		}
		if n := ft.count(); n != 0 {
			t.Fatalf("invalid keys sent %d requests, want 0", n)
		}
	})

	t.Run("transient failures are retried", func(t *testing.T) {
		c, ft := newTestClient(t, srv.cfg)
		data := bytes.Repeat([]byte("segment "), 4096)

		// A 503 SlowDown and a connection reset after the body went out:
		// the third attempt sends the whole body again.
		for _, body := range []io.Reader{bytes.NewReader(data), onlyReader{bytes.NewReader(data)}} {
			ft.inject(fault{status: http.StatusServiceUnavailable, code: "SlowDown"}, fault{reset: true})
			before := ft.count()
			if _, err := c.Put(ctx, "retry/seg.ts", body, -1, "video/mp2t"); err != nil {
				t.Fatalf("put (%T) after 2 transient failures: %v", body, err)
			}
			if n := ft.count() - before; n != 3 {
				t.Fatalf("put (%T): %d requests, want 3", body, n)
			}
			checkGet(t, c, "retry/seg.ts", data, origin.Info{Size: int64(len(data))})
		}

		ft.inject(fault{status: http.StatusTooManyRequests, code: "SlowDown"}, fault{status: http.StatusInternalServerError, code: "InternalError"})
		checkGet(t, c, "retry/seg.ts", data, origin.Info{})
		ft.inject(fault{status: http.StatusBadGateway})
		if _, err := c.Stat(ctx, "retry/seg.ts"); err != nil {
			t.Fatalf("stat after a 502: %v", err)
		}
		ft.inject(fault{reset: true})
		if err := c.Delete(ctx, "retry/seg.ts"); err != nil {
			t.Fatalf("delete after a reset: %v", err)
		}
		if _, err := c.Stat(ctx, "retry/seg.ts"); !errors.Is(err, origin.ErrNotFound) {
			t.Fatalf("stat after delete: %v", err)
		}
	})

	t.Run("persistent failures give up", func(t *testing.T) {
		c, ft := newTestClient(t, srv.cfg)
		ft.inject(fault{status: 503, code: "SlowDown"}, fault{status: 503, code: "SlowDown"}, fault{status: 503, code: "SlowDown"})
		before := ft.count()
		_, err := c.Stat(ctx, "live/x.ts")
		if !errors.Is(err, origin.ErrUnavailable) || errors.Is(err, origin.ErrNotFound) {
			t.Fatalf("stat after 3 x 503: %v, want ErrUnavailable", err)
		}
		if n := ft.count() - before; n != 3 {
			t.Fatalf("%d requests, want 3 attempts", n)
		}
		if msg := err.Error(); !strings.Contains(msg, `"live/x.ts"`) || !strings.Contains(msg, "after 3 attempts") {
			t.Fatalf("message %q: want the key and the attempts", msg)
		}
	})

	t.Run("refusals are not retried", func(t *testing.T) {
		c, ft := newTestClient(t, srv.cfg)
		ft.inject(fault{status: http.StatusForbidden, code: "AccessDenied"})
		before := ft.count()
		_, err := c.Put(ctx, "live/x.ts", strings.NewReader("x"), 1, "")
		if err == nil || errors.Is(err, origin.ErrUnavailable) || errors.Is(err, origin.ErrNotFound) {
			t.Fatalf("put refused with 403: %v, want a plain error", err)
		}
		if !strings.Contains(err.Error(), `put "live/x.ts"`) {
			t.Fatalf("message %q does not say the call and key", err)
		}
		if n := ft.count() - before; n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})

	t.Run("caller cancels", func(t *testing.T) {
		c, _ := newTestClient(t, srv.cfg)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.Stat(cctx, "live/x.ts")
		if !errors.Is(err, context.Canceled) || errors.Is(err, origin.ErrUnavailable) {
			t.Fatalf("stat with a canceled context: %v, want context.Canceled", err)
		}
	})

	// Last: stops the server.
	t.Run("unavailable", func(t *testing.T) {
		cfg := srv.cfg
		cfg.Timeout = 3 * time.Second
		c, ft := newTestClient(t, cfg)
		if _, err := c.Put(ctx, "live/seg-9.ts", strings.NewReader("ts"), 2, "video/mp2t"); err != nil {
			t.Fatal(err)
		}
		rc, _, err := c.Get(ctx, "live/seg-9.ts")
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		srv.stop()

		calls := map[string]func() error{
			"get":    func() error { _, _, err := c.Get(ctx, "live/seg-9.ts"); return err },
			"stat":   func() error { _, err := c.Stat(ctx, "live/seg-9.ts"); return err },
			"put":    func() error { _, err := c.Put(ctx, "live/seg-9.ts", strings.NewReader("ts"), 2, ""); return err },
			"delete": func() error { return c.Delete(ctx, "live/seg-9.ts") },
		}
		for name, call := range calls {
			before := ft.count()
			start := time.Now()
			err := call()
			took := time.Since(start)
			if !errors.Is(err, origin.ErrUnavailable) {
				t.Fatalf("%s with the origin stopped: %v, want ErrUnavailable", name, err)
			}
			if took > cfg.Timeout {
				t.Fatalf("%s took %v, more than the %v timeout", name, took, cfg.Timeout)
			}
			if n := ft.count() - before; n != 3 {
				t.Fatalf("%s: %d attempts, want 3", name, n)
			}
			t.Logf("%s: %v in %v", name, err, took.Round(time.Millisecond))
		}
	})
}

func checkGet(t *testing.T, c *origin.Client, key string, want []byte, wantInfo origin.Info) {
	t.Helper()
	rc, info, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	got, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("get %q: reading: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %q: %d bytes %.40q, want %d bytes %.40q", key, len(got), got, len(want), want)
	}
	if info.Key != key || info.Size != int64(len(want)) || info.ETag == "" {
		t.Fatalf("get %q: info %+v", key, info)
	}
	if (wantInfo.ETag != "" && info.ETag != wantInfo.ETag) ||
		(wantInfo.ContentType != "" && info.ContentType != wantInfo.ContentType) ||
		(!wantInfo.LastModified.IsZero() && !info.LastModified.Equal(wantInfo.LastModified)) {
		t.Fatalf("get %q: info %+v, want %+v", key, info, wantInfo)
	}
}

func checkNotFound(t *testing.T, op string, err error, key string) {
	t.Helper()
	if !errors.Is(err, origin.ErrNotFound) || errors.Is(err, origin.ErrUnavailable) {
		t.Fatalf("%s of a missing key: %v, want ErrNotFound", op, err)
	}
	var oe *origin.Error
	if !errors.As(err, &oe) || oe.Op != op || oe.Key != key || oe.Attempts != 1 {
		t.Fatalf("%s: %#v", op, err)
	}
	if want := fmt.Sprintf("origin: %s %q: not found at origin", op, key); err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

// newTestClient is a client with test timers whose requests go through a
// faultTransport.
func newTestClient(t *testing.T, cfg origin.Config) (*origin.Client, *faultTransport) {
	t.Helper()
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	ft := &faultTransport{base: base}
	cfg.Transport = ft
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	cfg.Attempts = 3
	cfg.Backoff = 20 * time.Millisecond
	c, err := origin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, ft
}

// fault is one injected failure: an S3 error answer, or a connection reset
// after the request body went out.
type fault struct {
	status int
	code   string
	reset  bool
}

// faultTransport counts requests and fails the next ones as injected.
type faultTransport struct {
	base     http.RoundTripper
	mu       sync.Mutex
	n        int
	injected int
	queue    []fault
}

func (ft *faultTransport) inject(fs ...fault) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.queue = append(ft.queue, fs...)
}

func (ft *faultTransport) count() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.n
}

func (ft *faultTransport) faults() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.injected
}

func (ft *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ft.mu.Lock()
	ft.n++
	var f *fault
	if len(ft.queue) > 0 {
		f = &ft.queue[0]
		ft.queue = ft.queue[1:]
		ft.injected++
	}
	ft.mu.Unlock()
	if f == nil {
		return ft.base.RoundTrip(req)
	}
	if req.Body != nil { // the failure comes after the upload
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	if f.reset {
		return nil, errors.New("read tcp: connection reset by peer (injected)")
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message></Error>`, f.code)
	if req.Method == http.MethodHead {
		body = ""
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", f.status, http.StatusText(f.status)),
		StatusCode:    f.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/xml"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// onlyReader hides every method but Read, as an HTTP request body does.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
