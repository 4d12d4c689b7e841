//go:build !linux

package proxy

import "syscall"

// pendingConn cannot look without accepting here: it reports a
// connection that may be waiting, so a quiet wait (WaitQuiet) lasts until
// its deadline.
func pendingConn(fd uintptr) bool { return true }

func dupCloexec(fd int) (int, error) { return syscall.Dup(fd) }

// setDeferAccept: no TCP_DEFER_ACCEPT here; connections are accepted at
// once.
func setDeferAccept(fd uintptr, secs int) error { return nil }
