package bgp

import "net/netip"

// addrHost holds the announced addresses on the node: netlink in the
// daemon (iface_linux.go), a map in the unit tests.
type addrHost interface {
	// prepare makes sure the interface exists and is up, creating a
	// dummy interface when it does not exist; a kernel without dummy
	// interfaces gets the addresses on lo instead. It returns the
	// interface used, and whether lbd manages every address on it (a
	// dummy interface) rather than only its own (an interface such as
	// lo).
	prepare(ifname string) (used string, owned bool, err error)
	// addrs lists the host addresses (/32, /128) on the interface.
	addrs(ifname string) ([]netip.Addr, error)
	add(ifname string, a netip.Addr) error
	del(ifname string, a netip.Addr) error
}
