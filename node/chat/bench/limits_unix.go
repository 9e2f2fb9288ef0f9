//go:build unix

package bench

import (
	"fmt"
	"runtime"
	"syscall"
)

// RaiseFileLimit makes room for need open files (a fan is one socket):
// it raises the soft limit to the hard limit when the soft one is lower,
// and returns an error naming both when even the hard limit is below need.
// It returns the soft limit in force.
func RaiseFileLimit(need int) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("bench: read the open file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	if lim.Cur < uint64(need) {
		return lim.Cur, fmt.Errorf("bench: the open file limit is %d (hard limit %d) but the run needs %d (one socket per fan, plus 100): run fewer fans, or raise the limit (ulimit -n)", lim.Cur, lim.Max, need)
	}
	return lim.Cur, nil
}

// clientUsage reads this process's CPU time and peak memory.
func clientUsage() ClientUsage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return ClientUsage{}
	}
	rss := float64(ru.Maxrss) / 1024 // Linux and BSDs: KiB
	if runtime.GOOS == "darwin" {
		rss /= 1024 // macOS: bytes
	}
	return ClientUsage{
		CPUUserSecs: float64(ru.Utime.Nano()) / 1e9,
		CPUSysSecs:  float64(ru.Stime.Nano()) / 1e9,
		MaxRSSMiB:   rss,
	}
}
