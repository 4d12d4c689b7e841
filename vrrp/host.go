package vrrp

import (
	"net"
	"net/netip"

	"lbd/config"
)

// host is the operating system seen by the speaker: interfaces, their
// addresses and events, and the per-instance sockets. The Linux one is in
// host_linux.go; other systems get a stub that refuses to run instances.
type host interface {
	// link reports an interface's index and whether it is up and running
	// (IFF_UP and IFF_RUNNING, as keepalived); ok is false when there is
	// no such interface.
	link(name string) (info linkInfo, ok bool, err error)
	// open creates the sockets of one virtual router and starts handing
	// its received VRRP packets to rx, one at a time.
	open(cfg *config.VRRPInstance, rx func(rxPacket)) (instanceIO, error)
	// watch reports link and IPv4 address changes until stop is called.
	watch(onLink func(linkInfo), onAddr func(addrEvent)) (stop func(), err error)
	close() error
}

type linkInfo struct {
	name    string
	index   int
	up      bool
	deleted bool
}

type addrEvent struct {
	ifindex int
	addr    netip.Prefix
	added   bool
}

// instanceIO is what one virtual router does to the network. All calls
// come with the instance lock held, one at a time.
type instanceIO interface {
	ifindex() int
	// sendAdvert sends one VRRP message from src to 224.0.0.18, or to
	// every unicast peer (RFC 3768 section 5.2).
	sendAdvert(src netip.Addr, msg []byte) error
	// setPeers changes the unicast peers sendAdvert sends to (a reload);
	// called, like sendAdvert, with the instance lock held.
	setPeers(peers []netip.Addr)
	// addVIPs and delVIPs are idempotent: an address already present
	// (absent) is not an error.
	addVIPs(vips []netip.Prefix) error
	delVIPs(vips []netip.Prefix) error
	// garp sends one gratuitous ARP per address, as keepalived does.
	garp(vips []netip.Prefix) error
	// garpAs sends the same gratuitous ARPs announcing the addresses at
	// mac, another node's: a leaving master points the clients at its
	// successor. The frames still come from our own address.
	garpAs(mac net.HardwareAddr, vips []netip.Prefix) error
	// neighbor returns addr's link-layer address from the kernel's
	// neighbour table, or nil when it has none; with resolve, a missing
	// entry is resolved in the background (ARP) for a later call.
	neighbor(addr netip.Addr, resolve bool) (net.HardwareAddr, error)
	// probe broadcasts one ARP request per address, from src: whoever
	// holds one of them answers. Answers to an earlier probe are dropped.
	probe(src netip.Addr, vips []netip.Prefix) error
	// probeAnswered reports whether another node answered the last probe
	// for one of vips by now, reading what has arrived without waiting.
	probeAnswered(vips []netip.Prefix) (bool, error)
	// addrs lists the interface's IPv4 addresses, primaries first.
	addrs() ([]ifAddr, error)
	close() error
}

type ifAddr struct {
	prefix    netip.Prefix
	secondary bool
}
