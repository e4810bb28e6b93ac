package devserver

import "syscall"

// sysProcAttr puts the server in its own process group, so a Ctrl-C at the
// terminal reaches only the parent (which stops the server in order), and
// has the kernel kill it if the parent dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
