// Package httplimit bounds what clients can hold of a node's HTTP server:
// connections per client IP and per node (Listener), the rate at which a
// long upload must arrive (MinRate), and the headers every response
// carries (Nosniff).
//
// The connection caps are a net.Listener wrapper rather than an
// http.Server ConnState hook. ConnState sees a connection only once Accept
// has handed it to the server, which then spends a goroutine on it and
// waits up to ReadHeaderTimeout for a request; the per-node cap exists to
// keep file descriptors below the process's limit, so the excess has to be
// closed at accept, before the server reads a byte. The wrapper also counts
// hijacked connections (chat WebSockets) until whoever hijacked them closes
// them, which ConnState stops tracking at the hijack.
package httplimit

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Limits are the caps a Listener enforces; SetLimits changes them while it
// runs (a config reload). Lowering a cap refuses new connections only; open
// ones are not cut.
type Limits struct {
	// PerIP caps the open connections of one client IP; IPv6 clients are
	// grouped by /64, the block one subscriber usually gets. 0: no cap.
	PerIP int
	// PerNode caps all open connections. Must be positive.
	PerNode int
	// RetryAfter is what a refusal's Retry-After header says (whole
	// seconds, at least 1).
	RetryAfter time.Duration
}

// Refusals are answered by at most this many goroutines at once, each for
// at most refuseLinger; past that a refused connection is closed without an
// answer, so a flood costs bounded descriptors and goroutines.
const (
	maxRefusers  = 64
	refuseLinger = time.Second
)

// Stats are a Listener's counters since it was created.
type Stats struct {
	Open           int    // connections open now (hijacked ones included)
	Accepted       uint64 // connections handed to the server
	RefusedPerIP   uint64 // refused: the client IP (or /64) was at its cap
	RefusedPerNode uint64 // refused: the node was at its cap
	ReadTimeouts   uint64 // connections cut by a read deadline while a request was being read
	IdleTimeouts   uint64 // keep-alive connections cut for idling
}

// Listener caps the connections it accepts. Excess connections are
// answered with a minimal HTTP/1.1 503 with Retry-After and closed, never
// handed to the server. Pass ConnState to the http.Server too, so that
// deadline cuts are counted by the state they hit.
type Listener struct {
	net.Listener
	limits atomic.Pointer[Limits]

	mu    sync.Mutex
	perIP map[netip.Addr]int
	open  int

	refusers sync.WaitGroup
	sem      chan struct{}

	accepted, refusedIP, refusedNode, readTimeouts, idleTimeouts atomic.Uint64
}

// NewListener wraps ln with the caps of lim.
func NewListener(ln net.Listener, lim Limits) (*Listener, error) {
	l := &Listener{Listener: ln, perIP: map[netip.Addr]int{}, sem: make(chan struct{}, maxRefusers)}
	if err := l.SetLimits(lim); err != nil {
		return nil, err
	}
	return l, nil
}

// SetLimits replaces the caps.
func (l *Listener) SetLimits(lim Limits) error {
	if lim.PerIP < 0 || lim.PerNode < 1 || lim.RetryAfter < time.Second {
		return fmt.Errorf("httplimit: invalid limits %+v: per IP >= 0, per node >= 1, retry after >= 1s", lim)
	}
	l.limits.Store(&lim)
	return nil
}

// Limits returns the caps in force.
func (l *Listener) Limits() Limits { return *l.limits.Load() }

// Accept returns the next connection within the caps, answering and
// closing the ones over them.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		lim := l.limits.Load()
		l.mu.Lock()
		switch {
		case l.open >= lim.PerNode:
			l.mu.Unlock()
			l.refusedNode.Add(1)
			l.refuse(c, lim.RetryAfter, "this node is at its connection limit")
			continue
		case lim.PerIP > 0 && l.perIP[key] >= lim.PerIP:
			l.mu.Unlock()
			l.refusedIP.Add(1)
			l.refuse(c, lim.RetryAfter, "too many connections from your address")
			continue
		}
		l.open++
		l.perIP[key]++
		l.mu.Unlock()
		l.accepted.Add(1)
		return &conn{Conn: c, l: l, key: key}, nil
	}
}

// Close closes the listener and waits for refusals in progress.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.refusers.Wait()
	return err
}

// Stats returns the counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	open := l.open
	l.mu.Unlock()
	return Stats{Open: open, Accepted: l.accepted.Load(), RefusedPerIP: l.refusedIP.Load(),
		RefusedPerNode: l.refusedNode.Load(), ReadTimeouts: l.readTimeouts.Load(), IdleTimeouts: l.idleTimeouts.Load()}
}

// ConnState is the http.Server ConnState hook that tells the listener's
// connections what they are doing, so a deadline that cuts one is counted
// as a read timeout or an idle timeout.
func (l *Listener) ConnState(c net.Conn, s http.ConnState) {
	if cc, ok := c.(*conn); ok {
		cc.state.Store(int32(s))
	}
}

func (l *Listener) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.perIP[key]--; l.perIP[key] <= 0 {
		delete(l.perIP, key)
	}
}

// refuse answers c with a 503 and closes it. The answer is written first,
// then the write side is shut and whatever the client sent is read and
// dropped until it closes (or refuseLinger passes): closing a socket with
// unread data makes the kernel send a reset, which can destroy the answer
// before the client reads it.
func (l *Listener) refuse(c net.Conn, retryAfter time.Duration, why string) {
	select {
	case l.sem <- struct{}{}:
	default:
		_ = c.Close() // too many refusals in flight: no answer
		return
	}
	l.refusers.Add(1)
	go func() { // owned by l: Close waits for it, and it ends within refuseLinger
		defer l.refusers.Done()
		defer func() { <-l.sem }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(refuseLinger))
		body := `{"error":"overloaded","message":"` + why + `; retry later"}` + "\n"
		secs := strconv.Itoa(int((retryAfter + time.Second - 1) / time.Second))
		if _, err := io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\n"+
			"Retry-After: "+secs+"\r\n"+
			"Content-Type: application/json\r\n"+
			"X-Content-Type-Options: nosniff\r\n"+
			"Content-Length: "+strconv.Itoa(len(body))+"\r\n"+
			"Connection: close\r\n\r\n"+body); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// clientKey is the address a per-IP cap counts: the IP, with IPv4-mapped
// IPv6 unmapped, and IPv6 cut to its /64.
func clientKey(a net.Addr) netip.Addr {
	var ip netip.Addr
	if ta, ok := a.(*net.TCPAddr); ok {
		ip = ta.AddrPort().Addr()
	} else if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// conn is an accepted connection: it gives its slot back when closed and
// counts the deadline that cut it.
type conn struct {
	net.Conn
	l        *Listener
	key      netip.Addr
	once     sync.Once
	state    atomic.Int32 // http.ConnState
	deadline atomic.Int64 // read deadline, Unix nanoseconds; 0 none
	cut      atomic.Bool  // counted already
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.countCut()
	}
	return n, err
}

// countCut counts a read that hit its deadline, once per connection. A
// deadline in the distant past is not a cut: net/http sets one to abort
// its own background read when a handler finishes.
func (c *conn) countCut() {
	dl := c.deadline.Load()
	if dl == 0 || time.Unix(0, dl).Year() < 2000 || !c.cut.CompareAndSwap(false, true) {
		return
	}
	switch http.ConnState(c.state.Load()) {
	case http.StateIdle:
		c.l.idleTimeouts.Add(1)
	case http.StateNew, http.StateActive:
		c.l.readTimeouts.Add(1)
	}
}

func (c *conn) SetDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) noteDeadline(t time.Time) {
	if t.IsZero() {
		c.deadline.Store(0)
	} else {
		c.deadline.Store(t.UnixNano())
	}
}

// CloseWrite, ReadFrom, SyscallConn and SetWriteBuffer pass through, so
// net/http's lingering close and sendfile, and the chat's non-blocking
// writes on a hijacked fan socket (node/chat asks for syscall.Conn), still
// work on the wrapped connection.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

func (c *conn) SetWriteBuffer(bytes int) error {
	if wb, ok := c.Conn.(interface{ SetWriteBuffer(int) error }); ok {
		return wb.SetWriteBuffer(bytes)
	}
	return errors.ErrUnsupported
}

func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// Reserve is how many file descriptors DefaultPerNode leaves for
// everything that is not an HTTP connection (the chat store's files, the
// spool and the cache, NATS, refusals in flight): a quarter of the limit,
// at least 256 and at most 4096.
func Reserve(limit uint64) uint64 {
	return min(max(limit/4, 256), 4096)
}

// DefaultPerNode derives the per-node connection cap from the process's
// file descriptor limit (RLIMIT_NOFILE, which the Go runtime raises to the
// hard limit at start) minus Reserve, so that accept never fails and the
// chat store never runs out of descriptors. At least 64. Nodes that share a
// process (`relaymesh dev`) each derive the same cap from the one limit.
func DefaultPerNode() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 1024 - int(Reserve(1024)) // the usual default limit
	}
	cur := min(rl.Cur, 1<<30)
	return int(max(cur-min(Reserve(cur), cur), 64))
}
