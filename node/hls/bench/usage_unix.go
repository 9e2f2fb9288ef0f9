//go:build unix

package bench

import (
	"runtime"
	"syscall"

	chatbench "github.com/relaymesh/relaymesh/node/chat/bench"
)

// clientUsage reads this process's CPU time and peak memory: the bench
// shares the machine with the mesh when both run on one host.
func clientUsage() chatbench.ClientUsage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return chatbench.ClientUsage{}
	}
	rss := float64(ru.Maxrss) / 1024 // Linux and BSDs: KiB
	if runtime.GOOS == "darwin" {
		rss /= 1024 // macOS: bytes
	}
	return chatbench.ClientUsage{
		CPUUserSecs: float64(ru.Utime.Nano()) / 1e9,
		CPUSysSecs:  float64(ru.Stime.Nano()) / 1e9,
		MaxRSSMiB:   rss,
	}
}
