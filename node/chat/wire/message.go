package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Message is one chat message: the body of a message frame, an item of the
// history endpoint and the record the node stores and relays.
type Message struct {
	ID     ID        // unique across the mesh; see ID
	Room   string    // see ValidRoom
	User   string    // who posted it, e.g. "anon-3f2a9c"
	Text   string    // see CheckText
	TS     time.Time // when the origin edge stored it; sent in UTC with milliseconds
	Region string    // region of the origin edge, e.g. "seoul"
}

// TimeLayout is the layout of every timestamp in the protocol: RFC 3339 in
// UTC with exactly three fractional digits, e.g. "2026-11-22T09:30:00.123Z".
// Fixed width, so timestamps also sort as strings. Times are truncated, not
// rounded, to the millisecond; the origin edge truncates TS when it stores a
// message so that the ack and every copy agree.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// MaxUserBytes is the longest user name a message may carry.
const MaxUserBytes = 64

// timestamp is a time.Time that marshals with TimeLayout.
type timestamp time.Time

func (t timestamp) MarshalJSON() ([]byte, error) {
	u := time.Time(t).UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("timestamp year %d is outside 0-9999", y)
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = u.AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts any RFC 3339 time, so clients stay compatible should
// the precision ever change, and returns it in UTC.
func (t *timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be a string: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	*t = timestamp(v.UTC())
	return nil
}

type messageJSON struct {
	ID     ID        `json:"id"`
	Room   string    `json:"room"`
	User   string    `json:"user"`
	Text   string    `json:"text"`
	TS     timestamp `json:"ts"`
	Region string    `json:"region"`
}

// MarshalJSON renders the message without a "type" (Encode adds it for the
// frame): {"id":...,"room":...,"user":...,"text":...,"ts":...,"region":...}.
func (m Message) MarshalJSON() ([]byte, error) {
	return marshal(messageJSON{m.ID, m.Room, m.User, m.Text, timestamp(m.TS), m.Region})
}

// UnmarshalJSON reads what MarshalJSON writes; unknown fields (such as
// "type") are ignored.
func (m *Message) UnmarshalJSON(b []byte) error {
	var w messageJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = Message{w.ID, w.Room, w.User, w.Text, time.Time(w.TS), w.Region}
	return nil
}

// FrameType implements ServerFrame.
func (Message) FrameType() string { return TypeMessage }

// Validate checks every field, for messages that arrive from outside the
// node's own code (other nodes, backend services on the NATS port, the
// store). maxTextBytes <= 0 means DefaultMaxTextBytes.
func (m Message) Validate(maxTextBytes int) error {
	var errs []error
	if err := m.ID.Valid(); err != nil {
		errs = append(errs, err)
	}
	if err := ValidRoom(m.Room); err != nil {
		errs = append(errs, err)
	}
	if err := checkUser(m.User); err != nil {
		errs = append(errs, err)
	}
	if e := CheckText(m.Text, maxTextBytes); e != nil {
		errs = append(errs, e)
	}
	if m.TS.IsZero() {
		errs = append(errs, errors.New("timestamp is missing"))
	}
	if err := validOrigin(m.Region); err != nil {
		errs = append(errs, fmt.Errorf("region: %w", err))
	}
	return errors.Join(errs...)
}

func checkUser(u string) error {
	if u == "" || len(u) > MaxUserBytes {
		return fmt.Errorf("user must be 1-%d bytes; got %d", MaxUserBytes, len(u))
	}
	if !utf8.ValidString(u) {
		return errors.New("user is not valid UTF-8")
	}
	for _, r := range u {
		if unicode.IsControl(r) {
			return fmt.Errorf("user holds control character %U", r)
		}
	}
	return nil
}

// MarshalText renders the id as "<origin>.<seq>", so it is a JSON string.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses an id with ParseID.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// marshal is json.Marshal without HTML escaping: chat text is full of "<3"
// and "&", which would otherwise travel as \u003c3 and \u0026. Frames are
// never embedded in HTML. (U+2028 and U+2029 are still escaped.)
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
