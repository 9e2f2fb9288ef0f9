package fetch

import (
	"errors"
	"fmt"

	"github.com/relaymesh/relaymesh/origin"
)

// Errors that callers branch on, with errors.Is. A peer's answer other than
// ok comes back as a *StatusError that wraps the sentinel of its status.
//
// ErrNotFound and ErrUnavailable also match origin.ErrNotFound and
// origin.ErrUnavailable, so the HTTP layer treats an object missing at the
// origin, or an origin out of reach, the same whether it asked the origin
// itself or a peer that did.
var (
	// ErrNotFound: the peer's upstream (in the end, the origin) says the
	// object does not exist. Matches origin.ErrNotFound.
	ErrNotFound error = &kindError{"not found at origin (answered by peer)", origin.ErrNotFound}
	// ErrUnavailable: the peer could not get the object now. Matches
	// origin.ErrUnavailable.
	ErrUnavailable error = &kindError{"origin unavailable (answered by peer)", origin.ErrUnavailable}
	// ErrBadRequest: the peer refused the request (invalid key, a version
	// it does not speak). Fetch also returns it, wrapping
	// hlskey.ErrInvalid, for a key it refuses to send.
	ErrBadRequest = errors.New("bad fetch request")
	// ErrTooLarge: the object is larger than the peer sends or than the
	// caller's maxBody.
	ErrTooLarge = errors.New("object too large to fetch")
	// ErrInternal: the peer failed for another reason.
	ErrInternal = errors.New("peer internal error")

	// ErrProtocol: a malformed request or response (wrong version,
	// truncated, a length beyond its bound, bad meta).
	ErrProtocol = errors.New("fetch protocol error")
	// ErrPeerFailed: the stream to the peer could not be opened, or broke
	// before the whole response arrived. The peer may be gone; callers
	// typically fall back to the origin, as the membership will soon say.
	ErrPeerFailed = errors.New("peer failed")
)

// kindError is a sentinel of this package that matches an origin sentinel.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// StatusError is a peer's answer other than ok, with its message.
type StatusError struct {
	Status Status
	Msg    string // the peer's explanation, for logs; may be empty
}

func (e *StatusError) Error() string {
	s := "peer answered " + e.Status.String()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Unwrap gives the status's sentinel (ErrNotFound for StatusNotFound, ...).
func (e *StatusError) Unwrap() error { return statusErr(e.Status) }

func statusErr(s Status) error {
	switch s {
	case StatusNotFound:
		return ErrNotFound
	case StatusUnavailable:
		return ErrUnavailable
	case StatusBadRequest:
		return ErrBadRequest
	case StatusTooLarge:
		return ErrTooLarge
	case StatusInternal:
		return ErrInternal
	default:
		return ErrProtocol
	}
}

// fetchError gives an error its scope: which key, from which peer.
func fetchError(key, addr string, err error) error {
	return fmt.Errorf("fetch: %.80q from %s: %w", key, addr, err)
}
