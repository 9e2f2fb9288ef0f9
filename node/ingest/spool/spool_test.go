package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/nodetest"
)

func testConfig() Config {
	return Config{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond}
}

func openT(t *testing.T, dir string, cfg Config) *Spool {
	t.Helper()
	s, err := Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fakeOrigin is the apply func: an object store that fails while down, or
// for its next failNext calls, or once it has taken its budget of ops, and
// records every op it accepts.
type fakeOrigin struct {
	mu       sync.Mutex
	down     bool
	failNext int
	budget   int // if > 0, ops it takes before it goes down again
	calls    int
	applied  []Op
	objects  map[string]string
}

func (o *fakeOrigin) apply(ctx context.Context, op Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.down {
		return errors.New("origin down")
	}
	if o.failNext > 0 {
		o.failNext--
		return errors.New("origin hiccup")
	}
	if o.budget > 0 {
		o.budget--
		if o.budget == 0 {
			o.down = true
		}
	}
	if o.objects == nil {
		o.objects = map[string]string{}
	}
	switch op.Kind {
	case KindPut:
		b, err := io.ReadAll(op.Body)
		if err != nil {
			return err
		}
		if int64(len(b)) != op.Size {
			return fmt.Errorf("body of %d bytes, size says %d", len(b), op.Size)
		}
		o.objects[op.Key] = string(b)
		op.Body = bytes.NewReader(b) // the file is closed after apply
	case KindDelete:
		delete(o.objects, op.Key)
	}
	o.applied = append(o.applied, op)
	return nil
}

func (o *fakeOrigin) setDown(down bool) {
	o.mu.Lock()
	o.down = down
	o.mu.Unlock()
}

// upFor brings the origin back for the next n ops, after which it is down
// again: a recovery that is cut short, at a point the test chooses.
func (o *fakeOrigin) upFor(n int) {
	o.mu.Lock()
	o.down, o.budget = false, n
	o.mu.Unlock()
}

func (o *fakeOrigin) snapshot() ([]Op, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.applied), o.calls
}

// startRun runs s.Run in a goroutine; the returned func stops it and
// returns Run's error.
func startRun(t *testing.T, s *Spool, apply ApplyFunc) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, apply) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func flush(t *testing.T, s *Spool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// hlsOps is what ffmpeg's HLS muxer sends for n segments with a playlist of
// the last 3: the segment, the playlist listing it, the delete of the one
// that left the window.
func hlsOps(stream string, from, n int) []Op {
	var ops []Op
	for i := from; i < from+n; i++ {
		ops = append(ops, Put(fmt.Sprintf("%s/seg%d.ts", stream, i), "video/mp2t", []byte(fmt.Sprintf("segment %d", i))))
		var pl strings.Builder
		for j := max(0, i-2); j <= i; j++ {
			fmt.Fprintf(&pl, "seg%d.ts\n", j)
		}
		ops = append(ops, Put(stream+"/index.m3u8", "application/vnd.apple.mpegurl", []byte(pl.String())))
		if i >= 3 {
			ops = append(ops, Delete(fmt.Sprintf("%s/seg%d.ts", stream, i-3)))
		}
	}
	return ops
}

func appendAll(t *testing.T, s *Spool, ops []Op) []uint64 {
	t.Helper()
	var seqs []uint64
	for _, op := range ops {
		seq, err := s.Append(op)
		if err != nil {
			t.Fatalf("Append(%v): %v", op, err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// sameOps checks that got is want, in order, each exactly once.
func sameOps(t *testing.T, got, want []Op) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("origin got %d ops, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Kind != want[i].Kind || got[i].Key != want[i].Key ||
			got[i].ContentType != want[i].ContentType || bodyString(got[i]) != bodyString(want[i]) {
			t.Fatalf("op %d: origin got %v, want %v", i, got[i], want[i])
		}
		if i > 0 && got[i].Seq <= got[i-1].Seq {
			t.Fatalf("op %d: seq %d after %d", i, got[i].Seq, got[i-1].Seq)
		}
	}
}

// finalState is what an origin holds after applying ops in order.
func finalState(ops []Op) map[string]string {
	m := map[string]string{}
	for _, op := range ops {
		if op.Kind == KindPut {
			m[op.Key] = bodyString(op)
		} else {
			delete(m, op.Key)
		}
	}
	return m
}

// bodyString reads op's body from the start; test bodies are seekable.
func bodyString(op Op) string {
	if op.Body == nil {
		return ""
	}
	r := op.Body.(io.ReadSeeker)
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		panic(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func opFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestOutageThenRecovery(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testConfig())
	origin := &fakeOrigin{down: true}
	stop := startRun(t, s, origin.apply)

	ops := hlsOps("live", 0, 10)
	seqs := appendAll(t, s, ops)
	for i, seq := range seqs {
		if seq != uint64(i+1) {
			t.Fatalf("seqs %v, want 1..%d", seqs, len(ops))
		}
	}
	if got := len(opFiles(t, dir)); got != len(ops) {
		t.Fatalf("%d files on disk after %d acknowledged appends", got, len(ops))
	}
	nodetest.WaitFor(t, 10*time.Second, "retries", func() bool { return s.Stats().Retries >= 3 })
	if st := s.Stats(); st.Len != len(ops) || st.Applied != 0 || st.Oldest <= 0 {
		t.Fatalf("during outage: %+v", st)
	}

	origin.setDown(false)
	flush(t, s)
	applied, _ := origin.snapshot()
	sameOps(t, applied, ops)
	if !mapsEqual(origin.objects, finalState(ops)) {
		t.Fatalf("origin holds %v, want %v", origin.objects, finalState(ops))
	}
	st := s.Stats()
	if st.Len != 0 || st.Bytes != 0 || st.Oldest != 0 || st.Appended != uint64(len(ops)) || st.Applied != uint64(len(ops)) {
		t.Fatalf("after flush: %+v", st)
	}
	if names := opFiles(t, dir); len(names) != 0 {
		t.Fatalf("files left after flush: %v", names)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRetryNeverSkips(t *testing.T) {
	s := openT(t, t.TempDir(), testConfig())
	origin := &fakeOrigin{failNext: 7}
	ops := hlsOps("s", 0, 3)
	appendAll(t, s, ops)
	startRun(t, s, origin.apply)
	flush(t, s)
	applied, calls := origin.snapshot()
	sameOps(t, applied, ops)
	if st := s.Stats(); st.Retries != 7 || calls != len(ops)+7 {
		t.Fatalf("retries %d, calls %d; want 7, %d", st.Retries, calls, len(ops)+7)
	}
}

// TestRestartMidStream is acceptance 4 at the spool's level: the ingest node
// restarts while the origin is down and again while it is catching up.
func TestRestartMidStream(t *testing.T) {
	dir := t.TempDir()
	origin := &fakeOrigin{down: true}
	all := hlsOps("live", 0, 12)
	first, second, third := all[:10], all[10:25], all[25:]

	s := openT(t, dir, testConfig())
	stop := startRun(t, s, origin.apply)
	appendAll(t, s, first)
	nodetest.WaitFor(t, 10*time.Second, "a retry", func() bool { return s.Stats().Retries > 0 })
	oldest := s.Oldest()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close returned %v, want ErrClosed", err)
	}

	// Restart while the origin is still down.
	s = openT(t, dir, testConfig())
	if s.Len() != len(first) {
		t.Fatalf("reopened with %d ops, want %d", s.Len(), len(first))
	}
	if s.Oldest() < oldest {
		t.Fatalf("oldest %v after reopen, was %v before", s.Oldest(), oldest)
	}
	seqs := appendAll(t, s, second)
	if seqs[0] != uint64(len(first)+1) {
		t.Fatalf("first seq after reopen %d, want %d", seqs[0], len(first)+1)
	}
	// The origin comes back, takes some ops, fails again, and the node
	// restarts in the middle of catching up. (The origin's budget, not a
	// timer, decides how far it gets: a fast machine drains the whole queue
	// in a few milliseconds.)
	const taken = 7
	origin.upFor(taken)
	stop = startRun(t, s, origin.apply)
	nodetest.WaitFor(t, 10*time.Second, "some ops applied, then a retry", func() bool {
		st := s.Stats()
		return st.Applied == taken && st.Retries > 0
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = stop()

	origin.setDown(false)
	s = openT(t, dir, testConfig())
	if want := len(first) + len(second) - taken; s.Len() != want {
		t.Fatalf("reopened with %d ops, want %d", s.Len(), want)
	}
	startRun(t, s, origin.apply)
	seqs = appendAll(t, s, third)
	if want := uint64(len(first) + len(second) + 1); seqs[0] != want {
		t.Fatalf("first seq after the second reopen %d, want %d", seqs[0], want)
	}
	flush(t, s)
	applied, _ := origin.snapshot()
	sameOps(t, applied, all)
	if !mapsEqual(origin.objects, finalState(all)) {
		t.Fatalf("origin holds %v, want %v", origin.objects, finalState(all))
	}
}

// TestNumberingAcrossRestarts pins the contract of sequence numbers: they
// order the ops that are on disk, so a reopened spool continues after the
// highest one it finds, and a drained spool, which holds nothing to order
// against, starts again at 1.
func TestNumberingAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testConfig())
	appendAll(t, s, hlsOps("s", 0, 2)) // seqs 1-4
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, testConfig())
	if seq := appendAll(t, s, hlsOps("s", 2, 1))[0]; seq != 5 {
		t.Fatalf("first seq after reopening 4 ops: %d, want 5", seq)
	}
	startRun(t, s, (&fakeOrigin{}).apply)
	flush(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, testConfig())
	if seq := appendAll(t, s, hlsOps("s", 3, 1))[0]; seq != 1 {
		t.Fatalf("first seq after reopening a drained spool: %d, want 1", seq)
	}
}

func corruptFile(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDropsDebris(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testConfig())
	ops := hlsOps("s", 0, 2) // 4 ops
	ops = append(ops, Put("s/extra.ts", "video/mp2t", []byte("extra")))
	appendAll(t, s, ops)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// What crashes and bad disks leave behind.
	corruptFile(t, filepath.Join(dir, recordName(2)), func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b })
	corruptFile(t, filepath.Join(dir, recordName(4)), func(b []byte) []byte { return b[:len(b)/2] })
	for _, name := range []string{recordName(6) + "-123.tmp", "x.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir, testConfig())
	st := s.Stats()
	if st.Len != 3 || st.Corrupt != 2 || st.TempRemoved != 2 {
		t.Fatalf("after Open: %+v, want Len 3, Corrupt 2, TempRemoved 2", st)
	}
	if seq, err := s.Append(Delete("s/extra.ts")); err != nil || seq != 6 {
		t.Fatalf("Append after reopen: seq %d, %v; want 6", seq, err)
	}
	origin := &fakeOrigin{}
	startRun(t, s, origin.apply)
	flush(t, s)
	applied, _ := origin.snapshot()
	sameOps(t, applied, []Op{ops[0], ops[2], ops[4], Delete("s/extra.ts")})
	if names := opFiles(t, dir); !slices.Equal(names, []string{"README"}) {
		t.Fatalf("files left: %v, want only README", names)
	}
}

func TestRunDropsFileCorruptedAfterOpen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testConfig())
	ops := []Op{Put("s/a", "", []byte("a")), Put("s/b", "", []byte("b")), Put("s/c", "", []byte("c")), Put("s/d", "", []byte("d"))}
	appendAll(t, s, ops)
	corruptFile(t, filepath.Join(dir, recordName(2)), func(b []byte) []byte { b[10] ^= 1; return b })
	if err := os.Remove(filepath.Join(dir, recordName(3))); err != nil {
		t.Fatal(err)
	}
	origin := &fakeOrigin{}
	startRun(t, s, origin.apply)
	flush(t, s)
	applied, _ := origin.snapshot()
	sameOps(t, applied, []Op{ops[0], ops[3]})
	if st := s.Stats(); st.Corrupt != 2 || st.Applied != 2 {
		t.Fatalf("stats %+v, want Corrupt 2, Applied 2", st)
	}
}

func TestBounds(t *testing.T) {
	dir := t.TempDir()
	seg := func() Op { return Put("s/seg.ts", "video/mp2t", make([]byte, 100)) }
	op := seg()
	cfg := testConfig()
	cfg.MaxObjectBytes = 100
	cfg.MaxBytes = 3 * (headerLen(op) + op.Size)
	s := openT(t, dir, cfg)

	if _, err := s.Append(Put("s/big.ts", "video/mp2t", make([]byte, 101))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized body: %v, want ErrTooLarge", err)
	}
	appendAll(t, s, []Op{seg(), seg(), seg()})
	if _, err := s.Append(seg()); !errors.Is(err, ErrFull) {
		t.Fatalf("append past MaxBytes: %v, want ErrFull", err)
	}
	if _, err := s.Append(Delete("s/x")); !errors.Is(err, ErrFull) {
		t.Fatalf("even a small op past MaxBytes: %v, want ErrFull", err)
	}
	st := s.Stats()
	if st.Len != 3 || st.Bytes != cfg.MaxBytes || st.Rejected != 3 || len(opFiles(t, dir)) != 3 {
		t.Fatalf("refused appends changed something: %+v, files %v", st, opFiles(t, dir))
	}
	// Draining makes room again.
	startRun(t, s, (&fakeOrigin{}).apply)
	flush(t, s)
	if _, err := s.Append(seg()); err != nil {
		t.Fatalf("append after drain: %v", err)
	}
}

func TestInvalidOps(t *testing.T) {
	s := openT(t, t.TempDir(), testConfig())
	for _, op := range []Op{
		{},
		Put("", "", []byte("x")),
		Put(strings.Repeat("k", MaxKeyLen+1), "", nil),
		Put("k", strings.Repeat("c", MaxContentTypeLen+1), nil),
		{Kind: KindDelete, Key: "k", Body: strings.NewReader("x"), Size: 1},
		{Kind: KindPut, Key: "k", Size: -2},
		{Kind: 9, Key: "k"},
	} {
		if _, err := s.Append(op); !errors.Is(err, ErrInvalidOp) {
			t.Errorf("Append(%+v): %v, want ErrInvalidOp", op, err)
		}
	}
	if s.Len() != 0 || len(opFiles(t, s.Dir())) != 0 {
		t.Fatal("invalid ops left something behind")
	}
}

func TestConcurrentAppendsTotalOrder(t *testing.T) {
	s := openT(t, t.TempDir(), testConfig())
	origin := &fakeOrigin{failNext: 5}
	startRun(t, s, origin.apply)

	const writers, each = 6, 25
	seqs := make([][]uint64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				seq, err := s.Append(Put(fmt.Sprintf("w%d/%d", w, i), "", []byte(fmt.Sprint(w, i))))
				if err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], seq)
			}
		})
	}
	wg.Wait()
	flush(t, s)

	applied, _ := origin.snapshot()
	if len(applied) != writers*each {
		t.Fatalf("applied %d ops, want %d", len(applied), writers*each)
	}
	keyBySeq := map[uint64]string{}
	for i, op := range applied {
		if i > 0 && op.Seq <= applied[i-1].Seq {
			t.Fatalf("applied seq %d after %d", op.Seq, applied[i-1].Seq)
		}
		keyBySeq[op.Seq] = op.Key
	}
	for w := range writers {
		for i, seq := range seqs[w] {
			if want := fmt.Sprintf("w%d/%d", w, i); keyBySeq[seq] != want {
				t.Fatalf("seq %d applied as %q, want %q", seq, keyBySeq[seq], want)
			}
			if i > 0 && seq <= seqs[w][i-1] {
				t.Fatalf("writer %d: seq %d after %d", w, seq, seqs[w][i-1])
			}
		}
	}
}

func TestCloseStopsBlockedApply(t *testing.T) {
	s := openT(t, t.TempDir(), testConfig())
	appendAll(t, s, []Op{Put("s/a", "", nil)})
	entered := make(chan struct{})
	stop := startRun(t, s, func(ctx context.Context, op Op) error {
		close(entered)
		<-ctx.Done() // an origin that hangs
		return ctx.Err()
	})
	<-entered
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run returned %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append(Delete("s/a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := s.Run(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := s.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close with an op waiting: %v", err)
	}
	// The op was not applied, so it is still there for the next Open.
	s2 := openT(t, s.Dir(), testConfig())
	if s2.Len() != 1 {
		t.Fatalf("reopened with %d ops, want 1", s2.Len())
	}
}

func TestOneRunAtATime(t *testing.T) {
	s := openT(t, t.TempDir(), testConfig())
	startRun(t, s, (&fakeOrigin{}).apply)
	nodetest.WaitFor(t, 10*time.Second, "Run to start", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.running
	})
	if err := s.Run(context.Background(), nil); !errors.Is(err, errRunning) {
		t.Fatalf("second Run: %v, want errRunning", err)
	}
}

func TestFlushHonoursContext(t *testing.T) {
	s := openT(t, t.TempDir(), testConfig())
	appendAll(t, s, []Op{Delete("s/a")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush without Run: %v, want DeadlineExceeded", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{MaxBytes: -1},
		{MaxObjectBytes: -1},
		{RetryMin: -time.Second},
		{RetryMin: time.Second, RetryMax: time.Millisecond},
	} {
		if _, err := Open(t.TempDir(), cfg); err == nil {
			t.Errorf("Open with %+v succeeded", cfg)
		}
	}
}

func TestFailedAppendReleasesItsSlot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s := openT(t, dir, testConfig())
	if err := os.RemoveAll(dir); err != nil { // the disk goes away
		t.Fatal(err)
	}
	if _, err := s.Append(Put("s/a", "", []byte("a"))); err == nil {
		t.Fatal("Append into a missing directory succeeded")
	}
	if st := s.Stats(); st.Len != 0 || st.Bytes != 0 || st.Appended != 0 {
		t.Fatalf("failed append left %+v", st)
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	origin := &fakeOrigin{}
	startRun(t, s, origin.apply)
	appendAll(t, s, []Op{Put("s/b", "", []byte("b"))})
	flush(t, s)
	applied, _ := origin.snapshot()
	sameOps(t, applied, []Op{Put("s/b", "", []byte("b"))})
}

func TestWaitForOneOp(t *testing.T) {
	s, err := Open(t.TempDir(), Config{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	down := make(chan struct{})
	seq1, _ := s.Append(Put("live/a.ts", "video/mp2t", []byte("a")))
	seq2, _ := s.Append(Put("live/b.ts", "video/mp2t", []byte("b")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = s.Run(ctx, func(ctx context.Context, op Op) error {
			if op.Seq == seq2 {
				select {
				case <-down:
				default:
					return errors.New("origin down")
				}
			}
			return nil
		})
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := s.Wait(wctx, seq1); err != nil {
		t.Fatalf("first op: %v", err)
	}
	short, scancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer scancel()
	if err := s.Wait(short, seq2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second op while the origin is down: %v, want a timeout", err)
	}
	close(down)
	if err := s.Wait(wctx, seq2); err != nil {
		t.Fatalf("second op after recovery: %v", err)
	}
}
