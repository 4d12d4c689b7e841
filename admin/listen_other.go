//go:build !linux

package admin

import "net"

// listenFreebind is a plain listen where IP_FREEBIND does not exist.
func listenFreebind(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
