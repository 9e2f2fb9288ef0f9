//go:build unix

package benchkit

import (
	"math"
	"strings"
	"syscall"
	"testing"
)

func TestRaiseFileLimitNamesBothLimits(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max >= math.MaxInt {
		t.Skip("no hard open file limit")
	}
	soft, err := RaiseFileLimit(math.MaxInt)
	if err == nil || soft == 0 {
		t.Fatalf("soft %d, err %v; want an error", soft, err)
	}
	// Both tools share the message, so it names neither fans nor players.
	msg := err.Error()
	if !strings.Contains(msg, "open file limit") || !strings.Contains(msg, "ulimit -n") ||
		strings.Contains(msg, "fan") || strings.Contains(msg, "player") {
		t.Errorf("message %q", msg)
	}
	if soft, err := RaiseFileLimit(1); err != nil || soft == 0 {
		t.Errorf("need 1: soft %d, err %v", soft, err)
	}
}
