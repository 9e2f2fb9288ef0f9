package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Server frame types.
const (
	TypeMessage  = "message"  // a chat message (Message)
	TypeAck      = "ack"      // the client's publish is stored (Ack)
	TypePresence = "presence" // who is in the room (Presence)
	TypeSynced   = "synced"   // replay done, live messages follow (Synced)
	TypePong     = "pong"     // answer to a ping (Pong)
	TypeError    = "error"    // something went wrong (Error)
)

// ServerFrame is a frame the server sends: Message, Ack, Presence, Synced,
// Pong or Error.
type ServerFrame interface {
	FrameType() string
}

// Ack tells a publisher that its message is stored at the edge, under ID:
// from here on a reconnect to any edge that has heard from this one cannot
// lose it. The message itself also arrives as a message frame, in order
// with the others; ack and message may come in either order.
type Ack struct {
	Nonce string    // the publish frame's nonce; "" when it had none
	ID    ID        // the stored message's id
	TS    time.Time // the stored message's TS
}

type ackJSON struct {
	Nonce string    `json:"nonce,omitempty"`
	ID    ID        `json:"id"`
	TS    timestamp `json:"ts"`
}

// MarshalJSON renders {"nonce":...,"id":...,"ts":...}, without "type".
func (a Ack) MarshalJSON() ([]byte, error) {
	return marshal(ackJSON{a.Nonce, a.ID, timestamp(a.TS)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *Ack) UnmarshalJSON(b []byte) error {
	var w ackJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*a = Ack{w.Nonce, w.ID, time.Time(w.TS)}
	return nil
}

// FrameType implements ServerFrame.
func (Ack) FrameType() string { return TypeAck }

// Presence counts the fans connected to a room across the mesh, in total and
// per region. It is also the body of GET /v1/rooms/{room}/presence.
type Presence struct {
	Room    string         `json:"room"`
	Total   int            `json:"total"`
	Regions map[string]int `json:"regions"` // region name -> fans; never null in JSON
}

// MarshalJSON renders the presence without "type"; a nil Regions is {}.
func (p Presence) MarshalJSON() ([]byte, error) {
	type plain Presence // drops the methods, keeps the tags
	if p.Regions == nil {
		p.Regions = map[string]int{}
	}
	return marshal(plain(p))
}

// FrameType implements ServerFrame.
func (Presence) FrameType() string { return TypePresence }

// Synced ends the replay that opens every connection (join history or
// recovery) and comes before any live message.
type Synced struct {
	// Replayed is how many message frames the replay sent.
	Replayed int `json:"replayed"`
	// Complete is false when the edge cannot prove it replayed everything
	// the fan missed: the since marks are older than what it still holds.
	// Always true on a join (no since), which replays history by design.
	Complete bool `json:"complete"`
	// Since is the edge's marks as of the end of the replay, for the room's
	// origins: the fan merges them into its own (Since.Merge). It covers
	// messages that came before the join and were deliberately not replayed
	// (older than the join history), so a later resume does not bring them
	// back. Optional: empty when the edge has no marks to give.
	Since Since `json:"since,omitempty"`
}

// FrameType implements ServerFrame.
func (Synced) FrameType() string { return TypeSynced }

// Pong answers a ping, echoing its nonce.
type Pong struct {
	Nonce string `json:"nonce,omitempty"`
}

// FrameType implements ServerFrame.
func (Pong) FrameType() string { return TypePong }

// Encode renders a server frame as the JSON text of a WebSocket frame, with
// "type" first. It fails only for a timestamp outside years 0-9999.
func Encode(f ServerFrame) ([]byte, error) {
	body, err := marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode %s frame: %w", f.FrameType(), err)
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("encode %s frame: body is not a JSON object", f.FrameType())
	}
	out := make([]byte, 0, len(body)+len(f.FrameType())+11)
	out = append(out, `{"type":"`...)
	out = append(out, f.FrameType()...)
	out = append(out, '"')
	if string(body) != "{}" {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// ErrUnknownFrame is returned (wrapped) by DecodeServerFrame for a frame
// type it does not know. Clients should ignore such frames: servers may add
// types.
var ErrUnknownFrame = errors.New("unknown frame type")

// DecodeServerFrame reads a server frame, for clients (the benchmark tool,
// tests). It returns a value of type Message, Ack, Presence, Synced, Pong or
// Error (a value, not *Error). It is lenient, as a client should be: unknown
// fields are ignored, and an unknown type is an error wrapping
// ErrUnknownFrame.
func DecodeServerFrame(data []byte) (ServerFrame, error) {
	if m, ok := decodeMessageFast(data); ok {
		return m, nil
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("decode server frame: %w", err)
	}
	var f ServerFrame
	var err error
	switch head.Type {
	case TypeMessage:
		var m Message
		err = json.Unmarshal(data, &m)
		f = m
	case TypeAck:
		var a Ack
		err = json.Unmarshal(data, &a)
		f = a
	case TypePresence:
		var p Presence
		err = json.Unmarshal(data, &p)
		f = p
	case TypeSynced:
		var s Synced
		err = json.Unmarshal(data, &s)
		f = s
	case TypePong:
		var p Pong
		err = json.Unmarshal(data, &p)
		f = p
	case TypeError:
		var e Error
		err = json.Unmarshal(data, &e)
		f = e
	default:
		return nil, fmt.Errorf("decode server frame: %w %q", ErrUnknownFrame, clip(head.Type))
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s frame: %w", head.Type, err)
	}
	return f, nil
}
