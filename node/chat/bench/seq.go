package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The text of every benchmark message: "bench|<publisher>|<seq>|<unix ns>".
// The send time travels in the message itself, so a receiver needs no
// shared state to compute the latency (sender and receivers are one
// process: one clock).
const textPrefix = "bench|"

func benchText(pub int, seq uint64, sent time.Time) string {
	return textPrefix + strconv.Itoa(pub) + "|" + strconv.FormatUint(seq, 10) + "|" + strconv.FormatInt(sent.UnixNano(), 10)
}

// parseBenchText reads what benchText writes; ok is false for any other text.
func parseBenchText(s string) (pub int, seq uint64, sentNano int64, ok bool) {
	rest, found := strings.CutPrefix(s, textPrefix)
	if !found {
		return 0, 0, 0, false
	}
	a, rest, found1 := strings.Cut(rest, "|")
	b, c, found2 := strings.Cut(rest, "|")
	if !found1 || !found2 {
		return 0, 0, 0, false
	}
	p, err1 := strconv.Atoi(a)
	q, err2 := strconv.ParseUint(b, 10, 64)
	t, err3 := strconv.ParseInt(c, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || p < 0 || q == 0 {
		return 0, 0, 0, false
	}
	return p, q, t, true
}

// seqTracker follows, at one fan, the sequence numbers of its room's
// publishers. The protocol delivers one origin's messages in order, and a
// publisher's messages all have one origin (the node it is connected to),
// so each publisher's numbers must arrive increasing, by one except where
// a publish was not stored (rejected, or never sent). The tracker counts
// duplicates, and remembers the numbers it skipped over so that a late
// arrival counts as reordered, not as a duplicate, and so that at the end
// the skipped numbers the publisher did store can be told from those it
// did not (gaps).
//
// Not safe for concurrent use: each fan's goroutine owns its tracker.
type seqTracker struct {
	last      []uint64 // highest number seen, by the publisher's position in the room
	missing   []seqRef // numbers skipped over, not (yet) seen
	overflow  int      // skipped numbers beyond maxMissing: counted as gaps, not kept
	dups      int
	reordered int
}

// seqRef is one publish: publisher index and sequence number.
type seqRef struct {
	pub int32
	seq uint64
}

// maxMissing bounds the numbers a tracker remembers: in a healthy run it
// stays empty; in a broken one the count is what matters.
const maxMissing = 1024

func newSeqTracker(publishersInRoom int) *seqTracker {
	return &seqTracker{last: make([]uint64, publishersInRoom)}
}

// see records message seq of publisher pub, at position pos among the
// room's publishers. It returns false for a duplicate.
func (t *seqTracker) see(pos, pub int, seq uint64) bool {
	if pos < 0 || pos >= len(t.last) {
		panic(fmt.Sprintf("bench: publisher position %d out of range %d", pos, len(t.last)))
	}
	last := t.last[pos]
	switch {
	case seq == last+1:
	case seq > last+1:
		for s := last + 1; s < seq; s++ {
			if len(t.missing) >= maxMissing {
				t.overflow += int(seq - s)
				break
			}
			t.missing = append(t.missing, seqRef{int32(pub), s})
		}
	default: // seq <= last: seen already, or filling a hole
		for i, m := range t.missing {
			if m.pub == int32(pub) && m.seq == seq {
				t.missing = append(t.missing[:i], t.missing[i+1:]...)
				t.reordered++
				return true
			}
		}
		t.dups++
		return false
	}
	t.last[pos] = seq
	return true
}

// gaps counts the skipped numbers that were stored: stored reports whether
// a publish is known to be stored at its origin (acknowledged, or received
// by some fan).
func (t *seqTracker) gaps(stored func(pub int, seq uint64) bool) int {
	n := t.overflow
	for _, m := range t.missing {
		if stored(int(m.pub), m.seq) {
			n++
		}
	}
	return n
}
