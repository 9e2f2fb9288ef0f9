package fetch

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/mesh/pki"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/origin"
)

func newEndpoint(t *testing.T, name string, ca *pki.CA) *link.Endpoint {
	t.Helper()
	id, err := ca.NewIdentity(name, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e, err := link.New(link.Config{Conn: pc, ServerTLS: id.ServerTLS(link.ALPN), ClientTLS: id.ClientTLS(link.ALPN), DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// Two real endpoints on 127.0.0.1 with mutual TLS: a body of several MB
// (many packets, several allocation steps), a not-found answer, and a
// stream per fetch, many at once.
func TestFetchOverLink(t *testing.T) {
	ca, err := pki.NewCA("fetch test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newEndpoint(t, "seoul-1", ca), newEndpoint(t, "seoul-2", ca)

	big := segment(string(bytes.Repeat([]byte("0123456789abcdef"), 3<<16))) // 3 MiB
	var mu sync.Mutex
	asked := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logged := make(chan string, 100)
	b.HandleStream(link.KindFetch, Handler(ctx, func(ctx context.Context, key string) (cache.Entry, error) {
		mu.Lock()
		asked[key]++
		mu.Unlock()
		if key == "demo/missing.ts" {
			return cache.Entry{}, &origin.Error{Op: "get", Key: key, Kind: origin.ErrNotFound}
		}
		return big, nil
	}, 8<<20, func(format string, args ...any) { logged <- format }))

	op := Link(a, link.KindFetch)
	addr := b.Addr().String()
	e, err := Fetch(ctxT(t), op, addr, "demo/seg-000001.ts", 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.Body, big.Body) || e.ETag != big.ETag || !e.Immutable || e.Key != "demo/seg-000001.ts" {
		t.Fatalf("got %d bytes, meta %+v", len(e.Body), e.Meta)
	}

	_, err = Fetch(ctxT(t), op, addr, "demo/missing.ts", 8<<20)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, origin.ErrNotFound) {
		t.Fatalf("missing key: %v, want ErrNotFound", err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			e, err := Fetch(ctxT(t), op, addr, "demo/seg-000002.ts", 8<<20)
			if err == nil && len(e.Body) != len(big.Body) {
				err = errors.New("short body")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	if asked["demo/seg-000002.ts"] != 20 {
		t.Errorf("server got %d requests, want 20 (one per stream)", asked["demo/seg-000002.ts"])
	}
	mu.Unlock()
	if s := a.Stats(); s.Dials != 1 {
		t.Errorf("client dialled %d times, want 1 connection for every stream", s.Dials)
	}

	// A peer that is not there fails as a peer failure, within ctx.
	dead := newEndpoint(t, "seoul-3", ca)
	deadAddr := dead.Addr().String()
	_ = dead.Close()
	fctx, fcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer fcancel()
	_, err = Fetch(fctx, op, deadAddr, "demo/seg-000003.ts", 8<<20)
	if !errors.Is(err, ErrPeerFailed) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch from a closed peer: %v, want ErrPeerFailed or the deadline", err)
	}
	select {
	case f := <-logged:
		t.Errorf("server logged a failure: %s", f)
	default:
	}
}
