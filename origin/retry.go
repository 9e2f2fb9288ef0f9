package origin

import (
	"context"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
)

// class is what a failed request means for the call.
type class int

const (
	permanent class = iota // the origin said no: report, do not retry
	notFound               // 404 / NoSuchKey: ErrNotFound, do not retry
	transient              // network, 5xx, 429, throttling: retry while the budget lasts
)

// classify sorts one request's error. minio-go's own retries are off
// (Options.MaxRetries = 1), so every error arrives here once.
func classify(err error) class {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey:
			return notFound
		case resp.Code == minio.NoSuchBucket:
			// A missing bucket is a configuration error, not a missing
			// object: surface it instead of answering fans 404.
			return permanent
		case resp.StatusCode == http.StatusNotFound:
			return notFound
		case transientCodes[resp.Code], transientStatus[resp.StatusCode]:
			return transient
		}
		return permanent
	}
	// Not an S3 answer: the request did not complete (refused, reset,
	// timed out, cut short). That is transient unless retrying cannot help.
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) {
		return permanent
	}
	return transient
}

// The S3 error codes and HTTP statuses worth another try; the same lists
// minio-go retries on (its retry.go), whose own retries we turn off so that
// attempts and waits are bounded here, in one place.
var (
	transientCodes = map[string]bool{
		"RequestError": true, "RequestTimeout": true, "InternalError": true,
		"Throttling": true, "ThrottlingException": true, "RequestLimitExceeded": true,
		"RequestThrottled": true, "SlowDown": true, "SlowDownWrite": true, "SlowDownRead": true,
		"ServiceUnavailable": true, "ExpiredToken": true, "ExpiredTokenException": true,
	}
	transientStatus = map[int]bool{
		http.StatusRequestTimeout: true, http.StatusTooManyRequests: true,
		499:                            true, // nginx: client closed request
		http.StatusInternalServerError: true, http.StatusBadGateway: true,
		http.StatusServiceUnavailable: true, http.StatusGatewayTimeout: true,
		520: true, // Cloudflare: unknown error from the origin
	}
)

// retry runs attempt until it succeeds, fails for good, or the call runs
// out of attempts or time. callCtx carries the call's timeout; caller is
// the caller's own context, to tell its cancellation from our timeout.
func (c *Client) retry(callCtx, caller context.Context, op, key string, attempt func(context.Context) error) error {
	for n := 1; ; n++ {
		err := attempt(callCtx)
		if err == nil {
			return nil
		}
		fail := func(kind error) error { return &Error{Op: op, Key: key, Kind: kind, Attempts: n, Err: err} }
		if caller.Err() != nil {
			// The caller gave up: its error, not the origin's fault.
			err = context.Cause(caller)
			return fail(nil)
		}
		switch classify(err) {
		case notFound:
			return fail(ErrNotFound)
		case permanent:
			return fail(nil)
		}
		if n >= c.cfg.Attempts || callCtx.Err() != nil {
			return fail(ErrUnavailable)
		}
		wait := c.backoff(n)
		if dl, ok := callCtx.Deadline(); ok && time.Until(dl) < wait {
			return fail(ErrUnavailable) // no time left for another attempt
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-callCtx.Done():
			t.Stop()
			if caller.Err() != nil {
				err = context.Cause(caller)
				return fail(nil)
			}
			return fail(ErrUnavailable)
		}
	}
}

// backoff is the wait after the n-th failed attempt: exponential from
// cfg.Backoff, capped at maxBackoff, with "equal jitter" (half fixed, half
// random) so that many edges retrying at once spread out but still back off.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.Backoff << (n - 1)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

const maxBackoff = 2 * time.Second
