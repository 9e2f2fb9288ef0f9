package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/node/hls/cache"
)

// Opener opens a fresh stream for one fetch to the peer at addr. Link
// adapts a *link.Endpoint; tests use net.Pipe.
type Opener interface {
	Open(ctx context.Context, addr string) (net.Conn, error)
}

// OpenerFunc adapts a function to Opener.
type OpenerFunc func(ctx context.Context, addr string) (net.Conn, error)

func (f OpenerFunc) Open(ctx context.Context, addr string) (net.Conn, error) { return f(ctx, addr) }

// Link opens fetch streams of kind k (link.KindFetch or
// link.KindFetchCached) on ep.
func Link(ep *link.Endpoint, k link.Kind) Opener {
	return OpenerFunc(func(ctx context.Context, addr string) (net.Conn, error) {
		s, err := ep.OpenStream(ctx, addr, k)
		if err != nil {
			return nil, err // not s: a nil *link.Stream in a net.Conn is not nil
		}
		return s, nil
	})
}

// Fetch asks the peer at addr for key on a new stream and returns the entry
// (its Key set), or an error that says why, scoped with the key and peer:
//
//   - the peer's answer: a *StatusError wrapping ErrNotFound (which matches
//     origin.ErrNotFound), ErrUnavailable (origin.ErrUnavailable),
//     ErrBadRequest, ErrTooLarge or ErrInternal;
//   - ErrTooLarge also when the peer announces a body over maxBody (nothing
//     of it is read);
//   - ErrBadRequest and hlskey.ErrInvalid for a key Fetch refuses to send;
//   - ErrProtocol for a malformed response;
//   - ErrPeerFailed when the stream cannot be opened or breaks;
//   - ctx's error when ctx ends first.
//
// ctx bounds the whole exchange: its deadline becomes the stream's, and its
// cancellation unblocks the stream at once.
func Fetch(ctx context.Context, op Opener, addr, key string, maxBody int64) (cache.Entry, error) {
	if err := validKey(key); err != nil {
		return cache.Entry{}, fetchError(key, addr, fmt.Errorf("%w: %w", ErrBadRequest, err))
	}
	if err := ctx.Err(); err != nil {
		return cache.Entry{}, fetchError(key, addr, err)
	}
	conn, err := op.Open(ctx, addr)
	if err != nil {
		if ctx.Err() != nil {
			return cache.Entry{}, fetchError(key, addr, fmt.Errorf("opening stream: %w", ctx.Err()))
		}
		return cache.Entry{}, fetchError(key, addr, fmt.Errorf("%w: opening stream: %w", ErrPeerFailed, err))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	e, err := exchange(conn, key, maxBody)
	if err != nil && errors.Is(err, ErrPeerFailed) {
		// The deadline we set fired, or cancellation unblocked the stream:
		// report the context, not the i/o timeout it caused. (The stream's
		// deadline timer may fire just before ctx's own.)
		if cerr := ctx.Err(); cerr != nil {
			return cache.Entry{}, fetchError(key, addr, cerr)
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return cache.Entry{}, fetchError(key, addr, context.DeadlineExceeded)
		}
	}
	if err != nil {
		return cache.Entry{}, fetchError(key, addr, err)
	}
	e.Key = key
	return e, nil
}

// exchange writes the request and reads the response.
func exchange(conn net.Conn, key string, maxBody int64) (cache.Entry, error) {
	if _, err := conn.Write(appendRequest(make([]byte, 0, 3+len(key)), key)); err != nil {
		return cache.Entry{}, fmt.Errorf("%w: writing request: %w", ErrPeerFailed, err)
	}
	return readResponse(conn, maxBody)
}
