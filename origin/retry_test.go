package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want class
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, notFound},
		{minio.ErrorResponse{StatusCode: 404}, notFound}, // HEAD: no body, no code
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, permanent},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, transient},
		{minio.ErrorResponse{Code: "SlowDown"}, transient},
		{minio.ErrorResponse{StatusCode: 429}, transient},
		{minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, transient},
		{minio.ErrorResponse{StatusCode: 502}, transient},
		{minio.ErrorResponse{StatusCode: 504}, transient},
		{minio.ErrorResponse{Code: "RequestTimeout", StatusCode: 400}, transient},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, permanent},
		{minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403}, permanent},
		{minio.ErrorResponse{Code: "InvalidArgument", StatusCode: 400}, permanent},
		{minio.ErrorResponse{Code: "EntityTooLarge", StatusCode: 400}, permanent},
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}), notFound},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, transient},
		{io.ErrUnexpectedEOF, transient},
		{context.DeadlineExceeded, transient},
		{&url.Error{Op: "Get", URL: "https://x", Err: x509UnknownCA()}, permanent},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func x509UnknownCA() error {
	// An x509.UnknownAuthorityError as a TLS dial to a self-signed origin
	// gives it.
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake error we cause
	srv.StartTLS()
	defer srv.Close()
	_, err := http.Get(srv.URL)
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func TestBackoff(t *testing.T) {
	c := &Client{cfg: Config{Backoff: 100 * time.Millisecond}}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 6: maxBackoff, 80: maxBackoff} {
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for range 200 {
			d := c.backoff(n)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < want/2 || hi > want || hi-lo < want/4 {
			t.Errorf("backoff(%d) in [%v, %v], want spread over [%v, %v]", n, lo, hi, want/2, want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{Bucket: "b"},
		{Endpoint: "127.0.0.1:9000"},
		{Endpoint: "127.0.0.1:9000", Bucket: "b", AccessKey: "k"},
		{Endpoint: "127.0.0.1:9000", Bucket: "Bad_Bucket", AccessKey: "k"},
		{Endpoint: "127.0.0.1:9000", Bucket: "bucket", AccessKey: "k", Timeout: -time.Second},
		{Endpoint: "127.0.0.1:9000", Bucket: "bucket", AccessKey: "k", Attempts: -1},
	} {
		if _, err := New(cfg); err == nil || !strings.HasPrefix(err.Error(), "origin: ") {
			t.Errorf("New(%+v) = %v, want an origin error", cfg, err)
		}
	}
	c, err := New(Config{Endpoint: "127.0.0.1:9000", Bucket: "bucket", AccessKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Timeout != 10*time.Second || c.cfg.Attempts != 3 || c.cfg.Backoff != 100*time.Millisecond {
		t.Fatalf("defaults %+v", c.cfg)
	}
}

// An origin that accepts connections and never answers: the call's
// timeout ends every call, including reading a body that stalls.
func TestTimeoutBoundsHungOrigin(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/slow-body.ts") {
			w.Header().Set("Content-Length", "100")
			w.Header().Set("ETag", `"abc"`)
			w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("first bytes"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-stall:
		}
	}))
	defer srv.Close()
	defer close(stall)

	const timeout = 400 * time.Millisecond
	c, err := New(Config{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: "bucket", Region: "us-east-1",
		AccessKey: "k", SecretKey: "s", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	_, err = c.Stat(ctx, "live/x.ts")
	took := time.Since(start)
	if !errors.Is(err, ErrUnavailable) || took > timeout+300*time.Millisecond {
		t.Fatalf("stat of a hung origin: %v after %v, want ErrUnavailable after about %v", err, took, timeout)
	}
	t.Logf("%v after %v", err, took.Round(time.Millisecond))

	rc, info, err := c.Get(ctx, "live/slow-body.ts")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	defer rc.Close()
	if info.Size != 100 || info.ETag != "abc" {
		t.Fatalf("info %+v", info)
	}
	start = time.Now()
	_, err = io.ReadAll(rc)
	took = time.Since(start)
	var oe *Error
	if !errors.As(err, &oe) || oe.Op != "get" || oe.Key != "live/slow-body.ts" || took > timeout+300*time.Millisecond {
		t.Fatalf("reading a stalled body: %v after %v, want a get error within the timeout", err, took)
	}
	t.Logf("%v after %v", err, took.Round(time.Millisecond))

	// The caller's own, shorter deadline is the caller's error, not the origin's.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.Stat(cctx, "live/x.ts")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("stat past the caller's deadline: %v, want context.DeadlineExceeded", err)
	}
}
