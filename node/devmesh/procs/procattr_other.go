//go:build !linux

package procs

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: there, nodes share
// the terminal's process group (Ctrl-C reaches them directly as well) and a
// parent killed with SIGKILL leaves them running.
func sysProcAttr() *syscall.SysProcAttr { return nil }
