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
// come with the instance lock held, one at a time. An instance is of one
// family: the codec builds its adverts, the announcer below moves its
// clients (gratuitous ARP for IPv4, unsolicited neighbour advertisements
// for IPv6); nothing else differs.
type instanceIO interface {
	// ifindex is the index of the interface the adverts are received on;
	// vipIfindex the one the VIPs are on (the macvlan with use_vmac).
	ifindex() int
	vipIfindex() int
	// sendAdvert sends one VRRP message from src to dst: the group
	// (224.0.0.18, ff02::12) or a unicast peer (RFC 3768 section 5.2,
	// RFC 5798 section 5.1).
	sendAdvert(src, dst netip.Addr, msg []byte) error
	// addVIPs and delVIPs are idempotent: an address already present
	// (absent) is not an error. IPv6 VIPs skip duplicate address
	// detection (usable at once).
	addVIPs(vips []netip.Prefix) error
	delVIPs(vips []netip.Prefix) error

	// The announcer.
	//
	// announce tells the segment the VIPs are at our MAC: one gratuitous
	// ARP (IPv4) or unsolicited neighbour advertisement (IPv6) per
	// address, as keepalived sends them.
	announce(vips []netip.Prefix) error
	// announceAs sends the same announcements for mac, another node's:
	// a leaving master points the clients at its successor. The frames
	// still come from our own MAC.
	announceAs(mac net.HardwareAddr, vips []netip.Prefix) error
	// neighbor returns addr's link-layer address from the kernel's
	// neighbour table, or nil when it has none; with resolve, a missing
	// entry is resolved in the background for a later call.
	neighbor(addr netip.Addr, resolve bool) (net.HardwareAddr, error)
	// watchClaims makes the announcer keep, until the next call, the
	// frames in which a node announces or answers for one of vips
	// (nil: none).
	watchClaims(vips []netip.Prefix) error
	// probe asks who holds each address (ARP request, neighbour
	// solicitation) from src; whoever holds one answers. Claims kept
	// before are dropped.
	probe(src netip.Addr, vips []netip.Prefix) error
	// claimed reports what other nodes said of the watched addresses
	// since the last probe or claimed, reading what has arrived without
	// waiting.
	claimed() (claims, error)

	// pull passes the frames that reach us for vips on to mac, the
	// previous master's: the clients moved to our MAC before the VIPs
	// are ours. At the first moment nothing is in flight it adds them
	// (addVIPs) and stops passing frames on; pullTaken reports whether it
	// has, and how adding them went; pullForce does it now. stopPull
	// ends a pull. pull refuses where the kernel forwards.
	pull(vips []netip.Prefix, mac net.HardwareAddr) error
	pullTaken() (bool, error)
	pullForce() error
	stopPull() error

	// addrs lists the interface's addresses of the instance's family,
	// primaries first (IPv4), link-local first (IPv6); tentative IPv6
	// addresses (duplicate address detection running) are left out.
	addrs() ([]ifAddr, error)
	close() error
}

// claims is what the announcer saw of the watched addresses.
type claims struct {
	// other: a node announced or answered for one of them at a MAC not
	// ours (it holds it).
	other bool
	// forUs: a node announced one of them at our MAC (a leaving lbd
	// pointing its clients at us).
	forUs bool
}

type ifAddr struct {
	prefix    netip.Prefix
	secondary bool
}
