package wire

import (
	"fmt"
	"net/url"
)

// MaxRoomLen is the longest room name.
const MaxRoomLen = 64

// ValidRoom checks a room name: ^[a-z0-9][a-z0-9_-]{0,63}$. Names are
// lowercase so one room cannot be split by case, and plain so they are safe
// in NATS subjects, JetStream subjects, S3 archive keys and URLs as they are.
func ValidRoom(room string) error {
	if room == "" {
		return fmt.Errorf("room name is empty")
	}
	if len(room) > MaxRoomLen {
		return fmt.Errorf("room name is %d bytes; the limit is %d: %q", len(room), MaxRoomLen, clip(room))
	}
	for i := 0; i < len(room); i++ {
		c := room[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return fmt.Errorf("room name must be lowercase letters, digits, \"_\" and \"-\", starting with a letter or digit; got %q", clip(room))
		}
	}
	return nil
}

// Join is what a fan asks for when it opens the WebSocket.
type Join struct {
	Room string
	// Resume is true when the query has a since parameter, even an empty
	// one: the fan was connected before, so it gets what it missed instead
	// of the join history.
	Resume bool
	// Since is the fan's marks; empty (non-nil) when Resume is false.
	Since Since
}

// ParseJoin reads the query of GET /v1/chat/ws: room (required, once) and
// since (optional, at most once). The error is a bad_room or bad_since frame
// to send before closing (both codes close the connection).
func ParseJoin(q url.Values) (Join, *Error) {
	rooms := q["room"]
	switch len(rooms) {
	case 0:
		return Join{}, Errorf(CodeBadRoom, "", "query parameter room is required")
	case 1:
	default:
		return Join{}, Errorf(CodeBadRoom, "", "query parameter room appears %d times", len(rooms))
	}
	if err := ValidRoom(rooms[0]); err != nil {
		return Join{}, &Error{Code: CodeBadRoom, Message: err.Error()}
	}
	j := Join{Room: rooms[0], Since: Since{}}
	switch sinces := q["since"]; len(sinces) {
	case 0:
	case 1:
		s, err := ParseSince(sinces[0])
		if err != nil {
			return Join{}, &Error{Code: CodeBadSince, Message: err.Error()}
		}
		j.Resume, j.Since = true, s
	default:
		return Join{}, Errorf(CodeBadSince, "", "query parameter since appears %d times", len(sinces))
	}
	return j, nil
}
