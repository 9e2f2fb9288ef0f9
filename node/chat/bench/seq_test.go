package bench

import (
	"strings"
	"testing"
	"time"
)

func TestBenchText(t *testing.T) {
	at := time.Unix(1_700_000_000, 123456789)
	s := benchText(17, 42, at)
	if s != "bench|17|42|1700000000123456789" {
		t.Fatalf("benchText = %q", s)
	}
	pub, seq, sent, ok := parseBenchText(s)
	if !ok || pub != 17 || seq != 42 || sent != at.UnixNano() {
		t.Fatalf("parse(%q) = %d %d %d %v", s, pub, seq, sent, ok)
	}
	for _, bad := range []string{"hello", "bench|", "bench|1|2", "bench|x|2|3", "bench|1|0|3", "bench|-1|2|3", "bench|1|2|3|4", "Bench|1|2|3"} {
		if _, _, _, ok := parseBenchText(bad); ok {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

func TestSeqTracker(t *testing.T) {
	tr := newSeqTracker(2)
	// publisher 3 at position 0, publisher 13 at position 1
	for _, s := range []uint64{1, 2, 3} {
		if !tr.see(0, 3, s) {
			t.Fatalf("seq %d reported as duplicate", s)
		}
	}
	if tr.see(0, 3, 2) {
		t.Error("repeated seq 2 not reported as duplicate")
	}
	tr.see(1, 13, 1)
	tr.see(1, 13, 5) // skips 2, 3, 4
	if !tr.see(1, 13, 3) {
		t.Error("late seq 3 reported as duplicate")
	}
	if tr.see(1, 13, 3) {
		t.Error("seq 3 twice not reported as duplicate")
	}
	if tr.dups != 2 || tr.reordered != 1 {
		t.Errorf("dups %d reordered %d, want 2 1", tr.dups, tr.reordered)
	}
	// Of the still missing 2 and 4, only 4 was stored (2 was rejected).
	stored := func(pub int, seq uint64) bool { return pub == 13 && seq == 4 }
	if g := tr.gaps(stored); g != 1 {
		t.Errorf("gaps = %d, want 1", g)
	}
}

func TestSeqTrackerBoundsMemory(t *testing.T) {
	tr := newSeqTracker(1)
	tr.see(0, 0, 1)
	tr.see(0, 0, 1+maxMissing+500)
	if len(tr.missing) != maxMissing || tr.overflow != 499 {
		t.Fatalf("missing %d overflow %d", len(tr.missing), tr.overflow)
	}
	if g := tr.gaps(func(int, uint64) bool { return true }); g != maxMissing+499 {
		t.Errorf("gaps = %d", g)
	}
}

func TestPublishersInRoom(t *testing.T) {
	// 40 publishers over 10 rooms: 4 each; 5 over 10: rooms 0-4 have one.
	for _, c := range []struct{ pubs, rooms, room, want int }{
		{40, 10, 0, 4}, {40, 10, 9, 4}, {5, 10, 4, 1}, {5, 10, 5, 0}, {7, 3, 0, 3}, {7, 3, 2, 2},
	} {
		if got := publishersInRoom(c.pubs, c.rooms, c.room); got != c.want {
			t.Errorf("publishersInRoom(%d, %d, %d) = %d, want %d", c.pubs, c.rooms, c.room, got, c.want)
		}
		// and it agrees with the layout: publisher p is in room p mod rooms
		n := 0
		for p := 0; p < c.pubs; p++ {
			if p%c.rooms == c.room {
				n++
			}
		}
		if n != c.want {
			t.Errorf("layout count %d for %+v", n, c)
		}
	}
}

func TestPublisherSummary(t *testing.T) {
	p := newPublisher(0, &fanState{}, 0, "", 10)
	base := time.Unix(100, 0)
	for i := range 7 {
		p.next(base.Add(time.Duration(i) * time.Second)) // seqs 1..7 at 100..106 s
	}
	p.resolve("1", statusAcked)
	p.resolve("2", statusAcked)
	p.resolve("3", statusRejected)
	p.resolve("4", statusAcked)
	p.resolve("4", statusRejected) // an ack wins
	p.unsent(5)
	p.resolve("6", statusRejected) // an error, but a fan got it: stored after all
	p.markSeen(6)
	p.resolve("bogus", statusAcked)
	p.resolve("99", statusAcked)
	p.markSeen(99) // beyond the schedule: ignored
	// 7 stays unanswered
	s := p.summary(base.Add(2*time.Second).UnixNano(), base.Add(10*time.Second).UnixNano()) // seqs 3..7 measured
	want := pubSummary{Sent: 7, Measured: 5, Acked: 3, StoredMeasured: 2, Rejected: 2, Unsent: 1,
		Pending: 1, PendingMeas: 1, StoredDespite: 1}
	if s != want {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	for seq, want := range map[uint64]bool{1: true, 3: false, 5: false, 6: true, 7: false, 8: false, 99: false} {
		if got := p.stored(seq); got != want {
			t.Errorf("stored(%d) = %v, want %v", seq, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c := DefaultConfig()
	c.Fans, c.Publishers, c.Rate, c.Ramp, c.RoomPrefix = 0, 3, -1, 0, "Bad"
	err := c.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"fans must be at least 1; got 0", "publishers must be 1 to fans (0); got 3",
		"rate must be above 0; got -1", "ramp must be at least", `room prefix "Bad"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Run(t.Context(), DefaultConfig()); err == nil || !strings.Contains(err.Error(), "no nodes") {
		t.Errorf("Run without nodes: %v", err)
	}
}
