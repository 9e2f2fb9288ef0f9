package wire

import (
	"encoding/json"
	"time"
)

// decodeMessageFast decodes a message frame without encoding/json's
// reflection, for clients that read tens of thousands of frames a second
// (relaymesh bench chat spent a third of its CPU in json.Unmarshal, on the
// same two cores as the servers it measures). It takes only the frames
// edges send: one object whose members are exactly the frame's keys, each
// once, each a string; anything else (a key in another case, a duplicate,
// a number, an escape it would judge differently) reports ok false and the
// caller decodes with encoding/json, so both paths give the same result
// (FuzzDecodeMessageFast checks that).
func decodeMessageFast(data []byte) (m Message, ok bool) {
	if !json.Valid(data) {
		return m, false
	}
	var buf [8]member
	members, ok := objectMembers(data, buf[:0])
	if !ok {
		return m, false
	}
	var seen uint8
	for _, mem := range members {
		if !isString(mem.value) {
			return m, false
		}
		s, err := unquote(mem.value)
		if err != nil {
			return m, false
		}
		var bit uint8
		switch string(mem.key) {
		case `"type"`:
			bit = 1
			if s != TypeMessage {
				return m, false
			}
		case `"id"`:
			bit = 2
			if m.ID, err = ParseID(s); err != nil {
				return m, false
			}
		case `"room"`:
			bit, m.Room = 4, s
		case `"user"`:
			bit, m.User = 8, s
		case `"text"`:
			bit, m.Text = 16, s
		case `"ts"`:
			bit = 32
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return m, false
			}
			m.TS = t.UTC()
		case `"region"`:
			bit, m.Region = 64, s
		default:
			return m, false
		}
		if seen&bit != 0 {
			return m, false
		}
		seen |= bit
	}
	return m, seen&1 != 0
}
