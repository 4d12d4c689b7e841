//go:build !linux

package bgp

import (
	"errors"
	"net/netip"
)

type noHost struct{}

func newAddrHost() addrHost { return noHost{} }

var errNotLinux = errors.New("bgp: VIP addresses are managed on Linux only")

func (noHost) prepare(string) (string, bool, error) { return "", false, errNotLinux }
func (noHost) addrs(string) ([]netip.Addr, error)   { return nil, errNotLinux }
func (noHost) add(string, netip.Addr) error         { return errNotLinux }
func (noHost) del(string, netip.Addr) error         { return errNotLinux }
