//go:build !linux

package proxy

import "syscall"

// pendingConn cannot look without accepting here: the accept loop then
// takes its slots before blocking in accept.
func pendingConn(fd uintptr) bool { return true }

func dupCloexec(fd int) (int, error) { return syscall.Dup(fd) }
