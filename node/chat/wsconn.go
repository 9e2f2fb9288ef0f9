package chat

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// fanConn is a fan's WebSocket connection, written for the chat's one
// traffic pattern: the same message to thousands of fans, few frames back.
//
// Why not a general WebSocket library's Conn: the profile of the chat at
// 5,000 fans (docs/chat-design.md) spent 73 % of the node's CPU writing
// frames, one syscall, one context with a timer and two mutexes per frame
// per fan, through a writer goroutine per fan woken by a channel. Here a
// frame is encoded once per room (header included, see serverFrame) and
// the room's deliverer hands the same bytes to every fan's send, which
// writes them straight to the socket with one non-blocking syscall. Only a
// fan whose socket is full gets a goroutine (flushLoop) and a buffer, for
// as long as it is behind. gobwas/ws does the handshake and the frame
// header codec; nothing else here is protocol.
type fanConn struct {
	nc  net.Conn
	raw syscall.RawConn // nil if nc has no file descriptor (tests on net.Pipe)
	br  []byte          // bytes the HTTP server had read past the handshake
	hdr [ws.MaxHeaderSize - 2]byte

	maxPending   int           // bytes a fan may be behind before it is cut off
	drainTimeout time.Duration // how long one flush of what is pending may take

	mu      sync.Mutex
	pending []byte // bytes accepted but not yet written, whole frames
	// grace is how far beyond maxPending the fan may be while a join's
	// replay drains (sendReplay): the replay is what the fan asked for,
	// up to recovery_window messages at once, and may well exceed the
	// live bound; it shrinks as the replay is written.
	grace    int
	flushing bool // flushLoop owns the socket's write side
	closing  bool // no more frames; flushLoop writes closeMsg and closes
	closeMsg []byte
	stuck    bool          // a write outlasted drainTimeout: the fan stopped reading
	done     chan struct{} // closed once the socket is closed
	doneOnce sync.Once

	// The write in progress, for writeFD (mu held): RawConn.Write takes a
	// func, and a closure over b, n and err made per write escaped to the
	// heap, the hot path's largest allocation (50,000 a second at 5,000
	// fans). writeFD is bound once per connection instead.
	wb      []byte
	wn      int
	werr    error
	writeFD func(fd uintptr) bool

	writes atomic.Uint64 // socket writes (syscalls), for tests and metrics
	sends  atomic.Uint64 // calls of send: what the node wrote to the fan, however many syscalls it took
}

var (
	errFanGone = errors.New("fan connection closed")
	errFanSlow = errors.New("fan too slow: frames not read in time")
)

// newFanConn wraps a hijacked connection; buffered is what the HTTP server
// read past the handshake (frames a fast client sent at once).
func newFanConn(nc net.Conn, buffered []byte, maxPending int, drainTimeout time.Duration) *fanConn {
	c := &fanConn{nc: nc, br: buffered, maxPending: maxPending, drainTimeout: drainTimeout, done: make(chan struct{})}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.writeFD = c.writeOnce
		}
	}
	return c
}

// send queues whole frames for the fan and writes what the socket takes
// at once, without blocking. It fails with errFanSlow when the fan is more
// than maxPending bytes behind (the caller cuts it off), and errFanGone
// once the connection is closing.
func (c *fanConn) send(frames []byte) error { return c.sendWith(frames, false) }

// sendReplay sends a join's replay: what the socket does not take at once
// may wait beyond maxPending (see grace), so that a fan resuming after a
// long gap is not cut off for asking, however fast it reads. A fan that
// does not read is still cut at drainTimeout.
func (c *fanConn) sendReplay(frames []byte) error { return c.sendWith(frames, true) }

func (c *fanConn) sendWith(frames []byte, replay bool) error {
	c.sends.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return errFanGone
	}
	if c.flushing {
		if replay {
			c.grace += len(frames)
		} else if len(c.pending)+len(frames) > c.maxPending+c.grace {
			return errFanSlow
		}
		c.pending = append(c.pending, frames...)
		return nil
	}
	n, err := c.tryWrite(frames)
	if err != nil {
		return errFanGone
	}
	if n == len(frames) {
		return nil
	}
	if replay {
		c.grace = len(frames) - n
	} else if len(frames)-n > c.maxPending {
		return errFanSlow
	}
	c.pending = append(c.pending[:0], frames[n:]...)
	c.flushing = true
	go c.flushLoop()
	return nil
}

// tryWrite writes as much of b as the socket takes now. Called with mu
// held and flushLoop not running, so writes never interleave.
func (c *fanConn) tryWrite(b []byte) (int, error) {
	c.writes.Add(1)
	if c.raw == nil {
		// No descriptor to write without blocking: leave it to flushLoop.
		return 0, nil
	}
	c.wb = b
	err := c.raw.Write(c.writeFD)
	n, werr := c.wn, c.werr
	c.wb, c.werr = nil, nil
	if err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN || werr == syscall.EINTR {
		return 0, nil
	}
	if werr != nil {
		return 0, werr
	}
	return n, nil
}

// writeOnce is the one write attempt tryWrite makes: it never waits for
// the socket.
func (c *fanConn) writeOnce(fd uintptr) bool {
	c.wn, c.werr = syscall.Write(int(fd), c.wb)
	return true
}

// flushLoop writes what is pending until nothing is, the fan falls too
// far behind, or the connection closes. Each round writes everything
// pending at its start in one call, bounded by drainTimeout: a fan that
// reads, however slowly, keeps up; one that stopped is cut at that bound.
// It owns the socket's write side while c.flushing is set; the fan's
// session waits for it (closed) before it returns.
func (c *fanConn) flushLoop() {
	var buf []byte
	for {
		c.mu.Lock()
		if c.closing || len(c.pending) == 0 {
			c.flushing = false
			closing := c.closing
			c.mu.Unlock()
			if closing {
				c.finishClose()
			}
			return
		}
		buf, c.pending = c.pending, buf[:0]
		c.mu.Unlock()

		_ = c.nc.SetWriteDeadline(time.Now().Add(c.drainTimeout))
		n, err := c.nc.Write(buf)
		c.writes.Add(1)
		if err != nil {
			c.mu.Lock()
			c.flushing = false
			c.closing = true
			// The socket is stuck or broken, maybe in the middle of a
			// frame: no close frame can follow.
			c.closeMsg = nil
			c.stuck = errors.Is(err, os.ErrDeadlineExceeded)
			c.mu.Unlock()
			c.finishClose()
			return
		}
		c.mu.Lock()
		c.grace = max(0, c.grace-n)
		c.mu.Unlock()
	}
}

// drainTimedOut reports whether the connection was cut because writing
// out what waited for the fan took longer than drainTimeout.
func (c *fanConn) drainTimedOut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stuck
}

// close ends the connection with a close frame (code and reason) after
// the frame being written, if any, and drops what is still pending. It
// does not wait; closed tells when the socket is closed.
func (c *fanConn) close(code ws.StatusCode, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.pending = nil
	c.closeMsg = ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
	flushing := c.flushing
	c.mu.Unlock()
	if !flushing {
		// Not in line: close is called under a room's lock, and the
		// close frame may take up to closeFrameTimeout. The fan's session
		// waits for it (closed).
		go c.finishClose()
	}
	// else flushLoop finishes its write (bounded by drainTimeout), then
	// calls finishClose.
}

// finishClose writes the close frame, if the socket takes it within a
// short bound, and closes the socket.
func (c *fanConn) finishClose() {
	c.doneOnce.Do(func() {
		c.mu.Lock()
		msg := c.closeMsg
		c.mu.Unlock()
		if len(msg) > 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(closeFrameTimeout))
			_, _ = c.nc.Write(msg)
		}
		_ = c.nc.Close()
		close(c.done)
	})
}

// closeFrameTimeout bounds the wait for the socket to take a close frame.
const closeFrameTimeout = time.Second

// closed is closed once the socket is.
func (c *fanConn) closed() <-chan struct{} { return c.done }

// abort closes the socket at once (the fan is gone, or shutdown ran out of
// time); a flushLoop blocked in a write returns.
func (c *fanConn) abort() {
	c.mu.Lock()
	c.closeMsg = nil
	wasClosing := c.closing
	c.closing = true
	flushing := c.flushing
	c.mu.Unlock()
	if flushing || wasClosing {
		_ = c.nc.Close() // unblocks flushLoop, which calls finishClose
		return
	}
	c.finishClose()
}

// Reading. Fans send few frames (publishes, pings), so frames are read
// straight from the socket without a buffer per connection: a header is
// two small reads, a payload one.

func (c *fanConn) Read(p []byte) (int, error) {
	if len(c.br) > 0 {
		n := copy(p, c.br)
		c.br = c.br[n:]
		if len(c.br) == 0 {
			c.br = nil
		}
		return n, nil
	}
	return c.nc.Read(p)
}

// errCloseFrame is returned by readMessage when the fan sent a close frame.
var errCloseFrame = errors.New("fan sent a close frame")

// protocolError is a frame the protocol does not allow; the connection is
// closed with its code.
type protocolError struct {
	code ws.StatusCode
	msg  string
}

func (e *protocolError) Error() string { return e.msg }

// readMessage returns the next data message (text or binary), answering
// pings and reading past pongs on the way. idle bounds the wait for each
// frame: the node pings every fan often enough that a live one always
// sends something (a pong) within it. limit bounds a message's payload.
func (c *fanConn) readMessage(idle time.Duration, limit int) (ws.OpCode, []byte, error) {
	var op ws.OpCode
	var msg []byte
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(idle))
		h, err := ws.ReadHeaderBuffer(c, c.hdr[:])
		if err != nil {
			return 0, nil, err
		}
		if !h.Masked {
			return 0, nil, &protocolError{ws.StatusProtocolError, "client frames must be masked"}
		}
		if h.Rsv != 0 {
			return 0, nil, &protocolError{ws.StatusProtocolError, "no extension was negotiated"}
		}
		if h.OpCode.IsControl() {
			if h.Length > 125 || !h.Fin {
				return 0, nil, &protocolError{ws.StatusProtocolError, "bad control frame"}
			}
		} else if h.Length > int64(limit-len(msg)) {
			return 0, nil, &protocolError{ws.StatusMessageTooBig, fmt.Sprintf("message over %d bytes", limit)}
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(c, payload); err != nil {
			return 0, nil, err
		}
		ws.Cipher(payload, h.Mask, 0)
		switch h.OpCode {
		case ws.OpPing:
			if err := c.send(ws.MustCompileFrame(ws.NewPongFrame(payload))); err != nil {
				return 0, nil, err
			}
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			return 0, nil, errCloseFrame
		case ws.OpContinuation:
			if msg == nil {
				return 0, nil, &protocolError{ws.StatusProtocolError, "continuation without a message"}
			}
			msg = append(msg, payload...)
		case ws.OpText, ws.OpBinary:
			if msg != nil {
				return 0, nil, &protocolError{ws.StatusProtocolError, "new message inside a fragmented one"}
			}
			op, msg = h.OpCode, payload
			if msg == nil {
				msg = []byte{}
			}
		default:
			return 0, nil, &protocolError{ws.StatusProtocolError, "reserved opcode"}
		}
		if h.Fin {
			return op, msg, nil
		}
	}
}

// serverFrame is payload as one unmasked, unfragmented text frame, header
// included, ready for the socket: built once, written to every fan.
func serverFrame(payload []byte) []byte {
	h := ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(payload))}
	b := make([]byte, 0, ws.HeaderSize(h)+len(payload))
	w := appendWriter{b}
	_ = ws.WriteHeader(&w, h)
	return append(w.b, payload...)
}

// framePayload returns the payload of a frame serverFrame built: the
// bytes after its header (2, 4 or 10 bytes by length; never masked).
func framePayload(frame []byte) []byte {
	switch frame[1] & 0x7f {
	case 126:
		return frame[4:]
	case 127:
		return frame[10:]
	default:
		return frame[2:]
	}
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// pingFrame is the ping the node sends every fan periodically.
var pingFrame = ws.MustCompileFrame(ws.NewPingFrame(nil))
