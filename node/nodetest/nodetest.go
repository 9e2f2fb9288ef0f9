// Package nodetest holds what the tests of several packages share when they
// run real nodes: a logger that writes into the test log, the leak-check
// options that ignore upstream libraries' lingering goroutines, and polling
// for a condition with a deadline.
package nodetest

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

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

// WaitFor polls cond every 10 ms until it holds, and fails the test if it
// does not within the given time: tests wait for conditions, not for
// sleeps to be long enough.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(within, cond) {
		t.Fatalf("timed out after %v waiting for %s", within, what)
	}
}

// Poll polls cond every 10 ms until it holds or within has passed, and
// reports whether it held: WaitFor for goroutines other than the test's,
// which must not call t.Fatal, and for callers that report a failure
// their own way.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	return true
}

// SyncBuffer is a bytes.Buffer that several goroutines may write (a
// process's output copier, a progress reporter) while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
