package bench

import (
	"testing"
	"time"
)

func TestPlaybackModel(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var pb playback
	// Start at 0; the first segment (1 s) is in at 200 ms: playing until 1200.
	pb.got(at(200), t0, time.Second)
	// Two more before the playhead needs them: buffer to 3200.
	pb.got(at(300), t0, time.Second)
	pb.got(at(1100), t0, time.Second)
	// The next one comes at 3700: stalled 500 ms, then plays to 4700.
	pb.got(at(3700), t0, time.Second)
	if pb.startup != 200*time.Millisecond || pb.stalls != 1 || pb.stalled != 500*time.Millisecond {
		t.Fatalf("startup %v, %d stalls for %v; want 200ms, 1 for 500ms", pb.startup, pb.stalls, pb.stalled)
	}
	// Stopped at 5000 while waiting 300 ms for the next segment.
	pb.stopped = at(5000)
	watch, stalled := pb.watched(false)
	if watch != 4800*time.Millisecond || stalled != 800*time.Millisecond {
		t.Fatalf("watched %v, stalled %v; want 4.8s, 0.8s", watch, stalled)
	}
	// Had the stream ended, waiting after the last segment is no stall.
	watch, stalled = pb.watched(true)
	if watch != 4500*time.Millisecond || stalled != 500*time.Millisecond {
		t.Fatalf("ended: watched %v, stalled %v; want 4.5s, 0.5s", watch, stalled)
	}
	var none playback
	if w, s := none.watched(false); w != 0 || s != 0 {
		t.Fatalf("a player that never played watched %v, stalled %v", w, s)
	}
}
