// Package fan is a Go client of the chat protocol: what the benchmark tool
// and the end-to-end tests use to act as fans. It keeps the per-origin
// marks a client needs to resume on any edge (wire.Since).
//
// It speaks WebSocket with github.com/gobwas/ws's frame codec and no
// goroutine of its own: the caller's Read loop reads frames straight from
// a small buffered reader and answers pings inline. A load client holds
// 100,000 of these, and coder/websocket's per-connection goroutine, timer
// and 4 KiB buffers each way were half of the load client's CPU and most
// of its memory (relaymesh bench chat --cpuprofile).
package fan

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// MaxMessageBytes bounds one server message (all its fragments): a server
// that sends more is broken, and the fan drops the connection.
const MaxMessageBytes = 1 << 20

// readBufferBytes is the fan's read buffer: server frames are small (a
// message is a few hundred bytes) and larger ones are read through it.
const readBufferBytes = 2048

// MessageType is the kind of a data frame a fan writes.
type MessageType int

// The data frame kinds of WebSocket (RFC 6455 5.6).
const (
	Text MessageType = iota
	Binary
)

// ErrBadFrame is wrapped by Read's error for a frame that arrived whole but
// did not decode: the connection is still good.
var ErrBadFrame = errors.New("fan: undecodable frame")

// CloseError is how Read reports a close frame from the server.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("fan: closed by the server: %d %q", e.Code, e.Reason)
}

// CloseStatus is the close code the server sent, when err came from its
// close frame, else -1.
func CloseStatus(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// Fan is one WebSocket connection to an edge's chat. Read is for one
// goroutine at a time; the writes (Publish, Ping, WriteRaw, Close) may come
// from any goroutine, concurrently with Read.
type Fan struct {
	conn net.Conn
	br   *bufio.Reader

	// Read's context watch: when readCtx ends, the connection is closed
	// (so a blocked Read returns), registered once per context rather than
	// once per Read.
	readCtx  context.Context
	stopRead func() bool

	wmu sync.Mutex // one frame write at a time

	// Since holds the last message id seen per origin; pass it to Dial to
	// resume after a disconnect. Read advances it.
	Since wire.Since
}

// Dial connects to the chat of the edge at base (http://host:port) and
// joins room. A non-nil since resumes from those marks.
func Dial(ctx context.Context, base, room string, since wire.Since) (*Fan, error) {
	return DialWith(ctx, nil, base, room, since)
}

// DialWith is Dial through dialer (nil: a default one): the load tool gives
// each source address its own dialer, bound to that address.
func DialWith(ctx context.Context, dialer *net.Dialer, base, room string, since wire.Since) (*Fan, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = "/v1/chat/ws"
	q := url.Values{"room": {room}}
	if since != nil {
		q.Set("since", since.String())
	}
	u.RawQuery = q.Encode()
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	network := "tcp"
	if a, ok := dialer.LocalAddr.(*net.TCPAddr); ok && a.IP.To4() != nil {
		network = "tcp4" // a v4 source address cannot reach a v6 destination
	}
	d := ws.Dialer{
		ReadBufferSize: readBufferBytes,
		NetDial: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}
	conn, br, _, err := d.Dial(ctx, u.String())
	if err != nil {
		var st ws.StatusError
		if errors.As(err, &st) {
			return nil, fmt.Errorf("fan: dial %s: %d %s: %w", u, int(st), http.StatusText(int(st)), err)
		}
		return nil, fmt.Errorf("fan: dial %s: %w", u, err)
	}
	if br == nil { // nothing arrived with the handshake's answer
		br = bufio.NewReaderSize(conn, readBufferBytes)
	}
	f := &Fan{conn: conn, br: br, Since: wire.Since{}}
	if since != nil {
		f.Since = since.Clone()
	}
	return f, nil
}

// Publish sends a publish frame.
func (f *Fan) Publish(ctx context.Context, text, nonce string) error {
	return f.writeJSON(ctx, map[string]string{"type": wire.TypePublish, "text": text, "nonce": nonce})
}

// Ping sends a ping frame.
func (f *Fan) Ping(ctx context.Context, nonce string) error {
	return f.writeJSON(ctx, map[string]string{"type": wire.TypePing, "nonce": nonce})
}

// WriteRaw sends an arbitrary data frame (tests use it for bad input).
func (f *Fan) WriteRaw(ctx context.Context, typ MessageType, data []byte) error {
	op := ws.OpText
	if typ == Binary {
		op = ws.OpBinary
	}
	return f.writeFrame(ctx, ws.NewFrame(op, true, append([]byte(nil), data...)))
}

func (f *Fan) writeJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return f.writeFrame(ctx, ws.NewTextFrame(b))
}

// writeFrame masks fr (a client must, RFC 6455 5.3) and writes it in one
// write; ctx bounds the write. fr's payload is masked in place.
func (f *Fan) writeFrame(ctx context.Context, fr ws.Frame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := ws.CompileFrame(ws.MaskFrameInPlace(fr))
	if err != nil {
		return err
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = f.conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	dl, _ := ctx.Deadline() // zero: none
	_ = f.conn.SetWriteDeadline(dl)
	if _, err := f.conn.Write(b); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("fan: write: %w", err)
	}
	return nil
}

// Read returns the next server frame (wire.Message, wire.Ack, ...),
// answering the server's pings on the way. A message advances Since. When
// ctx ends the connection is closed, as when the server closes it: a fan
// is not read again after a failed Read. A close frame from the server is
// returned as a *CloseError. A frame that does not decode is returned as
// an error wrapping ErrBadFrame, and the connection stays good.
func (f *Fan) Read(ctx context.Context) (wire.ServerFrame, error) {
	f.watch(ctx)
	data, err := f.readMessage()
	if err != nil {
		_ = f.conn.Close()
		if f.stopRead != nil { // the fan is done: let go of ctx
			f.stopRead()
			f.stopRead, f.readCtx = nil, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	fr, err := wire.DecodeServerFrame(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w in %q", ErrBadFrame, err, data)
	}
	if m, ok := fr.(wire.Message); ok {
		f.Since.Advance(m.ID)
	}
	return fr, nil
}

// watch arranges for the connection to close when ctx ends.
func (f *Fan) watch(ctx context.Context) {
	if ctx == f.readCtx {
		return
	}
	if f.stopRead != nil {
		f.stopRead()
		f.stopRead = nil
	}
	f.readCtx = ctx
	if ctx.Done() != nil {
		f.stopRead = context.AfterFunc(ctx, func() { _ = f.conn.Close() })
	}
}

// readMessage reads frames until a whole data message, handling control
// frames between them.
func (f *Fan) readMessage() ([]byte, error) {
	var msg []byte
	inMessage := false
	for {
		h, err := ws.ReadHeader(f.br)
		if err != nil {
			return nil, fmt.Errorf("fan: read: %w", err)
		}
		if h.Masked || h.Rsv != 0 {
			return nil, errors.New("fan: protocol error: masked or reserved bits in a server frame")
		}
		if h.Length > MaxMessageBytes || int64(len(msg))+h.Length > MaxMessageBytes {
			return nil, fmt.Errorf("fan: a server message over %d bytes", MaxMessageBytes)
		}
		if h.OpCode.IsControl() {
			if h.Length > 125 || !h.Fin {
				return nil, errors.New("fan: protocol error: bad control frame")
			}
			payload := make([]byte, h.Length)
			if _, err := io.ReadFull(f.br, payload); err != nil {
				return nil, fmt.Errorf("fan: read: %w", err)
			}
			if err := f.control(h.OpCode, payload); err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpContinuation && !inMessage,
			h.OpCode != ws.OpContinuation && inMessage:
			return nil, errors.New("fan: protocol error: bad fragment sequence")
		}
		inMessage = true
		n := len(msg)
		msg = append(msg, make([]byte, h.Length)...)
		if _, err := io.ReadFull(f.br, msg[n:]); err != nil {
			return nil, fmt.Errorf("fan: read: %w", err)
		}
		if h.Fin {
			return msg, nil
		}
	}
}

// control handles a control frame: a ping is answered, a close is echoed
// (RFC 6455 5.5.1) and returned as a *CloseError.
func (f *Fan) control(op ws.OpCode, payload []byte) error {
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch op {
	case ws.OpPing:
		if err := f.writeFrame(wctx, ws.NewPongFrame(payload)); err != nil {
			return err
		}
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(payload)
		_ = f.writeFrame(wctx, ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
		if code == 0 {
			code = ws.StatusNoStatusRcvd
		}
		return &CloseError{Code: int(code), Reason: reason}
	}
	return nil
}

// Close sends a normal close frame and closes the connection (without
// waiting for the server's answer: the reading side may be in Read).
func (f *Fan) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	werr := f.writeFrame(ctx, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	if err := f.conn.Close(); err != nil {
		return err
	}
	return werr
}

// CloseNow drops the connection without a close handshake.
func (f *Fan) CloseNow() error { return f.conn.Close() }
