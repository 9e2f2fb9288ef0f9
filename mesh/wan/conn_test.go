package wan

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// slack bounds how late a delayed datagram may arrive. It is deliberately
// loose: CI machines under -race stall for hundreds of milliseconds.
const slack = 2 * time.Second

func listenUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	_ = c.SetReadBuffer(4 << 20) // best effort; loss only weakens, never breaks, the checks
	return c
}

// receiver is a plain UDP socket closed at the end of the test.
func receiver(t testing.TB) *net.UDPConn {
	t.Helper()
	c := listenUDP(t)
	t.Cleanup(func() { c.Close() })
	return c
}

// wrap returns a Conn over a fresh socket, closed at the end of the test.
func wrap(t testing.TB, region string, tb *Table, d DelayFunc, opts ...Option) *Conn {
	t.Helper()
	c := NewConn(listenUDP(t), region, tb, d, opts...)
	t.Cleanup(func() { c.Close() })
	return c
}

// between returns a DelayFunc with one fixed delay for every pair of distinct
// regions.
func between(d time.Duration) DelayFunc {
	return func(from, to string) time.Duration {
		if from == to {
			return 0
		}
		return d
	}
}

func tableWith(t testing.TB, addr net.Addr, region string) *Table {
	t.Helper()
	tb := NewTable()
	if err := tb.Set(addr.String(), region); err != nil {
		t.Fatal(err)
	}
	return tb
}

func seqPacket(i int) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

func TestDelayMatchesRegionPair(t *testing.T) {
	const oneWay = 80 * time.Millisecond
	rx := receiver(t)
	var gotFrom, gotTo string
	delay := func(from, to string) time.Duration {
		gotFrom, gotTo = from, to
		if from == "seoul" && to == "tokyo" {
			return oneWay
		}
		return time.Hour
	}
	tx := wrap(t, "seoul", tableWith(t, rx.LocalAddr(), "tokyo"), delay)

	const n = 3
	sent := make([]time.Time, n)
	for i := range n {
		sent[i] = time.Now()
		if _, err := tx.WriteTo(seqPacket(i), rx.LocalAddr()); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if gotFrom != "seoul" || gotTo != "tokyo" {
		t.Errorf("delay called with (%q, %q), want (seoul, tokyo)", gotFrom, gotTo)
	}
	buf := make([]byte, 1500)
	for i := range n {
		if err := rx.SetReadDeadline(time.Now().Add(oneWay + slack)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := rx.ReadFrom(buf); err != nil {
			t.Fatalf("packet %d did not arrive within %v: %v", i, oneWay+slack, err)
		}
		got := time.Since(sent[binary.BigEndian.Uint32(buf)])
		if got < oneWay {
			t.Errorf("packet %d arrived after %v, want >= %v", i, got, oneWay)
		}
		t.Logf("packet %d one-way %v (configured %v)", i, got, oneWay)
	}
	if d, im, dr := tx.Stats(); d != n || im != 0 || dr != 0 {
		t.Errorf("Stats = %d delayed, %d immediate, %d dropped; want %d, 0, 0", d, im, dr, n)
	}
}

func TestUnknownAndSameRegionAreNotDelayed(t *testing.T) {
	known, unknown := receiver(t), receiver(t)
	// Any delay at all would be an hour, so a delayed datagram cannot arrive
	// before the read deadline.
	// known is in the sender's own region, unknown is not in the table.
	tx := wrap(t, "seoul", tableWith(t, known.LocalAddr(), "seoul"), between(time.Hour))
	buf := make([]byte, 1500)
	for _, rx := range []*net.UDPConn{known, unknown} {
		if _, err := tx.WriteTo([]byte("hi"), rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if err := rx.SetReadDeadline(time.Now().Add(slack)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := rx.ReadFrom(buf); err != nil {
			t.Fatalf("undelayed packet to %v did not arrive: %v", rx.LocalAddr(), err)
		}
	}
	if d, im, _ := tx.Stats(); d != 0 || im != 2 {
		t.Errorf("Stats = %d delayed, %d immediate; want 0, 2", d, im)
	}
}

// recorder wraps a real socket and records the sequence number of every
// datagram in the order it is handed to the kernel, which is the order the
// Conn promises; loopback UDP could in principle still lose some.
type recorder struct {
	net.PacketConn
	mu   sync.Mutex
	seqs map[string][]uint32 // per destination
}

func (r *recorder) WriteTo(p []byte, addr net.Addr) (int, error) {
	r.mu.Lock()
	if r.seqs == nil {
		r.seqs = make(map[string][]uint32)
	}
	r.seqs[addr.String()] = append(r.seqs[addr.String()], binary.BigEndian.Uint32(p))
	r.mu.Unlock()
	return r.PacketConn.WriteTo(p, addr)
}

func (r *recorder) sent(addr net.Addr) []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint32(nil), r.seqs[addr.String()]...)
}

// readSeqs reads until n datagrams arrived or the deadline passed, and
// returns their sequence numbers in arrival order.
func readSeqs(t *testing.T, rx *net.UDPConn, n int, deadline time.Time) []uint32 {
	t.Helper()
	if err := rx.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	var got []uint32
	buf := make([]byte, 1500)
	for len(got) < n {
		if _, _, err := rx.ReadFrom(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			t.Fatal(err)
		}
		got = append(got, binary.BigEndian.Uint32(buf))
	}
	return got
}

func TestFIFOPerDestination(t *testing.T) {
	const n = 1000
	rx := receiver(t)
	tb := tableWith(t, rx.LocalAddr(), "tokyo")
	rec := &recorder{PacketConn: listenUDP(t)}
	tx := NewConn(rec, "seoul", tb, between(30*time.Millisecond))
	t.Cleanup(func() { tx.Close() })

	// Halfway through, the peer leaves the table: later datagrams would go
	// out at once, yet must not overtake the ones still queued.
	for i := range n {
		if i == n/2 {
			tb.Delete(rx.LocalAddr().String())
		}
		if _, err := tx.WriteTo(seqPacket(i), rx.LocalAddr()); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	got := readSeqs(t, rx, n, time.Now().Add(slack+time.Second))

	sent := rec.sent(rx.LocalAddr())
	if len(sent) != n {
		t.Fatalf("%d datagrams reached the socket, want %d", len(sent), n)
	}
	for i, s := range sent {
		if s != uint32(i) {
			t.Fatalf("datagram %d handed to the socket out of order: got seq %d", i, s)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("received seq %d after %d", got[i], got[i-1])
		}
	}
	if len(got) != n {
		t.Errorf("received %d of %d datagrams (loopback loss?)", len(got), n)
	}
	// Once the earlier datagrams have left, later ones to the now unknown
	// peer may go out at once; how many depends on the machine's speed.
	if d, im, dr := tx.Stats(); d < n/2 || d+im != n || dr != 0 {
		t.Errorf("Stats = %d delayed, %d immediate, %d dropped; want >= %d delayed, %d total, 0 dropped", d, im, dr, n/2, n)
	}
}

func TestConcurrentWritersKeepPerWriterOrder(t *testing.T) {
	const writers, perWriter = 4, 250
	rxA, rxB := receiver(t), receiver(t)
	tb := tableWith(t, rxA.LocalAddr(), "tokyo")
	rec := &recorder{PacketConn: listenUDP(t)}
	tx := NewConn(rec, "seoul", tb, between(5*time.Millisecond))
	t.Cleanup(func() { tx.Close() })

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				dst := rxA.LocalAddr()
				if i%2 == 1 {
					dst = rxB.LocalAddr()
				}
				if _, err := tx.WriteTo(seqPacket(w<<16|i), dst); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Go(func() { // churn the table while writers run
		for i := range 200 {
			if i%2 == 0 {
				_ = tb.Set(rxB.LocalAddr().String(), "virginia")
			} else {
				tb.Delete(rxB.LocalAddr().String())
			}
		}
	})
	wg.Wait()

	deadline := time.Now().Add(slack)
	for _, rx := range []*net.UDPConn{rxA, rxB} {
		want := writers * perWriter / 2
		for len(rec.sent(rx.LocalAddr())) < want && time.Now().Before(deadline) {
			readSeqs(t, rx, want, time.Now().Add(10*time.Millisecond))
		}
		last := map[uint32]int{}
		sent := rec.sent(rx.LocalAddr())
		if len(sent) != want {
			t.Fatalf("%d datagrams to %v sent, want %d", len(sent), rx.LocalAddr(), want)
		}
		for _, s := range sent {
			w, i := s>>16, int(s&0xffff)
			if prev, ok := last[w]; ok && i <= prev {
				t.Fatalf("writer %d: datagram %d sent after %d", w, i, prev)
			}
			last[w] = i
		}
	}
}

func TestCloseWithPendingPackets(t *testing.T) {
	rx := receiver(t)
	tx := NewConn(listenUDP(t), "seoul", tableWith(t, rx.LocalAddr(), "tokyo"), between(time.Hour))
	for i := range 100 {
		if _, err := tx.WriteTo(seqPacket(i), rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := tx.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took > slack {
		t.Errorf("Close with 100 pending datagrams took %v", took)
	}
	if err := tx.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := tx.WriteTo([]byte("late"), rx.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteTo after Close = %v, want net.ErrClosed", err)
	}
	if _, err := tx.WriteTo([]byte("late"), receiver(t).LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("undelayed WriteTo after Close = %v, want net.ErrClosed", err)
	}
	if _, _, dr := tx.Stats(); dr != 0 {
		t.Errorf("discarding on Close counted %d drops, want 0", dr)
	}
	// goleak in TestMain proves the scheduler goroutine is gone.
}

func TestConcurrentClose(t *testing.T) {
	tx := NewConn(listenUDP(t), "seoul", nil, nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { _ = tx.Close() })
	}
	wg.Wait()
}

func TestQueueBoundDropsAndCounts(t *testing.T) {
	rx := receiver(t)
	tb := tableWith(t, rx.LocalAddr(), "tokyo")

	t.Run("packets", func(t *testing.T) {
		tx := wrap(t, "seoul", tb, between(time.Hour), WithQueueLimit(10, 0))
		for i := range 15 {
			n, err := tx.WriteTo(seqPacket(i), rx.LocalAddr())
			if err != nil || n != 64 {
				t.Fatalf("write %d = %d, %v; a full queue must drop silently", i, n, err)
			}
		}
		if d, _, dr := tx.Stats(); d != 10 || dr != 5 {
			t.Errorf("Stats = %d delayed, %d dropped; want 10, 5", d, dr)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		tx := wrap(t, "seoul", tb, between(time.Hour), WithQueueLimit(0, 1000))
		for range 12 {
			if _, err := tx.WriteTo(make([]byte, 100), rx.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		if d, _, dr := tx.Stats(); d != 10 || dr != 2 {
			t.Errorf("Stats = %d delayed, %d dropped; want 10, 2", d, dr)
		}
	})
}

func TestQueueDrainsAndAcceptsAgain(t *testing.T) {
	rx := receiver(t)
	tx := wrap(t, "seoul", tableWith(t, rx.LocalAddr(), "tokyo"), between(time.Millisecond), WithQueueLimit(5, 0))
	for round := range 3 {
		for i := range 5 {
			if _, err := tx.WriteTo(seqPacket(i), rx.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		if got := readSeqs(t, rx, 5, time.Now().Add(slack)); len(got) != 5 {
			t.Fatalf("round %d: received %d of 5", round, len(got))
		}
	}
	if _, _, dr := tx.Stats(); dr != 0 {
		t.Errorf("dropped %d, want 0 once the queue drained", dr)
	}
}

// plainConn hides everything but net.PacketConn.
type plainConn struct{ net.PacketConn }

func TestBufferPassThrough(t *testing.T) {
	tx := wrap(t, "seoul", nil, nil)
	if err := tx.SetReadBuffer(1 << 20); err != nil {
		t.Errorf("SetReadBuffer: %v", err)
	}
	if err := tx.SetWriteBuffer(1 << 20); err != nil {
		t.Errorf("SetWriteBuffer: %v", err)
	}
	plain := NewConn(plainConn{listenUDP(t)}, "seoul", nil, nil)
	defer plain.Close()
	if err := plain.SetReadBuffer(1 << 20); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetReadBuffer on plain conn = %v, want ErrUnsupported", err)
	}
	if err := plain.SetWriteBuffer(1 << 20); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetWriteBuffer on plain conn = %v, want ErrUnsupported", err)
	}
	if tx.LocalAddr().String() != tx.pc.LocalAddr().String() {
		t.Errorf("LocalAddr = %v, want %v", tx.LocalAddr(), tx.pc.LocalAddr())
	}
}

func TestReadFromPassesThrough(t *testing.T) {
	rx := wrap(t, "tokyo", nil, nil)
	tx := receiver(t)
	if _, err := tx.WriteTo([]byte("ping"), rx.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if err := rx.SetReadDeadline(time.Now().Add(slack)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, from, err := rx.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" || from.String() != tx.LocalAddr().String() {
		t.Fatalf("ReadFrom = %q from %v, %v", buf[:n], from, err)
	}
}
