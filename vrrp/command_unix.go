//go:build unix

package vrrp

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel puts the command in its own process group and makes a
// timeout kill the whole group: a script that forked (a shell pipeline)
// must not leave children running.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
