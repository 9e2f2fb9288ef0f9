//go:build !linux

package bench

import "syscall"

// bindNoPort: elsewhere the kernel picks the port at bind.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
