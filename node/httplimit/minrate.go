package httplimit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// ErrTooSlow is returned by a MinRate body whose client fell below the
// minimum rate; it also matches os.ErrDeadlineExceeded.
var ErrTooSlow = errors.New("httplimit: request body arrived below the minimum rate")

// MinRate wraps a request body that may take long (an upload) so that it
// must keep arriving: each window must bring at least rate·window bytes,
// or the connection's read deadline, which moves a window ahead whenever a
// window's worth has arrived, cuts it. The server-wide ReadTimeout, which
// would cut a big upload however fast it came, is replaced for this
// request. A client trickling a byte every 2 s is cut one window after its
// last full window. rate and window must be positive.
func MinRate(body io.ReadCloser, rc *http.ResponseController, rate int64, window time.Duration) io.ReadCloser {
	m := &minRate{ReadCloser: body, rc: rc, window: window, need: max(int64(float64(rate)*window.Seconds()), 1)}
	m.extend()
	return m
}

type minRate struct {
	io.ReadCloser
	rc     *http.ResponseController
	window time.Duration
	need   int64 // bytes per window
	got    int64 // in the current window
}

func (m *minRate) extend() {
	// HTTP/1 connections support deadlines; without them the server-wide
	// ReadTimeout stays in force, which is safe, only stricter.
	_ = m.rc.SetReadDeadline(time.Now().Add(m.window))
}

func (m *minRate) Read(p []byte) (int, error) {
	n, err := m.ReadCloser.Read(p)
	if m.got += int64(n); m.got >= m.need {
		m.got = 0
		m.extend()
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w (%d bytes in %s): %w", ErrTooSlow, m.need, m.window, err)
	}
	return n, err
}

// Nosniff sets X-Content-Type-Options: nosniff on every response of h, so
// no browser guesses a type other than the one declared (a playlist or an
// error body rendered as HTML).
func Nosniff(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
