package benchkit

import (
	"testing"
	"time"
)

func TestCountsString(t *testing.T) {
	if got := CountsString(nil); got != "none" {
		t.Errorf("nil: %q", got)
	}
	if got := CountsString(map[string]int{"reset": 2, "404": 1, "eof": 3}); got != "404=1 eof=3 reset=2" {
		t.Errorf("got %q", got)
	}
}

func TestMillis(t *testing.T) {
	if got := Millis(80*time.Millisecond + 512*time.Microsecond + 400*time.Nanosecond); got != 80.512 {
		t.Errorf("got %v, want 80.512", got)
	}
}

func TestClientUsageString(t *testing.T) {
	u := ClientUsage{CPUUserSecs: 1.25, CPUSysSecs: 0.5, MaxRSSMiB: 99.6}
	if got, want := u.String(), "cpu 1.2s user + 0.5s sys, max rss 100 MiB"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
