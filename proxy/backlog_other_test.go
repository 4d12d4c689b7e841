//go:build !linux

package proxy

import "testing"

func listenBacklogFull(t testing.TB) (string, func()) {
	t.Skip("needs Linux listen(2) backlog semantics")
	return "", func() {}
}
