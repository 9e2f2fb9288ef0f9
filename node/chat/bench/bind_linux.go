package bench

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be bound to
// a source address: the kernel then picks the port at connect, per
// destination, instead of at bind. Without it, bind(addr, 0) draws from
// only half of the ephemeral range (Linux keeps the other half for
// connect) and scans ever longer as it fills: at 100,000 fans over 5
// addresses the ramp stalled at about 14,000 connections per address.
func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
