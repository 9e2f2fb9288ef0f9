package hls

import (
	"fmt"
	"testing"
	"time"
)

func TestRecentForgetsAfterItsWindow(t *testing.T) {
	r := recent[string]{window: time.Hour}
	r.note("live", "seoul-1")
	if v, ok := r.get("live"); !ok || v != "seoul-1" {
		t.Fatalf("get = %q, %v; want seoul-1", v, ok)
	}
	if _, ok := r.get("other"); ok {
		t.Fatal("a stream never noted is known")
	}
	// Expired entries are not returned, and are pruned once the map is
	// large.
	old := time.Now().Add(-2 * time.Hour)
	r.mu.Lock()
	for i := range pruneAt {
		r.m[fmt.Sprint("s", i)] = noted[string]{"x", old}
	}
	r.mu.Unlock()
	if _, ok := r.get("s1"); ok {
		t.Fatal("an entry past the window is returned")
	}
	r.note("fresh", "tokyo-1")
	if n := len(r.m); n != 2 {
		t.Fatalf("%d entries after pruning, want 2 (live, fresh)", n)
	}
}
