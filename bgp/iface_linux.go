//go:build linux

package bgp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netlinkHost is addrHost over rtnetlink in the process's namespace.
type netlinkHost struct{}

func newAddrHost() addrHost { return netlinkHost{} }

func (h netlinkHost) prepare(ifname string) (string, bool, error) {
	l, err := netlink.LinkByName(ifname)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		l = &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: ifname}}
		err := netlink.LinkAdd(l)
		if errors.Is(err, unix.EOPNOTSUPP) && ifname != "lo" {
			// A kernel built without dummy interfaces (CONFIG_DUMMY).
			return h.prepare("lo")
		}
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return "", false, fmt.Errorf("bgp: creating dummy interface %s: %w", ifname, err)
		}
		if l, err = netlink.LinkByName(ifname); err != nil {
			return "", false, fmt.Errorf("bgp: interface %s: %w", ifname, err)
		}
	} else if err != nil {
		return "", false, fmt.Errorf("bgp: interface %s: %w", ifname, err)
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(l); err != nil {
			return "", false, fmt.Errorf("bgp: setting %s up: %w", ifname, err)
		}
	}
	return ifname, l.Type() == "dummy", nil
}

func (netlinkHost) addrs(ifname string) ([]netip.Addr, error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("bgp: interface %s: %w", ifname, err)
	}
	list, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("bgp: addresses of %s: %w", ifname, err)
	}
	var out []netip.Addr
	for _, a := range list {
		ones, bits := a.Mask.Size()
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || ones != bits || ip.Unmap().IsLinkLocalUnicast() || ip.Unmap().IsLoopback() {
			continue
		}
		out = append(out, ip.Unmap())
	}
	return out, nil
}

func hostNet(a netip.Addr) *netlink.Addr {
	na := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}
	if a.Is6() {
		// Usable at once: duplicate address detection would hold the
		// address "tentative" for a second and refuse connections to it.
		na.Flags = unix.IFA_F_NODAD
	}
	return na
}

func (netlinkHost) add(ifname string, a netip.Addr) error {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("bgp: interface %s: %w", ifname, err)
	}
	if err := netlink.AddrReplace(l, hostNet(a)); err != nil {
		return fmt.Errorf("bgp: adding %s to %s: %w", a, ifname, err)
	}
	return nil
}

func (netlinkHost) del(ifname string, a netip.Addr) error {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("bgp: interface %s: %w", ifname, err)
	}
	if err := netlink.AddrDel(l, hostNet(a)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("bgp: removing %s from %s: %w", a, ifname, err)
	}
	return nil
}
