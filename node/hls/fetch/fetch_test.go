package fetch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/origin"
)

func TestRoundTripOK(t *testing.T) {
	playlist := cache.Entry{
		Body: []byte("#EXTM3U\n#EXT-X-VERSION:3\n"),
		Meta: cache.Meta{
			ContentType: "application/vnd.apple.mpegurl",
			ETag:        `"v7"`,
			Stored:      time.Date(2026, 3, 1, 12, 0, 1, 5, time.UTC),
			Expires:     time.Date(2026, 3, 1, 12, 0, 2, 5, time.UTC),
		},
	}
	for _, c := range []struct {
		name string
		e    cache.Entry
		key  string
	}{
		{"immutable segment", segment(strings.Repeat("ts", 100000)), "demo/720p/seg-000001.ts"},
		{"mutable playlist", playlist, "demo/index.m3u8"},
		{"empty body", segment(""), "demo/empty.aac"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var asked string
			op, results := pipeOpener(t, func(ctx context.Context, key string) (cache.Entry, error) {
				asked = key
				return c.e, nil
			}, 1<<20)
			got, err := Fetch(ctxT(t), op, "peer:7946", c.key, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-results; err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if asked != c.key || got.Key != c.key {
				t.Fatalf("server asked for %q, entry key %q; want %q", asked, got.Key, c.key)
			}
			if !bytes.Equal(got.Body, c.e.Body) || got.Size != int64(len(c.e.Body)) {
				t.Fatalf("body %d bytes (Size %d), want %d", len(got.Body), got.Size, len(c.e.Body))
			}
			if got.ContentType != c.e.ContentType || got.ETag != c.e.ETag || got.Immutable != c.e.Immutable ||
				!got.Stored.Equal(c.e.Stored) || !got.Expires.Equal(c.e.Expires) {
				t.Fatalf("meta %+v, want %+v", got.Meta, c.e.Meta)
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	const key = "demo/seg-000009.ts"
	notFound := &origin.Error{Op: "get", Key: key, Kind: origin.ErrNotFound}
	unavailable := &origin.Error{Op: "get", Key: key, Kind: origin.ErrUnavailable, Attempts: 3, Err: errors.New("connection refused")}
	for _, c := range []struct {
		name      string
		get       Getter
		serverMax int64
		clientMax int64
		status    Status // 0: no StatusError expected
		is        []error
	}{
		{"not found at origin", getOf(cache.Entry{}, notFound), 1 << 20, 1 << 20,
			StatusNotFound, []error{ErrNotFound, origin.ErrNotFound}},
		{"origin unavailable", getOf(cache.Entry{}, unavailable), 1 << 20, 1 << 20,
			StatusUnavailable, []error{ErrUnavailable, origin.ErrUnavailable}},
		{"upstream peer's not found passes on", getOf(cache.Entry{}, &StatusError{Status: StatusNotFound}), 1 << 20, 1 << 20,
			StatusNotFound, []error{ErrNotFound, origin.ErrNotFound}},
		{"upstream peer failed", getOf(cache.Entry{}, ErrPeerFailed), 1 << 20, 1 << 20,
			StatusUnavailable, []error{ErrUnavailable, origin.ErrUnavailable}},
		{"fill timed out", getOf(cache.Entry{}, context.DeadlineExceeded), 1 << 20, 1 << 20,
			StatusUnavailable, []error{ErrUnavailable}},
		{"internal", getOf(cache.Entry{}, errors.New("disk on fire")), 1 << 20, 1 << 20,
			StatusInternal, []error{ErrInternal}},
		{"too large for the server", getOf(segment(strings.Repeat("x", 2000)), nil), 1000, 1 << 20,
			StatusTooLarge, []error{ErrTooLarge}},
		{"too large for the client", getOf(segment(strings.Repeat("x", 2000)), nil), 1 << 20, 1000,
			0, []error{ErrTooLarge}},
	} {
		t.Run(c.name, func(t *testing.T) {
			op, results := pipeOpener(t, c.get, c.serverMax)
			_, err := Fetch(ctxT(t), op, "peer:7946", key, c.clientMax)
			if err == nil {
				t.Fatal("Fetch succeeded")
			}
			for _, target := range c.is {
				if !errors.Is(err, target) {
					t.Errorf("error %q is not %q", err, target)
				}
			}
			var se *StatusError
			if got := errors.As(err, &se); got != (c.status != 0) || (got && se.Status != c.status) {
				t.Errorf("error %q: StatusError %v, want status %v", err, se, c.status)
			}
			if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "peer:7946") {
				t.Errorf("error %q does not name the key and the peer", err)
			}
			// The client gives up on a too-large body before reading it,
			// so the server's write may fail; any other answer is whole.
			if err := <-results; err != nil && c.status != 0 {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

func TestFetchRefusesBadKeyWithoutAsking(t *testing.T) {
	op := OpenerFunc(func(ctx context.Context, addr string) (net.Conn, error) {
		t.Fatal("opened a stream for a bad key")
		return nil, nil
	})
	for _, key := range []string{"", "noslash", "demo/../etc/passwd", "demo/a\x00b", "demo/" + strings.Repeat("a", 2000), "Demo/x.ts", "demo//x.ts"} {
		_, err := Fetch(ctxT(t), op, "peer:7946", key, 1<<20)
		if !errors.Is(err, ErrBadRequest) || !errors.Is(err, hlskey.ErrInvalid) {
			t.Errorf("key %q: error %v, want ErrBadRequest and hlskey.ErrInvalid", key, err)
		}
	}
}

func TestFetchOpenFails(t *testing.T) {
	op := OpenerFunc(func(ctx context.Context, addr string) (net.Conn, error) {
		return nil, errors.New("no route to peer")
	})
	_, err := Fetch(ctxT(t), op, "peer:7946", "demo/a.ts", 1<<20)
	if !errors.Is(err, ErrPeerFailed) {
		t.Fatalf("error %v, want ErrPeerFailed", err)
	}
}

// The caller's deadline ends the fetch, and the server's get sees the peer
// go away.
func TestFetchDeadlineCancelsServer(t *testing.T) {
	getCanceled := make(chan struct{})
	op, results := pipeOpener(t, func(ctx context.Context, key string) (cache.Entry, error) {
		<-ctx.Done()
		close(getCanceled)
		return cache.Entry{}, ctx.Err()
	}, 1<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Fetch(ctx, op, "peer:7946", "demo/slow.ts", 1<<20)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Fetch took %v after a 100ms deadline", d)
	}
	select {
	case <-getCanceled:
	case <-time.After(5 * time.Second):
		t.Fatal("get's context did not end when the peer went away")
	}
	if err := <-results; err == nil {
		t.Fatal("Serve reported an answer to a peer that had gone")
	}
}

func TestServeMalformedRequests(t *testing.T) {
	get := func(ctx context.Context, key string) (cache.Entry, error) {
		t.Errorf("get called for %q", key)
		return cache.Entry{}, errors.New("unreachable")
	}
	for _, c := range []struct {
		name   string
		req    []byte
		answer bool // a bad request answer, else none
		want   string
	}{
		{"wrong version", []byte{2, 0, 3, 'a', '/', 'b'}, true, "version 2"},
		{"key length over the bound", []byte{1, 0xff, 0xff}, true, "more than 1024"},
		{"path traversal", append([]byte{1, 0, 12}, "demo/../x.ts"...), true, "dot segments"},
		{"control character", append([]byte{1, 0, 8}, "demo/a\nb"...), true, "control character"},
		{"no stream", append([]byte{1, 0, 4}, "x.ts"...), true, `no "/"`},
		{"empty key", []byte{1, 0, 0}, true, "invalid object key"},
		// A request that stops short is waited for until requestTimeout.
		{"truncated header", []byte{1, 0}, false, "reading request header: read pipe: i/o timeout"},
		{"truncated key", append([]byte{1, 0, 20}, "demo/a"...), false, "reading request key (20 bytes): read pipe: i/o timeout"},
		{"nothing", nil, false, "i/o timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := rawServe(t, c.req, get)
			if !c.answer {
				if len(out) != 0 || err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("answered %q, Serve error %v; want no answer and an error with %q", out, err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			_, rerr := readResponse(bytes.NewReader(out), 1<<20)
			var se *StatusError
			if !errors.As(rerr, &se) || se.Status != StatusBadRequest || !strings.Contains(se.Msg, c.want) {
				t.Fatalf("answer %v, want bad request mentioning %q", rerr, c.want)
			}
		})
	}
}

// A request cut short by the end of the stream says so.
func TestReadRequestTruncated(t *testing.T) {
	valid := appendRequest(nil, "demo/seg-1.ts")
	for n := range len(valid) {
		_, err := readRequest(bytes.NewReader(valid[:n]))
		if !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrProtocol) {
			t.Fatalf("prefix of %d bytes: error %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
	if key, err := readRequest(bytes.NewReader(valid)); err != nil || key != "demo/seg-1.ts" {
		t.Fatalf("whole request: %q, %v", key, err)
	}
}

// okResponse is a valid ok response carrying body.
func okResponse(t *testing.T, body string) []byte {
	t.Helper()
	e := segment(body)
	b, err := appendOKHeader(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, e.Body...)
}

func TestReadResponseMalformed(t *testing.T) {
	valid := okResponse(t, "0123456789")
	// Every proper prefix of a valid response is a truncation.
	for n := range len(valid) {
		_, err := readResponse(bytes.NewReader(valid[:n]), 1<<20)
		if !errors.Is(err, ErrPeerFailed) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("prefix of %d bytes: error %v, want ErrPeerFailed and io.ErrUnexpectedEOF", n, err)
		}
	}
	meta := func(s string) []byte {
		b := []byte{1, 0, 0, byte(len(s))}
		return append(append(b, s...), 0, 0, 0, 0, 0, 0, 0, 0)
	}
	for _, c := range []struct {
		name string
		resp []byte
		is   error
		want string
	}{
		{"wrong version", []byte{9, 0, 0, 0}, ErrProtocol, "version 9"},
		{"unknown status", []byte{1, 6, 0, 0}, ErrProtocol, "unknown response status 6"},
		{"meta length over the bound", []byte{1, 0, 0xff, 0xff}, ErrProtocol, "meta length 65535"},
		{"message length over the bound", []byte{1, 2, 0xff, 0xff}, ErrProtocol, "message length 65535"},
		{"meta not JSON", meta("{nope"), ErrProtocol, "decoding meta"},
		{"meta with trailing garbage", meta(`{}x`), ErrProtocol, "decoding meta"},
		{"meta of the wrong type", meta(`{"stored":7}`), ErrProtocol, "decoding meta"},
		{"huge body", append(meta(`{}`)[:6], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ErrTooLarge, "18446744073709551615 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readResponse(bytes.NewReader(c.resp), 1<<20)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %v mentioning %q", err, c.is, c.want)
			}
		})
	}
	// An unknown meta field is ignored (a newer peer may send it).
	e, err := readResponse(bytes.NewReader(meta(`{"etag":"x","future":1}`)), 1<<20)
	if err != nil || e.ETag != "x" {
		t.Fatalf("meta with an unknown field: %+v, %v", e.Meta, err)
	}
}

// A peer that announces a large body within the limit and then sends
// little costs about what it sent, not what it announced.
func TestReadResponseAllocatesAsBytesArrive(t *testing.T) {
	resp := okResponse(t, "")
	resp = resp[:len(resp)-8]
	resp = append(resp, 0, 0, 0, 0, 0x40, 0, 0, 0) // 1 GiB
	resp = append(resp, make([]byte, 1000)...)
	var before, after runtimeMem
	before.read()
	_, err := readResponse(bytes.NewReader(resp), 2<<30)
	after.read()
	if !errors.Is(err, ErrPeerFailed) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want a truncated body", err)
	}
	if d := after.total - before.total; d > 4<<20 {
		t.Fatalf("reading a truncated 1 GiB body allocated %d bytes", d)
	}
}
