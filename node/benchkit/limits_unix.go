//go:build unix

package benchkit

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit makes room for need open files (every client connection
// is one): it raises the soft limit to the hard limit when the soft one is
// lower, and returns an error naming both when even the hard limit is
// below need. It returns the soft limit in force.
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
		return lim.Cur, fmt.Errorf("bench: the open file limit is %d (hard limit %d) but the run needs %d (one socket per connection, plus a margin): open fewer connections, or raise the limit (ulimit -n)", lim.Cur, lim.Max, need)
	}
	return lim.Cur, nil
}
