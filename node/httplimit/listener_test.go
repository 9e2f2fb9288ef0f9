package httplimit

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientKeyGroupsIPv6By64(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7:4000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:4000", "192.0.2.7"}, // a v4 client on a dual-stack socket
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::"},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", "2001:db8:1:2::"},
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::"},
	} {
		ap := netip.MustParseAddrPort(tc.addr)
		if got := clientKey(net.TCPAddrFromAddrPort(ap)); got != netip.MustParseAddr(tc.want) {
			t.Errorf("clientKey(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func TestDefaultPerNodeLeavesAReserve(t *testing.T) {
	for _, tc := range []struct{ limit, reserve uint64 }{
		{1024, 256}, {20000, 4096}, {4000, 1000}, {1 << 20, 4096},
	} {
		if got := Reserve(tc.limit); got != tc.reserve {
			t.Errorf("Reserve(%d) = %d, want %d", tc.limit, got, tc.reserve)
		}
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	got := DefaultPerNode()
	if want := int(rl.Cur - Reserve(rl.Cur)); rl.Cur < 1<<30 && got != max(want, 64) {
		t.Fatalf("DefaultPerNode() = %d with RLIMIT_NOFILE %d, want %d", got, rl.Cur, want)
	}
}

func TestSetLimitsRefusesNonsense(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewListener(ln, Limits{PerIP: 1, PerNode: 1, RetryAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, bad := range []Limits{{PerIP: -1, PerNode: 1, RetryAfter: time.Second}, {PerNode: 0, RetryAfter: time.Second}, {PerNode: 1}} {
		if err := l.SetLimits(bad); err == nil {
			t.Errorf("SetLimits(%+v) accepted", bad)
		}
	}
	if l.Limits().PerIP != 1 {
		t.Fatalf("a refused SetLimits changed the limits: %+v", l.Limits())
	}
}

// An accepted connection still offers what the layers above ask of a
// *net.TCPConn: its file descriptor (the chat's non-blocking writes), its
// send buffer, a half close (net/http's lingering close).
func TestAcceptedConnPassesThroughTCPFeatures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewListener(ln, Limits{PerNode: 4, RetryAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if sc, ok := c.(syscall.Conn); !ok {
		t.Fatal("no syscall.Conn")
	} else if _, err := sc.SyscallConn(); err != nil {
		t.Fatal(err)
	}
	if wb, ok := c.(interface{ SetWriteBuffer(int) error }); !ok || wb.SetWriteBuffer(64<<10) != nil {
		t.Fatal("no SetWriteBuffer")
	}
	if cw, ok := c.(interface{ CloseWrite() error }); !ok || cw.CloseWrite() != nil {
		t.Fatal("no CloseWrite")
	}
	if st := l.Stats(); st.Open != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
	_ = c.Close()
	_ = c.Close() // idempotent: the slot is given back once
	if st := l.Stats(); st.Open != 0 {
		t.Fatalf("stats after close %+v", st)
	}
}

// A flood over the cap is refused, never handed to the server, and the
// refusals end with the listener.
func TestFloodIsRefusedAndBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewListener(ln, Limits{PerNode: 1, RetryAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 10)
	done := make(chan struct{})
	go func() { // ends when l is closed
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	keep, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	held := <-accepted
	defer held.Close()

	const flood = 200
	for range flood {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	nodetest.WaitFor(t, 10*time.Second, "every flood connection refused", func() bool {
		return l.Stats().RefusedPerNode == flood
	})
	if st := l.Stats(); st.Open != 1 || st.Accepted != 1 || len(accepted) != 0 {
		t.Fatalf("stats %+v, %d handed over; want only the first", st, len(accepted))
	}
	start := time.Now()
	_ = l.Close()
	<-done
	if d := time.Since(start); d > refuseLinger+3*time.Second {
		t.Fatalf("Close took %v with refusals in flight, want at most about %v", d, refuseLinger)
	}
}
