//go:build !linux

package proxy

import "syscall"

// freebind is a no-op where IP_FREEBIND does not exist: binding a VIP that
// is not configured fails there.
func freebind(network, address string, c syscall.RawConn) error { return nil }
