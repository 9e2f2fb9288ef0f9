// Package nodetest holds what the tests of several packages share when they
// run real nodes: a logger that writes into the test log, and the leak-check
// options that ignore upstream libraries' lingering goroutines.
package nodetest

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/node/natsd"
	"go.uber.org/goleak"
)

// Logger logs records at level and above into t's log. memberlist's
// Shutdown does not wait for a probe in flight, which may still log a
// moment after the node stopped, so the logger goes quiet when the test
// ends rather than calling t.Log too late (which panics).
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	w := &writer{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type writer struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// LeakOptions are goleak options that ignore only nats-server's and
// memberlist's own lingering goroutines (natsd.UpstreamGoroutines,
// membership.UpstreamGoroutines), plus extra.
func LeakOptions(extra ...goleak.Option) []goleak.Option {
	for _, f := range append(append([]string{}, natsd.UpstreamGoroutines...), membership.UpstreamGoroutines...) {
		extra = append(extra, goleak.IgnoreTopFunction(f))
	}
	return extra
}
