package spool

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/nodetest"
)

// A body that trickles in takes its place in the queue only once it is
// complete: the ops appended meanwhile are applied without waiting for it,
// and it counts against MaxBytes while it arrives.
func TestSlowBodyDoesNotHoldUpTheQueue(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBytes = 1 << 20
	s := openT(t, t.TempDir(), cfg)
	origin := &fakeOrigin{}
	startRun(t, s, origin.apply)

	pr, pw := io.Pipe()
	type result struct {
		seq uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		seq, err := s.Append(Op{Kind: KindPut, Key: "s/slow.ts", Body: pr, Size: -1})
		done <- result{seq, err}
	}()
	if _, err := pw.Write([]byte(strings.Repeat("x", 1000))); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 5*time.Second, "the slow body to be reserved", func() bool { return s.Stats().Bytes >= 1000 })
	fast := appendAll(t, s, []Op{Put("s/fast.ts", "", []byte("fast"))})
	flush(t, s) // the fast op is applied while the slow one is still arriving
	if applied, _ := origin.snapshot(); len(applied) != 1 || applied[0].Key != "s/fast.ts" {
		t.Fatalf("applied %v, want only the fast op", applied)
	}
	_ = pw.Close()
	r := <-done
	if r.err != nil || r.seq <= fast[0] {
		t.Fatalf("slow append: seq %d, %v; want a seq after %d", r.seq, r.err, fast[0])
	}
	flush(t, s)
	origin.mu.Lock()
	got := origin.objects["s/slow.ts"]
	origin.mu.Unlock()
	if len(got) != 1000 {
		t.Fatalf("origin has %d bytes of the slow body, want 1000", len(got))
	}
}

func TestStreamedBodyBounds(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.MaxObjectBytes = 100
	cfg.MaxBytes = 1000
	s := openT(t, dir, cfg)
	readErr := errors.New("client went away")
	for _, tc := range []struct {
		name string
		op   Op
		want error
	}{
		{"unknown size over the bound", Op{Kind: KindPut, Key: "s/a", Body: strings.NewReader(strings.Repeat("x", 101)), Size: -1}, ErrTooLarge},
		{"declared size over the bound", Op{Kind: KindPut, Key: "s/a", Body: strings.NewReader(""), Size: 101}, ErrTooLarge},
		{"short of the declared size", Op{Kind: KindPut, Key: "s/a", Body: strings.NewReader("abc"), Size: 4}, ErrInvalidOp},
		{"past the declared size", Op{Kind: KindPut, Key: "s/a", Body: strings.NewReader("abcde"), Size: 4}, ErrInvalidOp},
		{"a failing body", Op{Kind: KindPut, Key: "s/a", Body: io.MultiReader(strings.NewReader("ab"), iotest{readErr}), Size: -1}, readErr},
	} {
		if _, err := s.Append(tc.op); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if st := s.Stats(); st.Len != 0 || st.Bytes != 0 || len(opFiles(t, dir)) != 0 {
		t.Fatalf("refused appends left something behind: %+v, files %v", st, opFiles(t, dir))
	}
	// An unknown size within the bound is fine.
	appendAll(t, s, []Op{{Kind: KindPut, Key: "s/b", Body: strings.NewReader("hello"), Size: -1}})
}

type iotest struct{ err error }

func (r iotest) Read([]byte) (int, error) { return 0, r.err }

// AppendOpen's body stays readable after Run has applied the op and
// removed its file.
func TestAppendOpenOutlivesTheFile(t *testing.T) {
	s := openT(t, t.TempDir(), testConfig())
	_, body, err := s.AppendOpen(Put("s/seg.ts", "video/mp2t", []byte("segment")))
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	startRun(t, s, (&fakeOrigin{}).apply)
	flush(t, s)
	if files := opFiles(t, s.Dir()); len(files) != 0 {
		t.Fatalf("files %v after flush", files)
	}
	b, err := io.ReadAll(body)
	if err != nil || string(b) != "segment" {
		t.Fatalf("body %q, %v", b, err)
	}
	if _, body, err := s.AppendOpen(Delete("s/seg.ts")); err != nil || body != nil {
		t.Fatalf("AppendOpen(DELETE): body %v, %v; want none", body, err)
	}
}
