package fetch

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/hls/cache"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	requestTimeout = 300 * time.Millisecond // the truncated-request cases wait for it
	goleak.VerifyTestMain(m)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pipeOpener serves every opened stream with Serve over net.Pipe. Serve's
// results arrive on the returned channel; the test waits for every Serve.
func pipeOpener(t *testing.T, get Getter, maxBody int64) (Opener, <-chan error) {
	t.Helper()
	var wg sync.WaitGroup
	results := make(chan error, 100)
	t.Cleanup(wg.Wait)
	op := OpenerFunc(func(ctx context.Context, addr string) (net.Conn, error) {
		c, s := net.Pipe()
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- Serve(context.Background(), s, get, maxBody)
		}()
		return c, nil
	})
	return op, results
}

// rawServe sends req bytes to Serve and returns everything it answers.
func rawServe(t *testing.T, req []byte, get Getter) ([]byte, error) {
	t.Helper()
	c, s := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), s, get, 1<<20) }()
	go func() {
		_, _ = c.Write(req)
	}()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	_ = c.Close()
	return out, <-done
}

func segment(body string) cache.Entry {
	return cache.Entry{
		Body: []byte(body),
		Meta: cache.Meta{
			ContentType: "video/mp2t",
			ETag:        `"abc123"`,
			Stored:      time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC),
			Immutable:   true,
		},
	}
}

func getOf(e cache.Entry, err error) Getter {
	return func(ctx context.Context, key string) (cache.Entry, error) {
		e.Key = key
		return e, err
	}
}

// runtimeMem reads the bytes allocated so far by the whole process.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}
