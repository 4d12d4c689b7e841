//go:build !linux

package proxy

import "syscall"

// pendingConn cannot look without accepting here: the accept loop then
// takes its slots before blocking in accept.
func pendingConn(fd uintptr) bool { return true }

func dupCloexec(fd int) (int, error) { return syscall.Dup(fd) }

// setDeferAccept: no TCP_DEFER_ACCEPT here; connections are accepted at
// once.
func setDeferAccept(fd uintptr, secs int) error { return nil }
