package wire

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ID identifies a message across the mesh: "<origin>.<seq>", where origin is
// the name of the edge that stored the message first (a DNS label, the node
// name) and seq is that edge's message counter, a positive integer without
// leading zeros. The counter grows with every message the origin stores, in
// any room, so for one origin a larger Seq is a later message. Ids of
// different origins are not ordered.
type ID struct {
	Origin string
	Seq    uint64
}

// maxIDLen is the longest valid id: a 63-byte label, the dot and the 20
// digits of the largest uint64.
const maxIDLen = 63 + 1 + 20

// ParseID parses "<origin>.<seq>". The origin is everything before the last
// dot.
func ParseID(s string) (ID, error) {
	if len(s) > maxIDLen {
		return ID{}, fmt.Errorf("invalid message id %q: longer than %d bytes", clip(s), maxIDLen)
	}
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return ID{}, fmt.Errorf("invalid message id %q: want <origin>.<seq>", s)
	}
	origin, digits := s[:dot], s[dot+1:]
	if err := validOrigin(origin); err != nil {
		return ID{}, fmt.Errorf("invalid message id %q: %w", s, err)
	}
	seq, err := parseSeq(digits)
	if err != nil {
		return ID{}, fmt.Errorf("invalid message id %q: %w", s, err)
	}
	return ID{Origin: origin, Seq: seq}, nil
}

// String renders the id as "<origin>.<seq>".
func (id ID) String() string {
	return id.Origin + "." + strconv.FormatUint(id.Seq, 10)
}

// Valid reports why id is not a valid message id, or nil.
func (id ID) Valid() error {
	if err := validOrigin(id.Origin); err != nil {
		return fmt.Errorf("invalid message id %q: %w", id, err)
	}
	if id.Seq == 0 {
		return fmt.Errorf("invalid message id %q: sequence must be positive", id)
	}
	return nil
}

// validOrigin checks a DNS label: ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$, the
// rule for node names in the config.
func validOrigin(s string) error {
	if s == "" {
		return errors.New("origin is empty")
	}
	if len(s) > 63 {
		return fmt.Errorf("origin is %d bytes; the limit is 63", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return errors.New("origin must be a DNS label: lowercase letters, digits and inner hyphens")
		}
	}
	return nil
}

// parseSeq parses a positive decimal uint64 without sign or leading zeros,
// so every sequence number has exactly one spelling.
func parseSeq(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("sequence is empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("sequence must be decimal digits")
		}
	}
	if s[0] == '0' {
		return 0, errors.New("sequence must be positive, without leading zeros")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("sequence does not fit 64 bits")
	}
	return n, nil
}

// MaxSinceEntries is the most origins a since list may name.
const MaxSinceEntries = 64

// Since is what a fan has seen: for each origin edge, the sequence number of
// the last message from it the fan received. Because every edge delivers one
// origin's messages in that origin's order and without gaps, "seq <= mark"
// describes the whole set seen, and any edge can resume a fan from it. See
// docs/chat-protocol.md for the reasoning.
//
// Its text form is a comma-separated list of ids, at most one per origin and
// at most MaxSinceEntries, sorted by origin: "seoul-1.42,tokyo-2.17". The
// zero value (nil) is an empty list; Advance and Merge need a non-nil map, as
// any map write does.
//
// A Since is not safe for concurrent use.
type Since map[string]uint64

// ParseSince parses the since query parameter. "" is an empty (non-nil)
// Since. Entries must be valid ids, one per origin, at most MaxSinceEntries.
func ParseSince(s string) (Since, error) {
	since := Since{}
	if s == "" {
		return since, nil
	}
	if n := strings.Count(s, ",") + 1; n > MaxSinceEntries {
		return nil, fmt.Errorf("since lists %d ids; the limit is %d", n, MaxSinceEntries)
	}
	for part := range strings.SplitSeq(s, ",") {
		id, err := ParseID(part)
		if err != nil {
			return nil, fmt.Errorf("since: %w", err)
		}
		if _, dup := since[id.Origin]; dup {
			return nil, fmt.Errorf("since: origin %q appears more than once", id.Origin)
		}
		since[id.Origin] = id.Seq
	}
	return since, nil
}

// String renders the text form, sorted by origin. It does not enforce
// MaxSinceEntries; callers that build a Since from many origins trim it (see
// the protocol document).
func (s Since) String() string {
	origins := make([]string, 0, len(s))
	for o := range s {
		origins = append(origins, o)
	}
	slices.SortFunc(origins, cmp.Compare)
	var b strings.Builder
	for i, o := range origins {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ID{Origin: o, Seq: s[o]}.String())
	}
	return b.String()
}

// Seen reports whether id is at or below the mark of its origin: a message
// the fan has already received (or, after a join, chose to skip).
func (s Since) Seen(id ID) bool {
	return id.Seq <= s[id.Origin]
}

// Advance raises the mark of id's origin to id.Seq and reports whether it
// moved; it never lowers a mark, so it is false for a message already Seen.
// That makes it the delivery check: deliver a message only if Advance
// reports true.
func (s Since) Advance(id ID) bool {
	if s.Seen(id) {
		return false
	}
	s[id.Origin] = id.Seq
	return true
}

// Merge advances s by every mark of o.
func (s Since) Merge(o Since) {
	for origin, seq := range o {
		s.Advance(ID{Origin: origin, Seq: seq})
	}
}

// Clone returns a copy that shares nothing with s; a nil Since gives an
// empty, non-nil one.
func (s Since) Clone() Since {
	c := make(Since, len(s))
	for o, seq := range s {
		c[o] = seq
	}
	return c
}

// MarshalText renders the text form, so Since is a JSON string.
func (s Since) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the text form with ParseSince.
func (s *Since) UnmarshalText(b []byte) error {
	v, err := ParseSince(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
