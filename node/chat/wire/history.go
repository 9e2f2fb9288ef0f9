package wire

import (
	"fmt"
	"strconv"
)

// History endpoint limits: GET /v1/rooms/{room}/history?limit=N.
const (
	DefaultHistoryLimit = 50   // messages when limit is absent
	MaxHistoryLimit     = 1000 // most messages one request returns
)

// History is the body of GET /v1/rooms/{room}/history: the room's latest
// messages, oldest first.
type History struct {
	Room     string    `json:"room"`
	Messages []Message `json:"messages"` // never null in JSON
}

// MarshalJSON renders a nil Messages as [].
func (h History) MarshalJSON() ([]byte, error) {
	type plain History // drops the methods, keeps the tags
	if h.Messages == nil {
		h.Messages = []Message{}
	}
	return marshal(plain(h))
}

// ParseHistoryLimit reads the limit query parameter: "" is
// DefaultHistoryLimit, otherwise a decimal integer in 1-MaxHistoryLimit.
func ParseHistoryLimit(s string) (int, error) {
	if s == "" {
		return DefaultHistoryLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxHistoryLimit || s[0] == '+' {
		return 0, fmt.Errorf("limit must be an integer in 1-%d; got %q", MaxHistoryLimit, clip(s))
	}
	return n, nil
}
