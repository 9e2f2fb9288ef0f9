// Package fan is a Go client of the chat protocol: what the benchmark tool
// and the end-to-end tests use to act as fans. It keeps the per-origin
// marks a client needs to resume on any edge (wire.Since).
package fan

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// Fan is one WebSocket connection to an edge's chat.
type Fan struct {
	conn *websocket.Conn
	// Since holds the last message id seen per origin; pass it to Dial to
	// resume after a disconnect. Read advances it.
	Since wire.Since
}

// Dial connects to the chat of the edge at base (http://host:port) and
// joins room. A non-nil since resumes from those marks.
func Dial(ctx context.Context, base, room string, since wire.Since) (*Fan, error) {
	return DialWith(ctx, http.DefaultClient, base, room, since)
}

// DialWith is Dial through client: the load tool gives each source address
// its own client (a transport whose dialer binds that address).
func DialWith(ctx context.Context, client *http.Client, base, room string, since wire.Since) (*Fan, error) {
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
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("fan: dial %s: %s: %w", u, resp.Status, err)
		}
		return nil, fmt.Errorf("fan: dial %s: %w", u, err)
	}
	conn.SetReadLimit(1 << 20)
	f := &Fan{conn: conn, Since: wire.Since{}}
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

// WriteRaw sends an arbitrary frame (tests use it for bad input).
func (f *Fan) WriteRaw(ctx context.Context, typ websocket.MessageType, data []byte) error {
	return f.conn.Write(ctx, typ, data)
}

func (f *Fan) writeJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return f.conn.Write(ctx, websocket.MessageText, b)
}

// Read returns the next server frame (wire.Message, wire.Ack, ...). A
// message advances Since.
func (f *Fan) Read(ctx context.Context) (wire.ServerFrame, error) {
	_, data, err := f.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	fr, err := wire.DecodeServerFrame(data)
	if err != nil {
		return nil, fmt.Errorf("fan: %w in %q", err, data)
	}
	if m, ok := fr.(wire.Message); ok {
		f.Since.Advance(m.ID)
	}
	return fr, nil
}

// Close closes the connection.
func (f *Fan) Close() error { return f.conn.Close(websocket.StatusNormalClosure, "") }

// CloseNow drops the connection without a close handshake.
func (f *Fan) CloseNow() error { return f.conn.CloseNow() }
