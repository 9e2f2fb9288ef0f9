package procs

import "syscall"

// sysProcAttr puts each node in a process group of its own, so that a
// Ctrl-C in the terminal reaches only the parent, which then stops the
// nodes once, gracefully (a node that got the terminal's SIGINT and then
// the parent's SIGTERM would take the second signal as "exit now"). And it
// makes the kernel SIGKILL the node if the parent dies: a parent killed
// with SIGKILL cannot forward anything, and SIGKILL, unlike SIGTERM, also
// ends a node whose shutdown hangs, so no node outlives its parent.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
