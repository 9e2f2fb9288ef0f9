//go:build unix

package benchkit

import (
	"runtime"
	"syscall"
)

// ReadClientUsage reads this process's CPU time and peak memory; zero when
// the system will not say.
func ReadClientUsage() ClientUsage {
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
