package playlist

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// manyMaps is a playlist of n segments, each with its own EXT-X-MAP: the
// shape that made a linear search of Maps quadratic.
func manyMaps(n int) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
	for i := range n {
		fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"init%d.mp4\"\n#EXTINF:2,\nseg%d.m4s\n", i, i)
	}
	return []byte(b.String())
}

// threadCPU is the CPU time the calling OS thread has used
// (CLOCK_THREAD_CPUTIME_ID; getrusage counts in scheduler ticks): unlike
// the wall clock it does not grow while other processes on a shared
// machine have the core.
func threadCPU(t *testing.T) time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		t.Fatal(errno)
	}
	return time.Duration(ts.Nano())
}

// parseCPU is the least CPU time of runs parses of body, on one locked
// thread with the collector off, so that neither the scheduler nor a
// collection lands in the measure.
func parseCPU(t *testing.T, body []byte, runs int) time.Duration {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	best := time.Duration(1<<63 - 1)
	for range runs {
		start := threadCPU(t)
		p, err := Parse(body)
		d := threadCPU(t) - start
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Maps) != len(p.Segments) {
			t.Fatalf("%d maps for %d segments", len(p.Maps), len(p.Segments))
		}
		best = min(best, d)
	}
	return best
}

// TestParseIsLinear: 32 times the entries cost about 32 times the CPU; a
// quadratic parse (a linear search of Maps per EXT-X-MAP, as before) about
// 1000 times (measured: over 1000x). The bound, 200, sits far from both,
// and the measure is thread CPU time, so other work on the machine
// does not move it much.
func TestParseIsLinear(t *testing.T) {
	const n, factor = 2000, 32
	small, large := manyMaps(n), manyMaps(factor*n)
	parseCPU(t, large, 1) // warm up: the first parse pays for growing the heap
	ts, tl := parseCPU(t, small, 10), parseCPU(t, large, 3)
	ratio := float64(tl) / float64(max(ts, 10*time.Microsecond))
	t.Logf("%d entries in %v of CPU, %d in %v: %.0fx", n, ts, factor*n, tl, ratio)
	if ratio > 200 {
		t.Fatalf("parsing %dx the entries took %.0fx the CPU: not linear", factor, ratio)
	}
}
