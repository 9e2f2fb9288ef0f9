package cache

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFillCoalescesConcurrentCallers(t *testing.T) {
	c := newTestCache(t, Config{MemoryBytes: 1 << 20})
	want := segment("live/seg7.ts", 4096)
	release := make(chan struct{})
	var calls atomic.Int64
	fill := func(ctx context.Context) (Entry, error) {
		calls.Add(1)
		<-release
		return Entry{Body: want.Body, Meta: want.Meta}, nil
	}

	const callers = 1000
	var started, done sync.WaitGroup
	errs := make(chan error, callers)
	started.Add(callers)
	done.Add(callers)
	for range callers {
		go func() {
			defer done.Done()
			started.Done()
			e, err := c.Fill(context.Background(), want.Key, fill)
			if err == nil && (!bytes.Equal(e.Body, want.Body) || e.Key != want.Key) {
				err = errors.New("wrong entry")
			}
			errs <- err
		}()
	}
	started.Wait()
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("fill ran %d times, want 1", n)
	}
	s := c.Stats()
	if s.Fills != 1 || s.Hits+s.Misses != callers {
		t.Fatalf("stats %+v", s)
	}
	// Later callers hit the cache.
	if _, err := c.Fill(context.Background(), want.Key, fill); err != nil || calls.Load() != 1 {
		t.Fatalf("fill after caching: err %v, calls %d", err, calls.Load())
	}
}

// The caller whose miss started the fill gives up; the fill goes on with
// its context values and serves the callers still waiting.
func TestFillCallerCancelDoesNotFailOthers(t *testing.T) {
	c := newTestCache(t, Config{MemoryBytes: 1 << 20})
	type ctxKey struct{}
	started := make(chan context.Context, 1)
	release := make(chan struct{})
	fill := func(ctx context.Context) (Entry, error) {
		started <- ctx
		select {
		case <-release:
			return Entry{Body: []byte("segment"), Meta: Meta{Immutable: true}}, nil
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}

	ctxA, cancelA := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "trace-1"))
	errA := make(chan error, 1)
	go func() {
		_, err := c.Fill(ctxA, "s/seg1.ts", fill)
		errA <- err
	}()
	fillCtx := <-started
	if fillCtx.Value(ctxKey{}) != "trace-1" {
		t.Fatal("fill context lost the caller's values")
	}

	resB := make(chan error, 1)
	go func() {
		e, err := c.Fill(context.Background(), "s/seg1.ts", fill)
		if err == nil && string(e.Body) != "segment" {
			err = errors.New("wrong body")
		}
		resB <- err
	}()
	// A third caller with a short deadline stops waiting on its own.
	ctxC, cancelC := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelC()
	if _, err := c.Fill(ctxC, "s/seg1.ts", fill); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller C: %v, want deadline exceeded", err)
	}

	cancelA()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller A: %v, want canceled", err)
	}
	if err := fillCtx.Err(); err != nil {
		t.Fatalf("cancelling caller A cancelled the shared fill: %v", err)
	}
	close(release)
	if err := <-resB; err != nil {
		t.Fatalf("caller B: %v", err)
	}
	if s := c.Stats(); s.Fills != 1 {
		t.Fatalf("fills %d, want 1", s.Fills)
	}
	mustGet(t, c, "s/seg1.ts", []byte("segment"))
}

func TestFillErrorsAreSharedNotCached(t *testing.T) {
	c := newTestCache(t, Config{MemoryBytes: 1 << 20})
	errOrigin := errors.New("not found at origin")
	_, err := c.Fill(context.Background(), "s/x.ts", func(context.Context) (Entry, error) { return Entry{}, errOrigin })
	if !errors.Is(err, errOrigin) {
		t.Fatalf("err %v", err)
	}
	e, err := c.Fill(context.Background(), "s/x.ts", func(context.Context) (Entry, error) {
		return Entry{Body: []byte("ok"), Meta: Meta{Immutable: true}}, nil
	})
	if err != nil || string(e.Body) != "ok" {
		t.Fatalf("retry: %v %q", err, e.Body)
	}
	if s := c.Stats(); s.Fills != 2 || s.FillErrors != 1 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := c.Fill(context.Background(), "", nil); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestFillTimeoutBoundsAHungFill(t *testing.T) {
	c := newTestCache(t, Config{MemoryBytes: 1 << 20, FillTimeout: 30 * time.Millisecond})
	start := time.Now()
	_, err := c.Fill(context.Background(), "s/hung.ts", func(ctx context.Context) (Entry, error) {
		<-ctx.Done()
		return Entry{}, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("hung fill returned after %v", d)
	}
}

func TestCloseStopsFills(t *testing.T) {
	c, err := New(Config{MemoryBytes: 1 << 20, FillTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Fill(context.Background(), "s/a.ts", func(ctx context.Context) (Entry, error) {
			close(started)
			<-ctx.Done()
			return Entry{}, ctx.Err()
		})
		errc <- err
	}()
	<-started
	c.Close() // returns only once the fill has returned
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("fill in flight: %v, want canceled", err)
	}
	_, err = c.Fill(context.Background(), "s/b.ts", func(context.Context) (Entry, error) {
		t.Error("fill ran after Close")
		return Entry{}, nil
	})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("fill after Close: %v", err)
	}
	c.Close() // idempotent
}

// FillOutcome tells the caller that ran the fill from one that waited on
// it and from a cache hit.
func TestFillOutcome(t *testing.T) {
	c := newTestCache(t, Config{MemoryBytes: 1 << 20})
	want := segment("live/seg9.ts", 64)
	entered, release := make(chan struct{}), make(chan struct{})
	joined := make(chan struct{}, 2) // one signal per caller that joins a flight
	c.joinedHook = func() { joined <- struct{}{} }
	fill := func(ctx context.Context) (Entry, error) {
		close(entered)
		<-release
		return Entry{Body: want.Body, Meta: want.Meta}, nil
	}
	first := make(chan Outcome, 1)
	go func() {
		_, o, err := c.FillOutcome(context.Background(), want.Key, fill)
		if err != nil {
			t.Error(err)
		}
		first <- o
	}()
	<-entered // the first caller's fill is running
	<-joined  // and the first caller waits on it
	second := make(chan Outcome, 1)
	go func() {
		_, o, err := c.FillOutcome(context.Background(), want.Key, func(context.Context) (Entry, error) {
			return Entry{}, errors.New("second fill ran: not coalesced")
		})
		if err != nil {
			t.Error(err)
		}
		second <- o
	}()
	<-joined // the second caller waits on the first one's flight
	close(release)
	if o := <-first; o != Filled {
		t.Errorf("first caller: outcome %v, want Filled", o)
	}
	if o := <-second; o != Collapsed {
		t.Errorf("second caller: outcome %v, want Collapsed", o)
	}
	if _, o, err := c.FillOutcome(context.Background(), want.Key, fill); err != nil || o != Hit {
		t.Errorf("third caller: outcome %v, err %v; want Hit", o, err)
	}
}
