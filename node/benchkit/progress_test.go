package benchkit

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestProgressPrintsLinesUntilCancelled(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	p.Every(ctx, time.Millisecond, func() {
		calls++
		p.Printf("line %d", calls)
		if calls == 3 {
			cancel()
		}
	})
	if got := out.String(); got != "line 1\nline 2\nline 3\n" {
		t.Errorf("got %q", got)
	}
}

func TestProgressWithoutWriterIsSilent(t *testing.T) {
	p := NewProgress(nil)
	p.Printf("dropped")
	// Every must return at once rather than tick for nobody.
	p.Every(context.Background(), time.Millisecond, func() { t.Error("line called without a writer") })
}

func TestSleepUntil(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if !SleepUntil(ctx, time.Now().Add(time.Millisecond)) || !SleepUntil(ctx, time.Now().Add(-time.Second)) {
		t.Error("SleepUntil false with ctx alive")
	}
	cancel()
	if SleepUntil(ctx, time.Now().Add(time.Hour)) || SleepUntil(ctx, time.Now().Add(-time.Second)) {
		t.Error("SleepUntil true after ctx ended")
	}
}
