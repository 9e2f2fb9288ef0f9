package chat

import (
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/chat/wire"
)

func counts(rooms map[string]int) map[string]wire.Presence {
	out := make(map[string]wire.Presence)
	for room, n := range rooms {
		out[room] = wire.Presence{Room: room, Total: n, Regions: map[string]int{"seoul": n}}
	}
	return out
}

func roomsOf(ps []wire.Presence) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Room)
	}
	return out
}

// TestPresenceFrameBudget: changed rooms go out stalest first within the
// budget of frames (a room costs its fans on this node); the others stay
// changed and go out later with the count of that moment; a room bigger
// than the whole budget still goes out when it is first in line.
func TestPresenceFrameBudget(t *testing.T) {
	p := newPresence()
	t0 := time.Unix(1000, 0)
	fans := map[string]int{"a": 6, "b": 6, "c": 6, "big": 50}

	got := roomsOf(p.changed(counts(map[string]int{"a": 6, "b": 6, "c": 6}), fans, 12, t0))
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("first interval pushed %v, want [a b] (12 frames)", got)
	}
	// c waited; a changes again but was pushed a moment ago, so c goes
	// first, then a, with their counts of now.
	out := p.changed(counts(map[string]int{"a": 7, "b": 6, "c": 8}), fans, 12, t0.Add(time.Second))
	if got := roomsOf(out); len(got) != 2 || got[0] != "c" || got[1] != "a" {
		t.Fatalf("second interval pushed %v, want [c a]", got)
	}
	if out[0].Total != 8 || out[1].Total != 7 {
		t.Errorf("pushed totals %d, %d; want the current 8 and 7", out[0].Total, out[1].Total)
	}
	if got := p.changed(counts(map[string]int{"a": 7, "b": 6, "c": 8}), fans, 12, t0.Add(2*time.Second)); len(got) != 0 {
		t.Errorf("nothing changed, yet %v went out", roomsOf(got))
	}

	// A room over the whole budget goes out alone when first in line.
	got = roomsOf(p.changed(counts(map[string]int{"a": 7, "b": 6, "c": 8, "big": 50}), fans, 12, t0.Add(3*time.Second)))
	if len(got) != 1 || got[0] != "big" {
		t.Errorf("pushed %v, want [big] alone", got)
	}
}

// TestPresenceEmptiedRoomIsPushedOnceThenForgotten: a room that empties
// everywhere is pushed as 0 once, and leaves no state behind.
func TestPresenceEmptiedRoomIsPushedOnceThenForgotten(t *testing.T) {
	p := newPresence()
	t0 := time.Unix(1000, 0)
	p.changed(counts(map[string]int{"gone": 3}), map[string]int{"gone": 3}, 100, t0)
	out := p.changed(counts(nil), nil, 100, t0.Add(time.Second))
	if len(out) != 1 || out[0].Room != "gone" || out[0].Total != 0 {
		t.Fatalf("pushed %+v, want gone at 0", out)
	}
	if out := p.changed(counts(nil), nil, 100, t0.Add(2*time.Second)); len(out) != 0 {
		t.Errorf("pushed %+v again", out)
	}
	if len(p.sent) != 0 || len(p.pushed) != 0 {
		t.Errorf("state left behind: sent %v, pushed %v", p.sent, p.pushed)
	}
}
