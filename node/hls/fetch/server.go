package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/origin"
)

// Getter produces the entry for a key a peer asked for. The node wires it
// to its cache's Fill, whose fill goes on to the shield owner or the origin
// (owner.OwnerRoute: a node answering a peer never forwards the request
// within its own region again). ctx ends when Serve's ctx does or the peer
// goes away.
type Getter func(ctx context.Context, key string) (cache.Entry, error)

// Timeouts of the server side of a stream.
const (
	// RequestTimeout bounds reading the request: it is a few bytes that the
	// peer writes right after opening the stream.
	RequestTimeout = 5 * time.Second
	// ResponseTimeout bounds writing the response once the entry is there:
	// a few MB, at WAN speeds a second or two; a peer that does not read
	// for this long is stuck and loses the stream.
	ResponseTimeout = 30 * time.Second
)

// requestTimeout is RequestTimeout; tests shorten it.
var requestTimeout = RequestTimeout

// Serve answers the one request on conn and closes conn. It reads the
// request (within RequestTimeout), calls get, and writes the entry, or the
// status that get's error maps to:
//
//   - origin.ErrNotFound (fetch.ErrNotFound matches it): StatusNotFound;
//   - origin.ErrUnavailable, ErrPeerFailed, a context that ended:
//     StatusUnavailable;
//   - hlskey.ErrInvalid: StatusBadRequest;
//   - ErrTooLarge, or a body over maxBody: StatusTooLarge;
//   - anything else: StatusInternal, with get's error as the message.
//
// A malformed request or an invalid key gets StatusBadRequest, and get is
// not called. A request that does not arrive gets no answer.
//
// Serve returns nil when it wrote a response, whatever its status; else
// why it could not, for the caller to log.
func Serve(ctx context.Context, conn net.Conn, get Getter, maxBody int64) error {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(requestTimeout))
	key, err := readRequest(conn)
	if err != nil {
		if errors.Is(err, ErrProtocol) || errors.Is(err, hlskey.ErrInvalid) {
			return respond(conn, appendError(nil, StatusBadRequest, err.Error()))
		}
		return fmt.Errorf("fetch: serving %s: %w", conn.RemoteAddr(), err)
	}

	// The peer sends nothing after its request: a read that returns means
	// it went away (or broke the protocol), and get's context ends.
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_ = conn.SetReadDeadline(time.Time{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		var b [1]byte
		_, _ = conn.Read(b[:])
		cancel()
	}()
	// Whatever happens next, close conn (which ends the watcher's Read)
	// and wait for the watcher: it must not outlive Serve.
	defer func() {
		_ = conn.Close()
		<-watched
	}()

	e, err := get(gctx, key)
	var resp, body []byte
	switch {
	case err != nil:
		resp = appendError(nil, errStatus(err), err.Error())
	case int64(len(e.Body)) > maxBody:
		resp = appendError(nil, StatusTooLarge, fmt.Sprintf("%q is %d bytes, this node sends at most %d", key, len(e.Body), maxBody))
	default:
		resp, err = appendOKHeader(make([]byte, 0, 512), e)
		if err != nil {
			resp = appendError(nil, StatusInternal, fmt.Sprintf("%q: %v", key, err))
		} else {
			body = e.Body
		}
	}
	if err := respond(conn, resp, body); err != nil {
		return fmt.Errorf("fetch: serving %q to %s: %w", key, conn.RemoteAddr(), err)
	}
	return nil
}

// respond writes the response's parts within ResponseTimeout.
func respond(conn net.Conn, parts ...[]byte) error {
	_ = conn.SetWriteDeadline(time.Now().Add(ResponseTimeout))
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		if _, err := conn.Write(p); err != nil {
			return fmt.Errorf("writing response: %w", err)
		}
	}
	return nil
}

// errStatus maps get's error to the status that tells the peer what it
// means for it.
func errStatus(err error) Status {
	switch {
	case errors.Is(err, origin.ErrNotFound):
		return StatusNotFound
	case errors.Is(err, origin.ErrUnavailable), errors.Is(err, ErrPeerFailed),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, cache.ErrClosed):
		return StatusUnavailable
	case errors.Is(err, hlskey.ErrInvalid), errors.Is(err, ErrBadRequest):
		return StatusBadRequest
	case errors.Is(err, ErrTooLarge):
		return StatusTooLarge
	default:
		return StatusInternal
	}
}

// Handler serves fetch streams for ep.HandleStream(link.KindFetch, ...).
// ctx is the node's lifetime; logf (may be nil) hears streams that could
// not be answered.
func Handler(ctx context.Context, get Getter, maxBody int64, logf func(format string, args ...any)) link.StreamHandler {
	return func(s *link.Stream) {
		if err := Serve(ctx, s, get, maxBody); err != nil && logf != nil {
			logf("%v (peer %s)", err, s.PeerName())
		}
	}
}
