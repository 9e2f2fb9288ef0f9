package spool

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// ApplyFunc applies one op at the origin. It must honour ctx and return nil
// only once the origin has the op's effect; the spool retries any error.
// A DELETE of a key the origin does not have should return nil.
type ApplyFunc func(ctx context.Context, op Op) error

var errRunning = errors.New("spool: Run is already running")

// Run applies the waiting ops, and every op appended later, strictly in
// sequence order and one at a time, until ctx is done (it returns ctx.Err())
// or the spool is closed (ErrClosed). A failed apply is retried with
// exponential backoff and jitter, never skipped: the op after it waits. An
// applied op's file is removed, and the removal made durable, before the next
// op is applied, so a restart cannot replay an old op after a newer one.
//
// Only one Run may be active at a time. Close cancels the ctx passed to
// apply and waits for Run to return.
func (s *Spool) Run(ctx context.Context, apply ApplyFunc) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.running:
		s.mu.Unlock()
		return errRunning
	}
	s.running = true
	s.runs.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		s.runs.Done()
	}()

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // ends with ctx, which the deferred cancel guarantees
		select {
		case <-s.closeCh:
			cancel()
		case <-ctx.Done():
		}
	}()

	for {
		e, err := s.waitHead(ctx)
		if err != nil {
			return s.runErr(parent)
		}
		op, f, err := s.load(ctx, e)
		if errors.Is(err, errCorrupt) {
			s.log.Error("dropping corrupt spool file", "seq", e.seq, "err", err)
			if err := s.remove(ctx, e, false); err != nil {
				return s.runErr(parent)
			}
			continue
		}
		if err != nil {
			return s.runErr(parent)
		}
		err = s.applyWithRetry(ctx, apply, op)
		_ = f.Close() // read-only; nothing to report
		if err != nil {
			return s.runErr(parent)
		}
		// Applied: remove the file even if ctx ended meanwhile, or the op
		// would be applied again after the next Open. The removal does not
		// block on the origin, only on the local disk.
		if err := s.remove(context.WithoutCancel(ctx), e, true); err != nil {
			return s.runErr(parent)
		}
	}
}

// runErr is Run's result once ctx (derived from parent) is done.
func (s *Spool) runErr(parent context.Context) error {
	if err := parent.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// waitHead waits until the first op in the queue is on disk.
func (s *Spool) waitHead(ctx context.Context) (*entry, error) {
	for {
		s.mu.Lock()
		if len(s.q) > 0 && s.q[0].state == ready {
			e := s.q[0]
			s.mu.Unlock()
			return e, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// load opens and verifies e's file, retrying read errors other than
// corruption (a disk that is briefly unreadable must not lose the op). The
// op's Body reads from the returned file, which the caller closes.
func (s *Spool) load(ctx context.Context, e *entry) (Op, *os.File, error) {
	path := filepath.Join(s.dir, recordName(e.seq))
	for attempt := 0; ; attempt++ {
		op, _, f, err := readRecordFile(path, e.seq)
		if err == nil || errors.Is(err, errCorrupt) {
			return op, f, err
		}
		s.log.Warn("reading spool file", "seq", e.seq, "attempt", attempt+1, "err", err)
		if err := s.sleep(ctx, attempt); err != nil {
			return Op{}, nil, err
		}
	}
}

func (s *Spool) applyWithRetry(ctx context.Context, apply ApplyFunc, op Op) error {
	body, _ := op.Body.(io.Seeker)
	for attempt := 0; ; attempt++ {
		if body != nil {
			if _, err := body.Seek(0, io.SeekStart); err != nil {
				return err // a SectionReader over the file cannot fail to seek to 0
			}
		}
		err := apply(ctx, op)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.mu.Lock()
		s.stats.Retries++
		s.mu.Unlock()
		lvl := s.log.Debug
		if attempt == 0 {
			lvl = s.log.Warn
		}
		lvl("applying spooled op failed, will retry", "op", op.String(), "attempt", attempt+1, "err", err)
		if err := s.sleep(ctx, attempt); err != nil {
			return err
		}
	}
}

// remove deletes e's file durably and pops e from the queue. applied says
// whether it counts as applied or as a dropped corrupt file.
func (s *Spool) remove(ctx context.Context, e *entry, applied bool) error {
	path := filepath.Join(s.dir, recordName(e.seq))
	for attempt := 0; ; attempt++ {
		err := os.Remove(path)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			err = syncDir(s.dir)
		}
		if err == nil {
			break
		}
		s.log.Error("removing spool file", "seq", e.seq, "attempt", attempt+1, "err", err)
		if err := s.sleep(ctx, attempt); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only Run pops, and Append only removes entries still being written,
	// so e is still the head.
	s.q[0] = nil
	s.q = s.q[1:]
	s.bytes -= e.size
	if applied {
		s.stats.Applied++
	} else {
		s.stats.Corrupt++
	}
	s.broadcastLocked()
	return nil
}

// sleep waits out the backoff after the attempt-th failure (from 0).
func (s *Spool) sleep(ctx context.Context, attempt int) error {
	t := time.NewTimer(backoff(s.cfg.RetryMin, s.cfg.RetryMax, attempt))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff returns min·2^attempt capped at max, minus a random jitter of up
// to half of it.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		if d > hi/2 {
			d = hi // and no overflow
			break
		}
		d *= 2
	}
	d = min(d, hi)
	if half := int64(d / 2); half > 0 {
		d -= time.Duration(rand.Int64N(half + 1))
	}
	return d
}
