package origin

import (
	"errors"
	"fmt"
)

// Errors that callers branch on, with errors.Is. Every error from a client
// call is an *Error that wraps one of these, or none when the origin
// refused the request for another reason (access denied, missing bucket,
// bad request: a configuration problem, not a transient one) or the caller's
// context ended (it wraps context.Canceled or DeadlineExceeded then). A key
// that hlskey.Check refuses gives a *hlskey.Error (hlskey.ErrInvalid) and no
// request.
var (
	// ErrNotFound: the origin answered that the object does not exist
	// (404, NoSuchKey). Never retried: asking again gives the same answer.
	ErrNotFound = errors.New("not found at origin")

	// ErrUnavailable: the origin could not be reached or kept failing
	// (network errors, 5xx, 429/SlowDown, the call's timeout) for every
	// attempt the call's budget allowed. Edges serve stale content or
	// answer 504; ingest spools.
	ErrUnavailable = errors.New("origin unavailable")
)

// Error is a failed client call: which call, which key, how it ended.
type Error struct {
	Op       string // "get", "stat", "put", "delete"
	Key      string
	Kind     error // ErrNotFound, ErrUnavailable, or nil
	Attempts int   // requests made; 0 when the call was refused before any
	Err      error // the last underlying error (minio-go, network, context)
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("origin: %s %q", e.Op, e.Key)
	switch {
	case e.Kind == ErrUnavailable:
		msg += fmt.Sprintf(": %v after %d attempt%s", ErrUnavailable, e.Attempts, plural(e.Attempts))
	case e.Kind != nil:
		msg += ": " + e.Kind.Error()
		if errors.Is(e.Kind, ErrNotFound) {
			return msg // the cause ("The specified key does not exist.") adds nothing
		}
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap gives both the kind and the cause, so that errors.Is finds
// ErrNotFound or ErrUnavailable as well as, say, context.Canceled.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
