package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill a worker when this process dies, even
// by SIGKILL, so no worker outlives a killed 'bench chat'.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
