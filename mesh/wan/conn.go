package wan

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DelayFunc returns the one-way latency from one region to another. The mesh
// passes regions.OneWay; this package takes it as a parameter so that it
// depends on nothing but the standard library and tests can use any model.
// It is called on every WriteTo to a known peer and must be cheap and safe for
// concurrent use. A result <= 0 means "send now".
type DelayFunc func(fromRegion, toRegion string) time.Duration

// Queue bounds. A real router drops when its buffer is full instead of
// blocking the sender; the defaults are far above what a healthy test mesh
// holds (a full 1 Gbit/s for ~0.5 s at 64 MiB) so they only trip when
// something is badly wrong, and keep a runaway sender from eating the heap.
const (
	DefaultMaxQueuedPackets = 65536
	DefaultMaxQueuedBytes   = 64 << 20
)

// Option adjusts a Conn at construction.
type Option func(*Conn)

// WithQueueLimit bounds the delay queue to at most packets datagrams and bytes
// payload bytes; a datagram that would exceed either is dropped and counted.
// Values <= 0 keep the default.
func WithQueueLimit(packets, bytes int) Option {
	return func(c *Conn) {
		if packets > 0 {
			c.maxPackets = packets
		}
		if bytes > 0 {
			c.maxBytes = bytes
		}
	}
}

// Conn is a net.PacketConn that delays outgoing datagrams by the one-way
// latency between its local region and the destination's region. Reads,
// deadlines and the local address pass through to the wrapped conn unchanged.
//
// Conn deliberately does not expose SyscallConn, ReadMsgUDP or WriteMsgUDP:
// quic-go would detect them and write through the raw socket, bypassing the
// delay. quic-go then falls back to plain ReadFrom/WriteTo, which is all the
// emulation needs.
//
// One goroutine, started by NewConn and stopped by Close, owns sending the
// delayed datagrams from a min-heap with a single timer, so the cost per
// packet is a copy and a heap push rather than a goroutine or a timer.
type Conn struct {
	pc         net.PacketConn
	local      string
	table      *Table
	delay      DelayFunc
	maxPackets int
	maxBytes   int

	wake   chan struct{} // capacity 1; nudges the scheduler when the head changes
	done   chan struct{} // closed by Close
	exited chan struct{} // closed by the scheduler when it returns

	mu          sync.Mutex
	closed      bool
	queue       packetHeap
	queuedBytes int
	seq         uint64
	// dests holds every destination with datagrams queued or being sent, so
	// that a later datagram to it never overtakes them, even if the table or
	// the delay changed in between.
	dests map[netip.AddrPort]*destState

	closeOnce sync.Once
	closeErr  error

	delayed, immediate, dropped atomic.Uint64
}

type destState struct {
	last     time.Time // send time of the newest queued datagram
	inflight int       // queued or being written
}

// NewConn wraps pc. Datagrams to addresses that table maps to a region are
// held for delay(localRegion, region); all others leave at once. table and
// delay may be nil, which disables delaying. The Conn owns pc from now on:
// Close closes it.
func NewConn(pc net.PacketConn, localRegion string, table *Table, delay DelayFunc, opts ...Option) *Conn {
	c := &Conn{
		pc:         pc,
		local:      localRegion,
		table:      table,
		delay:      delay,
		maxPackets: DefaultMaxQueuedPackets,
		maxBytes:   DefaultMaxQueuedBytes,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		exited:     make(chan struct{}),
		dests:      make(map[netip.AddrPort]*destState),
	}
	for _, o := range opts {
		o(c)
	}
	go c.run()
	return c
}

// LocalRegion reports the region this Conn sends from.
func (c *Conn) LocalRegion() string { return c.local }

// WriteTo sends p to addr, after the emulated one-way delay if addr's region
// is known. A delayed datagram is copied, so p may be reused at once, and
// reported as fully written; like a router, a full queue drops it silently
// (see Stats). Datagrams to one destination leave in the order written.
func (c *Conn) WriteTo(p []byte, addr net.Addr) (int, error) {
	key, keyOK := addrKey(addr)
	var d time.Duration
	if keyOK && c.table != nil && c.delay != nil {
		if region, ok := c.table.lookup(key); ok {
			d = c.delay(c.local, region)
		}
	}

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.pc.LocalAddr(), Addr: addr, Err: net.ErrClosed}
	}
	var ds *destState
	if keyOK {
		ds = c.dests[key]
	}
	if d <= 0 && ds == nil {
		c.mu.Unlock()
		c.immediate.Add(1)
		return c.pc.WriteTo(p, addr)
	}
	if len(c.queue) >= c.maxPackets || c.queuedBytes+len(p) > c.maxBytes {
		c.mu.Unlock()
		c.dropped.Add(1)
		return len(p), nil
	}
	at := time.Now().Add(max(d, 0))
	if ds == nil {
		ds = &destState{}
		c.dests[key] = ds
	} else if at.Before(ds.last) {
		at = ds.last
	}
	ds.last = at
	ds.inflight++
	c.seq++
	pkt := packetPool.Get().(*packet)
	*pkt = packet{at: at, seq: c.seq, dst: key, addr: addr, buf: copyPayload(p)}
	c.queue.push(pkt)
	c.queuedBytes += len(p)
	isHead := c.queue.peek() == pkt
	c.mu.Unlock()

	c.delayed.Add(1)
	if isHead {
		select {
		case c.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return len(p), nil
}

// ReadFrom reads from the wrapped conn; incoming datagrams are not delayed
// (the sender's Conn already delayed them).
func (c *Conn) ReadFrom(p []byte) (int, net.Addr, error) { return c.pc.ReadFrom(p) }

// LocalAddr returns the wrapped conn's local address.
func (c *Conn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// SetDeadline sets the wrapped conn's deadlines. A write deadline applies to
// the moment a delayed datagram is actually sent; one that has passed by then
// drops it (counted in Stats).
func (c *Conn) SetDeadline(t time.Time) error { return c.pc.SetDeadline(t) }

// SetReadDeadline sets the wrapped conn's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }

// SetWriteDeadline sets the wrapped conn's write deadline; see SetDeadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }

// errNoBuffer is returned when the wrapped conn cannot size its buffers.
var errNoBuffer = errors.New("wrapped conn cannot set socket buffer sizes")

// SetReadBuffer passes through to the wrapped conn if it supports it. quic-go
// calls it to enlarge the receive buffer.
func (c *Conn) SetReadBuffer(bytes int) error {
	b, ok := c.pc.(interface{ SetReadBuffer(int) error })
	if !ok {
		return fmt.Errorf("wan: set read buffer: %w: %w", errNoBuffer, errors.ErrUnsupported)
	}
	return b.SetReadBuffer(bytes)
}

// SetWriteBuffer passes through to the wrapped conn if it supports it.
func (c *Conn) SetWriteBuffer(bytes int) error {
	b, ok := c.pc.(interface{ SetWriteBuffer(int) error })
	if !ok {
		return fmt.Errorf("wan: set write buffer: %w: %w", errNoBuffer, errors.ErrUnsupported)
	}
	return b.SetWriteBuffer(bytes)
}

// Stats reports how many datagrams were delayed, sent at once, and dropped.
// Dropped counts datagrams WriteTo accepted but that never left: the queue
// was full, or the deferred write failed. Datagrams still queued when Close
// is called are discarded without being counted.
func (c *Conn) Stats() (delayed, immediate, dropped uint64) {
	return c.delayed.Load(), c.immediate.Load(), c.dropped.Load()
}

// Close stops the scheduler, discards queued datagrams and closes the wrapped
// conn. It returns once the scheduler goroutine has exited. Calling it again
// returns the first call's result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		// Closing the socket first unblocks a scheduler stuck in a write.
		c.closeErr = c.pc.Close()
		<-c.exited
		c.discardQueue()
	})
	return c.closeErr
}

var _ net.PacketConn = (*Conn)(nil)
