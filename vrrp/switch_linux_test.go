//go:build linux

package vrrp

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
)

func (n *labNode) mac(t *testing.T) net.HardwareAddr {
	t.Helper()
	l, err := n.nl.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().HardwareAddr
}

// neighMAC is the node's neighbour entry for addr ("" if none usable).
func (n *labNode) neighMAC(addr netip.Addr) string {
	l, err := n.nl.LinkByName("eth0")
	if err != nil {
		return ""
	}
	list, _ := n.nl.NeighList(l.Attrs().Index, netlink.FAMILY_V4)
	for _, e := range list {
		if e.IP.Equal(addr.AsSlice()) && e.State&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE) != 0 {
			return e.HardwareAddr.String()
		}
	}
	return ""
}

// TestLabSwitchWire checks the three wire pieces of the switch on a real
// segment: resolving the successor's MAC through the kernel, the holder
// probe and its answer, and a gratuitous ARP for another node's MAC
// moving a client's ARP entry.
func TestLabSwitchWire(t *testing.T) {
	l := newLab(t)
	na, nb, nc := l.node("a", 1), l.node("b", 2), l.node("c", 3)
	log := zerolog.New(zerolog.NewTestWriter(t))
	h, err := newLinuxHost(na.h, log)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	io, err := h.open(testInstanceConfig(150), func(rxPacket) {})
	if err != nil {
		t.Fatal(err)
	}
	defer io.close()
	bMAC := nb.mac(t)

	// The successor's MAC: unknown at first, resolved on request.
	mac, err := io.neighbor(nb.addr, true)
	if err != nil {
		t.Fatal(err)
	}
	if mac == nil {
		waitFor(t, 5*time.Second, "a to resolve b's MAC", func() bool {
			mac, err = io.neighbor(nb.addr, false)
			return err == nil && mac != nil
		})
	}
	if mac.String() != bMAC.String() {
		t.Fatalf("b's MAC resolved as %s, want %s", mac, bMAC)
	}

	// The probe: nobody holds the VIP, then b does and answers. (Other
	// replies reach the socket too, b's to the resolution above: only
	// those for the VIPs count.)
	vips := []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")}
	if err := io.watchClaims(vips); err != nil {
		t.Fatal(err)
	}
	probe := func() bool {
		t.Helper()
		if err := io.probe(na.addr, vips); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		seen, err := io.claimed()
		if err != nil {
			t.Fatal(err)
		}
		return seen.other
	}
	if probe() {
		t.Fatal("an answer while nobody holds the VIP")
	}
	l.ip("-n", nb.ns, "addr", "add", "192.0.2.100/24", "dev", "eth0")
	if !probe() {
		t.Fatal("b holding the VIP did not answer the probe")
	}
	// Answers are read once: a new probe starts afresh.
	if seen, err := io.claimed(); seen.other || err != nil {
		t.Errorf("answers read twice: %v %v", seen, err)
	}
	l.ip("-n", nb.ns, "addr", "del", "192.0.2.100/24", "dev", "eth0")
	if probe() {
		t.Fatal("an answer after b let go of the VIP")
	}
	l.ip("-n", nb.ns, "addr", "add", "192.0.2.100/24", "dev", "eth0")

	// A client that reaches the VIP at b; a then announces it at another
	// MAC (standing for a successor), and the client follows.
	l.ip("-n", nc.ns, "neigh", "replace", "192.0.2.100", "dev", "eth0", "use")
	waitFor(t, 5*time.Second, "the client to resolve the VIP", func() bool { return nc.neighMAC(labVIP) == bMAC.String() })
	other := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}
	if err := io.announceAs(other, vips); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the client to follow the gratuitous ARP", func() bool { return nc.neighMAC(labVIP) == other.String() })
}
