package cache

import (
	"context"
	"fmt"
)

// FillFunc produces the object for a key that is not cached, typically by
// fetching it from a peer edge or the origin. Its Entry's Key is set by
// Fill. It must honour ctx, which ends at Config.FillTimeout or Close.
type FillFunc func(ctx context.Context) (Entry, error)

// Fill returns key's entry, from the cache if it is there, else from fill,
// storing the result. However many callers ask for the same missing key at
// once, fill runs once and all of them share its result (and its error:
// errors are returned as fill returned them, not cached).
//
// The fill runs detached from the caller that started it: it keeps that
// caller's context values but not its cancellation, and is bounded by
// Config.FillTimeout instead. A caller whose ctx ends stops waiting and gets
// ctx's error; the fill goes on for the others, and its result is cached for
// later callers.
func (c *Cache) Fill(ctx context.Context, key string, fill FillFunc) (Entry, error) {
	e, _, err := c.FillOutcome(ctx, key, fill)
	return e, err
}

// Outcome says how FillOutcome got an entry (the Cache-Status header
// reports it to players).
type Outcome int

const (
	Hit       Outcome = iota // it was cached
	Filled                   // this call ran the fill
	Collapsed                // this call shared a fill another call started
)

// FillOutcome is Fill, also saying how the entry was found.
func (c *Cache) FillOutcome(ctx context.Context, key string, fill FillFunc) (Entry, Outcome, error) {
	if err := validKey(key); err != nil {
		return Entry{}, Filled, err
	}
	if e, ok := c.get(key, true); ok {
		return e, Hit, nil
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, Filled, err
	}
	// ran is written by this call's flight only, before the flight's
	// result is sent on ch: reading it after the receive is ordered.
	ran, hit := false, false
	ch := c.flight.DoChan(key, func() (any, error) {
		ran = true
		e, found, err := c.runFill(ctx, key, fill)
		hit = found
		return e, err
	})
	if c.joinedHook != nil {
		c.joinedHook() // this caller now waits on key's flight
	}
	select {
	case r := <-ch:
		outcome := Collapsed
		switch {
		case ran && hit:
			outcome = Hit
		case ran:
			outcome = Filled
		}
		if r.Err != nil {
			return Entry{}, outcome, r.Err
		}
		return r.Val.(Entry), outcome, nil
	case <-ctx.Done():
		return Entry{}, Collapsed, ctx.Err()
	}
}

// runFill is the body of one flight.
// found reports that the re-check found the entry cached after all.
func (c *Cache) runFill(ctx context.Context, key string, fill FillFunc) (e Entry, found bool, err error) {
	// Re-check inside the flight: a flight for key may have finished and
	// stored the entry between this caller's miss and the start of this one.
	if e, ok := c.get(key, false); ok {
		return e, true, nil
	}
	c.fillsMu.Lock()
	if c.closed {
		c.fillsMu.Unlock()
		return Entry{}, false, ErrClosed
	}
	c.fills.Add(1)
	c.fillsMu.Unlock()
	defer c.fills.Done()

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FillTimeout)
	defer cancel()
	stop := context.AfterFunc(c.base, cancel)
	defer stop()

	c.fillCount.Add(1)
	e, err = fill(fctx)
	if err != nil {
		c.fillErrs.Add(1)
		return Entry{}, false, err
	}
	e.Key = key
	e, err = c.put(e)
	if err != nil {
		c.fillErrs.Add(1)
		return Entry{}, false, fmt.Errorf("cache: fill of %q: %w", key, err)
	}
	return e, false, nil
}

// Close cancels the fills in flight, waits for them to return, and makes
// later fills fail with ErrClosed. Get, Put and Delete keep working. Close
// is idempotent.
func (c *Cache) Close() error {
	c.fillsMu.Lock()
	c.closed = true
	c.fillsMu.Unlock()
	c.stop()
	c.fills.Wait()
	return nil
}
