//go:build linux

package vrrp

// use_vmac: the VIPs live on a macvlan of the instance's interface whose
// MAC is the virtual router MAC of RFC 5798 section 7.3 (RFC 3768 section
// 7.3 for IPv4): 00:00:5e:00:01:VRID, 00:00:5e:00:02:VRID for IPv6, as
// keepalived's use_vmac and FRR's vrrpd have it. The MAC moves with the
// VIPs: a failover changes which switch port the MAC is behind, not the
// clients' neighbour entries.
//
// The macvlan is up only while the VIPs are ours (FRR keeps a backup's in
// protodown, to the same end): a backup must send nothing from the virtual
// MAC, or the switches would learn it behind the backup's port. (Removing
// an IPv6 address from an interface that is up sends a multicast listener
// report from it, for one.)

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"lbd/config"
)

// vmac is an instance's macvlan.
type vmac struct {
	link netlink.Link
	ifi  *net.Interface
	mac  net.HardwareAddr
}

// openVMAC creates the macvlan of cfg on parent (bridge mode, so that the
// parent keeps receiving everything, as FRR requires), or takes over one
// left by a crashed lbd: a macvlan of that name on parent with the
// virtual MAC. Anything else of that name is refused. For IPv6, the
// macvlan generates no address of its own; it gets parent's link-local
// address, the source of our adverts, as keepalived gives it.
func (h *linuxHost) openVMAC(cfg *config.VRRPInstance, parent netlink.Link) (*vmac, error) {
	mac := VirtualMAC(cfg.VirtualRouterID, cfg.IPv6())
	name := cfg.VMACInterface
	l, err := h.nl.LinkByName(name)
	switch {
	case err == nil:
		mv, ok := l.(*netlink.Macvlan)
		if !ok || mv.ParentIndex != parent.Attrs().Index || !bytes.Equal(mv.HardwareAddr, mac) {
			return nil, fmt.Errorf("vrrp_instance %q: use_vmac: interface %s exists and is not a macvlan of %s with MAC %s", cfg.Name, name, parent.Attrs().Name, mac)
		}
		h.log.Warn().Str("interface", name).Msg("use_vmac: taking over the macvlan left by an earlier run")
	case errors.As(err, new(netlink.LinkNotFoundError)):
		mv := &netlink.Macvlan{
			LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parent.Attrs().Index, HardwareAddr: mac},
			Mode:      netlink.MACVLAN_MODE_BRIDGE,
		}
		if err := h.nl.LinkAdd(mv); err != nil {
			return nil, fmt.Errorf("vrrp_instance %q: use_vmac: creating macvlan %s on %s (needs CAP_NET_ADMIN): %w", cfg.Name, name, parent.Attrs().Name, err)
		}
		if l, err = h.nl.LinkByName(name); err != nil {
			return nil, fmt.Errorf("vrrp_instance %q: use_vmac: %s: %w", cfg.Name, name, err)
		}
	default:
		return nil, fmt.Errorf("vrrp_instance %q: use_vmac: %s: %w", cfg.Name, name, err)
	}
	vm := &vmac{link: l, mac: mac, ifi: &net.Interface{Index: l.Attrs().Index, Name: name, MTU: l.Attrs().MTU, HardwareAddr: mac}}
	if err := h.setupVMAC(vm, cfg.IPv6(), parent); err != nil {
		_ = h.closeVMAC(vm)
		return nil, fmt.Errorf("vrrp_instance %q: use_vmac %s: %w", cfg.Name, name, err)
	}
	h.warnARP(parent.Attrs().Name, name)
	return vm, nil
}

func (h *linuxHost) setupVMAC(vm *vmac, ipv6 bool, parent netlink.Link) error {
	// Before the link is ever up, or the kernel generates an EUI-64
	// address from the virtual MAC, the same on every node.
	if err := h.nl.LinkSetIP6AddrGenMode(vm.link, nl.IN6_ADDR_GEN_MODE_NONE); err != nil && ipv6 {
		return fmt.Errorf("addrgenmode none: %w", err)
	}
	return h.vmacDown(vm)
}

// vmacUp brings the macvlan up to hold the VIPs; for IPv6 it gets the
// parent's link-local address, the source of our adverts (the kernel
// flushed it when the link went down).
func (h *linuxHost) vmacUp(vm *vmac, ipv6 bool, parent netlink.Link) error {
	if err := h.nl.LinkSetUp(vm.link); err != nil {
		return fmt.Errorf("bringing macvlan %s up: %w", vm.ifi.Name, err)
	}
	if !ipv6 {
		return nil
	}
	list, err := h.nl.AddrList(parent, netlink.FAMILY_V6)
	if err != nil {
		return err
	}
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.IsLinkLocalUnicast() {
			ll := &netlink.Addr{IPNet: a.IPNet, Flags: unix.IFA_F_NODAD}
			if err := h.nl.AddrAdd(vm.link, ll); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("adding %s: %w", ip, err)
			}
		}
	}
	return nil
}

// vmacDown takes the macvlan down: it sends nothing more.
func (h *linuxHost) vmacDown(vm *vmac) error {
	if err := h.nl.LinkSetDown(vm.link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("taking macvlan %s down: %w", vm.ifi.Name, err)
	}
	return nil
}

// warnARP logs when the parent answers ARP for addresses of other
// interfaces (arp_ignore 0, the kernel's default: it would answer for the
// VIPs on the macvlan with its own MAC, beside the macvlan), or asks with
// them (arp_announce 0). keepalived sets such sysctls itself; lbd runs
// without the right to (the systemd unit protects kernel tunables), so it
// says so instead.
func (h *linuxHost) warnARP(parent, name string) {
	var ign, ann []byte
	_ = h.inNS(func() error {
		ign, _ = os.ReadFile("/proc/sys/net/ipv4/conf/" + parent + "/arp_ignore")
		ann, _ = os.ReadFile("/proc/sys/net/ipv4/conf/" + parent + "/arp_announce")
		return nil
	})
	if s := strings.TrimSpace(string(ign)); s == "0" {
		h.log.Warn().Str("interface", parent).Str("vmac", name).
			Msg("use_vmac: net.ipv4.conf." + parent + ".arp_ignore is 0: the interface also answers ARP for the VIPs with its own MAC; set it to 1 (as keepalived does)")
	}
	if s := strings.TrimSpace(string(ann)); s == "0" {
		h.log.Warn().Str("interface", parent).Str("vmac", name).
			Msg("use_vmac: net.ipv4.conf." + parent + ".arp_announce is 0: the interface may ask ARP questions with a VIP as the sender, pointing the clients at its own MAC; set it to 2")
	}
}

// closeVMAC deletes the macvlan, and with it the VIPs on it.
func (h *linuxHost) closeVMAC(vm *vmac) error {
	if err := h.nl.LinkDel(vm.link); err != nil && !errors.As(err, new(netlink.LinkNotFoundError)) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting macvlan %s: %w", vm.ifi.Name, err)
	}
	return nil
}
