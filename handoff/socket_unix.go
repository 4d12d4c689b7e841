package handoff

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// socketPair returns the two ends of a unix stream socket pair, close on
// exec (ExtraFiles clears that flag on the child's copy).
func socketPair() ([2]*os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return [2]*os.File{}, fmt.Errorf("handoff: socketpair: %w", err)
	}
	return [2]*os.File{os.NewFile(uintptr(fds[0]), "handoff"), os.NewFile(uintptr(fds[1]), "handoff")}, nil
}

// fileConn turns one end into a connection (and closes f).
func fileConn(f *os.File) (*conn, error) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("handoff: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("handoff: not a unix socket")
	}
	return newConn(uc), nil
}
