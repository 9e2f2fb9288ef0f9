// Package spool is the durable, ordered queue between a streamer's ingest
// requests and the origin.
//
// The ingest handler appends every request to the spool, its body streamed
// straight to disk, and may acknowledge the streamer as soon as Append
// returns, because by then the op is on disk; it then waits a little for Run
// to have applied it, to tell "written through" from "spooled".
// Run replays the ops at the origin strictly in the order they were appended,
// one at a time, retrying each until it succeeds: an HLS playlist must not
// reach the origin before the segments it lists, and a DELETE must not
// overtake the PUT of the same key.
//
// Delivery is exactly once and in order while the process lives, and at least
// once and in order across a crash: an op whose apply succeeded but whose file
// was not yet removed is applied again after a restart, followed by every op
// after it, so the origin ends in the same state.
//
// Ops are never coalesced. The only merges that keep the final state (drop a
// PUT that a later PUT of the same key supersedes; drop a PUT and its DELETE)
// still expose states the streamer never produced: a playlist listing a
// segment that was dropped, or an older playlist next to segments already
// deleted. Playlists are small, so the saving would be small too.
//
// One Spool owns its directory; two processes must not open the same one.
package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

var (
	// ErrClosed is returned by every call on a closed Spool.
	ErrClosed = errors.New("spool: closed")
	// ErrFull is returned by Append when the op would take the spool past
	// Config.MaxBytes. The op is not recorded; the ingest layer answers 507.
	ErrFull = errors.New("spool: full")
	// ErrTooLarge is returned by Append for a body larger than
	// Config.MaxObjectBytes. The ingest layer answers 413.
	ErrTooLarge = errors.New("spool: object too large")
	// ErrReadBody wraps the error of an op's Body that Append could not
	// read to its end (the client went away, or was too slow). Nothing is
	// recorded.
	ErrReadBody = errors.New("spool: reading the body")
)

// Config tunes a Spool. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// MaxBytes bounds the spool's files on disk, headers included. An op
	// that would cross it is refused with ErrFull rather than filling the
	// disk: the streamer sees the outage instead of the node dying of it.
	// At 6 Mbit/s a stream spools about 2.7 GB an hour; the default covers
	// about 20 minutes of one such stream. Ops already on disk at Open
	// count too, even if they exceed a newly lowered bound.
	MaxBytes int64

	// MaxObjectBytes bounds one op's body. HLS segments of a few seconds
	// are a few MB. Bodies are streamed to disk and from it, never held in
	// memory whole, so the bound is about disk, not RAM.
	MaxObjectBytes int64

	// RetryMin is the delay before the first retry of a failed apply. Each
	// further failure of the same op doubles it up to RetryMax; every delay
	// is jittered down by up to half so that nodes recovering from the same
	// origin outage do not retry in step.
	RetryMin time.Duration
	// RetryMax caps the delay between retries, and so how long after the
	// origin comes back the spool can take to notice.
	RetryMax time.Duration

	// Logger receives drops of corrupt files and apply failures (the first
	// of a run at Warn, retries at Debug). Nil discards.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults applied to zero Config fields.
func DefaultConfig() Config {
	return Config{
		MaxBytes:       1 << 30,                // 1 GiB: ~20 minutes of a 6 Mbit/s stream
		MaxObjectBytes: 64 << 20,               // 64 MiB: far above any sane segment
		RetryMin:       100 * time.Millisecond, // a blip costs one short wait
		RetryMax:       5 * time.Second,        // an outage is noticed within 5 s of its end
	}
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.MaxBytes == 0 {
		c.MaxBytes = d.MaxBytes
	}
	if c.MaxObjectBytes == 0 {
		c.MaxObjectBytes = d.MaxObjectBytes
	}
	if c.RetryMin == 0 {
		c.RetryMin = d.RetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = d.RetryMax
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("spool: MaxBytes %d is negative", c.MaxBytes))
	}
	if c.MaxObjectBytes < 0 {
		errs = append(errs, fmt.Errorf("spool: MaxObjectBytes %d is negative", c.MaxObjectBytes))
	}
	if c.RetryMin < 0 {
		errs = append(errs, fmt.Errorf("spool: RetryMin %v is negative", c.RetryMin))
	}
	if c.RetryMax < c.RetryMin {
		errs = append(errs, fmt.Errorf("spool: RetryMax %v is below RetryMin %v", c.RetryMax, c.RetryMin))
	}
	return c, errors.Join(errs...)
}

// Stats is a snapshot for metrics and for the "stale" headers of the edge.
// Counters start at zero with every Open.
type Stats struct {
	Len    int           // ops waiting, including appends still being written
	Bytes  int64         // their size on disk
	Oldest time.Duration // age of the oldest waiting op; 0 when empty

	Appended    uint64 // ops appended (durably) since Open
	Rejected    uint64 // appends refused by a bound (ErrFull, ErrTooLarge)
	Applied     uint64 // ops applied at the origin and removed
	Retries     uint64 // failed applies (each followed by a retry)
	Corrupt     uint64 // op files dropped as corrupt, at Open or when read
	TempRemoved uint64 // temp files of interrupted appends removed at Open
}

type entryState uint8

const (
	writing entryState = iota // seq reserved, file not yet durable
	ready                     // on disk, may be applied
)

type entry struct {
	seq      uint64
	size     int64
	appended time.Time
	state    entryState
}

// Spool is a durable FIFO of ops in one directory. All methods are safe for
// concurrent use.
type Spool struct {
	dir string
	cfg Config
	log *slog.Logger

	closeCh chan struct{} // closed by Close
	appends sync.WaitGroup
	runs    sync.WaitGroup

	mu      sync.Mutex
	q       []*entry // by seq; appends reserve their slot before writing
	bytes   int64
	next    uint64
	closed  bool
	running bool
	changed chan struct{} // closed and replaced on every change of q
	stats   Stats
}

// Open opens the spool in dir, creating the directory if needed, and
// rebuilds the queue from the op files in it: Open, not New, because the
// spool is durable state that outlives the process, like a file (Close
// leaves it on disk; the next Open finds it). Temp files of interrupted
// appends are removed; op files that fail their checks (truncated, bad
// checksum) are removed and counted in Stats.Corrupt, never applied. Every
// op file is read in full (streamed through its checksums), so Open takes
// time in proportion to the backlog.
// Sequence numbers resume after the highest one found: they order the ops
// on disk and are not kept once the spool has drained, so an empty spool
// numbers from 1 again. Nothing outside the spool may rely on them across
// an Open.
func Open(dir string, cfg Config) (*Spool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{
		dir:     dir,
		cfg:     cfg,
		log:     cfg.Logger,
		closeCh: make(chan struct{}),
		changed: make(chan struct{}),
		next:    1,
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	removed := false
	for _, de := range des {
		name := de.Name()
		path := filepath.Join(dir, name)
		if strings.HasSuffix(name, tmpSuffix) {
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("spool: removing temp file: %w", err)
			}
			s.stats.TempRemoved++
			removed = true
			continue
		}
		seq, ok := parseRecordName(name)
		if !ok || !de.Type().IsRegular() {
			continue // not ours: leave it alone
		}
		op, size, f, err := readRecordFile(path, seq)
		if f != nil {
			_ = f.Close() // read-only; nothing to report
		}
		if err != nil && !errors.Is(err, errCorrupt) {
			return nil, err
		}
		if err != nil {
			s.log.Error("dropping corrupt spool file", "file", name, "err", err)
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("spool: removing corrupt file: %w", err)
			}
			s.stats.Corrupt++
			removed = true
			continue
		}
		s.q = append(s.q, &entry{seq: seq, size: size, appended: op.Appended, state: ready})
		s.bytes += size
	}
	if removed {
		if err := syncDir(dir); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	// ReadDir sorts by name and names are zero-padded, but do not rely on
	// the platform for the one property everything depends on.
	slices.SortFunc(s.q, func(a, b *entry) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	if n := len(s.q); n > 0 {
		s.next = s.q[n-1].seq + 1
	}
	return s, nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Append records op durably and returns its sequence number. It returns only
// once the op's file and its directory entry are on disk, so the caller may
// acknowledge the streamer. Ops are applied in the order of their sequence
// numbers; of two Appends, the one that was called after the other returned
// gets the higher one. The sequence number is assigned once the body has
// been read, so an upload that trickles in does not hold up the ops
// appended meanwhile. op.Body is read to EOF (or to the first error) and
// not retained; the bytes it yields count against Config.MaxBytes as they
// arrive.
//
// Append fails without recording anything with ErrInvalidOp, ErrTooLarge,
// ErrFull, ErrClosed, ErrReadBody (wrapping op.Body's error), or an I/O
// error.
func (s *Spool) Append(op Op) (uint64, error) {
	seq, _, err := s.append(op, false)
	return seq, err
}

// AppendOpen is Append that also returns the body as recorded, readable
// until the caller closes it even after Run has applied the op and removed
// its file: ingest reads a pushed segment back into its cache from here
// instead of holding it in memory while it arrives. Nil for a DELETE.
func (s *Spool) AppendOpen(op Op) (uint64, *Body, error) {
	return s.append(op, true)
}

// Body is a recorded op's body, open for reading; see AppendOpen.
type Body struct {
	*io.SectionReader
	f *os.File
}

// Close releases the file.
func (b *Body) Close() error { return b.f.Close() }

func (s *Spool) append(op Op, open bool) (uint64, *Body, error) {
	if err := op.validate(); err != nil {
		return 0, nil, err
	}
	hdrLen := headerLen(op)
	if err := s.reserve(op, hdrLen+max(op.Size, 0), op.Size); err != nil {
		return 0, nil, err
	}
	defer s.appends.Done()
	reserved := hdrLen + max(op.Size, 0)
	release := func() {
		s.mu.Lock()
		s.bytes -= reserved
		s.broadcastLocked()
		s.mu.Unlock()
	}

	f, err := os.CreateTemp(s.dir, "append-*"+tmpSuffix)
	if err != nil {
		release()
		return 0, nil, fmt.Errorf("spool: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) (uint64, *Body, error) {
		_ = f.Close() // may already be closed; the error is reported
		_ = os.Remove(tmp)
		release()
		return 0, nil, err
	}
	// The body goes behind a placeholder header, straight from the reader.
	w := &bodyWriter{s: s, f: f, off: hdrLen, crc: crc32.New(crcTable), reserved: &reserved, declared: op.Size}
	if op.Body != nil {
		if _, err := io.Copy(w, io.LimitReader(op.Body, s.cfg.MaxObjectBytes+1)); err != nil {
			if !errors.Is(err, ErrFull) && !errors.Is(err, errWrite) {
				err = fmt.Errorf("%w of %s %q: %w", ErrReadBody, op.Kind, op.Key, err)
			}
			return fail(err)
		}
	}
	switch {
	case w.n > s.cfg.MaxObjectBytes:
		s.countRejected()
		return fail(fmt.Errorf("%w: %s %q has more than %d bytes", ErrTooLarge, op.Kind, op.Key, s.cfg.MaxObjectBytes))
	case op.Size >= 0 && w.n != op.Size:
		return fail(fmt.Errorf("%w: %s %q has %d bytes, declared %d", ErrInvalidOp, op.Kind, op.Key, w.n, op.Size))
	}
	if err := f.Sync(); err != nil { // the body, before it takes a place in the queue
		return fail(fmt.Errorf("spool: %w", err))
	}

	// The body is on disk: take the next place in the queue, then write
	// the header that names it. Run waits for this entry, so from here on
	// the work is short and local.
	now := time.Now()
	s.mu.Lock()
	e := &entry{seq: s.next, size: hdrLen + w.n, appended: now, state: writing}
	s.next++
	s.q = append(s.q, e)
	s.bytes += e.size - reserved // settle the reservation to the real size
	reserved = 0
	s.mu.Unlock()

	body, err := s.finishRecord(f, tmp, encodeHeader(op, w.n, w.crc.Sum32(), e.seq, now), open && op.Kind == KindPut)
	if body != nil {
		body.SectionReader = io.NewSectionReader(body.f, hdrLen, w.n)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if i := slices.Index(s.q, e); i >= 0 {
			s.q = slices.Delete(s.q, i, i+1)
		}
		s.bytes -= e.size
		s.broadcastLocked()
		return 0, nil, fmt.Errorf("spool: writing seq %d: %w", e.seq, err)
	}
	e.state = ready
	s.stats.Appended++
	s.broadcastLocked()
	return e.seq, body, nil
}

// reserve checks the bounds that can be checked before the body is read
// and reserves n bytes of the spool for the append. On success the caller
// owns one s.appends count, which Close waits for.
func (s *Spool) reserve(op Op, n, declared int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case declared > s.cfg.MaxObjectBytes:
		s.stats.Rejected++
		return fmt.Errorf("%w: %s %q has %d bytes, max %d", ErrTooLarge, op.Kind, op.Key, declared, s.cfg.MaxObjectBytes)
	case s.bytes+n > s.cfg.MaxBytes:
		s.stats.Rejected++
		return fmt.Errorf("%w: %s %q needs %d bytes, %d of %d in use", ErrFull, op.Kind, op.Key, n, s.bytes, s.cfg.MaxBytes)
	}
	s.bytes += n
	s.appends.Add(1) // under mu with closed false, so Close waits for us
	return nil
}

func (s *Spool) countRejected() {
	s.mu.Lock()
	s.stats.Rejected++
	s.mu.Unlock()
}

// errWrite marks a failed write to the temp file, as opposed to a failed
// read of the body.
var errWrite = errors.New("spool: write")

// bodyWriter writes a streamed body into the temp file behind its header,
// computing the checksum as it goes. Bytes beyond the declared size (or all
// of them, for an unknown size) are reserved against Config.MaxBytes as
// they arrive, so uploads in progress cannot fill the disk past the bound.
type bodyWriter struct {
	s        *Spool
	f        *os.File
	off      int64
	crc      hash.Hash32
	reserved *int64
	declared int64
	n        int64
}

func (w *bodyWriter) Write(p []byte) (int, error) {
	if extra := w.n + int64(len(p)) - max(w.declared, 0); extra > 0 {
		if err := w.s.grow(min(extra, int64(len(p)))); err != nil {
			return 0, err
		}
		*w.reserved += min(extra, int64(len(p)))
	}
	n, err := w.f.WriteAt(p, w.off+w.n)
	w.crc.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("%w: %w", errWrite, err)
	}
	return n, nil
}

// grow reserves n more bytes for an append in progress.
func (s *Spool) grow(n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+n > s.cfg.MaxBytes {
		s.stats.Rejected++
		return fmt.Errorf("%w: %d of %d bytes in use", ErrFull, s.bytes, s.cfg.MaxBytes)
	}
	s.bytes += n
	return nil
}

// finishRecord writes the header at the start of the temp file, fsyncs it,
// renames it into place and fsyncs the directory. With open, it returns the
// file reopened for reading (before the op can be applied and removed). On
// error nothing is left behind.
func (s *Spool) finishRecord(f *os.File, tmp string, hdr []byte, open bool) (body *Body, err error) {
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed; the error is reported
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	seq := binary.BigEndian.Uint64(hdr[18:26])
	final := filepath.Join(s.dir, recordName(seq))
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	if err := syncDir(s.dir); err != nil {
		// The rename may or may not survive a crash. Undo it: an op the
		// streamer was told failed must not be replayed later.
		_ = os.Remove(final)
		return nil, err
	}
	if !open {
		return nil, nil
	}
	rf, err := os.Open(final)
	if err != nil {
		_ = os.Remove(final)
		return nil, err
	}
	return &Body{f: rf}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Spool) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Len returns the number of ops waiting, including appends in progress.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q)
}

// Oldest returns how long the oldest waiting op has waited (across restarts:
// the append time is in its file), or 0 when the spool is empty.
func (s *Spool) Oldest() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oldestLocked()
}

func (s *Spool) oldestLocked() time.Duration {
	if len(s.q) == 0 {
		return 0
	}
	return max(time.Since(s.q[0].appended), 0)
}

// Stats returns a snapshot of the queue and the counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Len = len(s.q)
	st.Bytes = s.bytes
	st.Oldest = s.oldestLocked()
	return st
}

// Flush waits until the spool is empty: every op appended so far has been
// applied. It needs a running Run to make progress, and does not return
// while Appends keep the queue busy.
func (s *Spool) Flush(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, closed, ch := len(s.q), s.closed, s.changed
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		if closed {
			return fmt.Errorf("%w with %d ops waiting", ErrClosed, n)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("spool: flush with %d ops waiting: %w", n, ctx.Err())
		}
	}
}

// Close refuses further Appends, cancels the context of a running Run and
// waits for it and for Appends in progress to return. Ops still waiting stay
// on disk for the next Open. Close is idempotent.
func (s *Spool) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closeCh)
		s.broadcastLocked()
	}
	s.mu.Unlock()
	s.appends.Wait()
	s.runs.Wait()
	return nil
}

// Wait returns once the op with sequence seq has left the queue (applied,
// or dropped as corrupt), or with ctx's error. Ops leave in order, so that
// is when the queue is empty or its head is a later op. Ingest uses it to
// tell a streamer "written through to the origin" from "spooled".
func (s *Spool) Wait(ctx context.Context, seq uint64) error {
	for {
		s.mu.Lock()
		done := len(s.q) == 0 || s.q[0].seq > seq
		closed, ch := s.closed, s.changed
		s.mu.Unlock()
		if done {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
