//go:build !linux

package vrrp

import (
	"errors"

	"github.com/rs/zerolog"
)

// newHost refuses: VIPs, raw VRRP sockets and netlink are Linux only. A
// config without vrrp_instance blocks never asks for a host.
func newHost(zerolog.Logger) (host, error) {
	return nil, errors.New("vrrp: vrrp_instance needs Linux (netlink, raw IP sockets)")
}
