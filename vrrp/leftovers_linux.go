//go:build linux

package vrrp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lbd/config"
)

// RemoveLeftovers deletes from this node's interfaces the VIPs of every
// vrrp_instance of cfg, and the macvlans of those with use_vmac, and
// returns the VIPs it found. It is what a crashed lbd leaves behind: a
// node that keeps a VIP keeps answering ARP (or ND) for it while the new
// master has it too, so clients that ask it lose their connections.
// systemd runs it after lbd stops, however it stopped (`lbd --cleanup` in
// ExecStopPost), so the VIP leaves with the process, not with its restart;
// keepalived leaves them until it starts again. An instance's interface
// that does not exist is skipped, and so is an address owner's (priority
// 255): its VIPs are the node's own addresses.
func RemoveLeftovers(cfg *config.Config) ([]netip.Prefix, error) {
	var removed []netip.Prefix
	var errs []error
	for _, ic := range cfg.VRRPInstances {
		if ic.Priority == PriorityOwner {
			continue
		}
		if ic.VMACInterface != "" {
			r, err := removeVMAC(ic)
			removed = append(removed, r...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		link, err := netlink.LinkByName(ic.Interface)
		if err != nil {
			if !errors.As(err, new(netlink.LinkNotFoundError)) {
				errs = append(errs, fmt.Errorf("%s: %w", ic.Interface, err))
			}
			continue
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ic.Interface, err))
			continue
		}
		for _, a := range addrs {
			if vip, ok := vipOf(ic, a); ok {
				if err := netlink.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
					errs = append(errs, fmt.Errorf("%s: deleting %s: %w", ic.Interface, vip, err))
				} else {
					removed = append(removed, vip)
				}
			}
		}
	}
	return removed, errors.Join(errs...)
}

// removeVMAC deletes an instance's macvlan, and with it the VIPs on it.
// Anything else of that name is left alone.
func removeVMAC(ic *config.VRRPInstance) ([]netip.Prefix, error) {
	l, err := netlink.LinkByName(ic.VMACInterface)
	if err != nil {
		if errors.As(err, new(netlink.LinkNotFoundError)) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", ic.VMACInterface, err)
	}
	if _, ok := l.(*netlink.Macvlan); !ok {
		return nil, fmt.Errorf("%s is not a macvlan: left alone", ic.VMACInterface)
	}
	var removed []netip.Prefix
	if addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL); err == nil {
		for _, a := range addrs {
			if vip, ok := vipOf(ic, a); ok {
				removed = append(removed, vip)
			}
		}
	}
	if err := netlink.LinkDel(l); err != nil {
		return nil, fmt.Errorf("deleting macvlan %s: %w", ic.VMACInterface, err)
	}
	return removed, nil
}

// vipOf reports whether a is one of the instance's VIPs.
func vipOf(ic *config.VRRPInstance, a netlink.Addr) (netip.Prefix, bool) {
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	for _, vip := range ic.VirtualIPAddresses {
		if vip.Addr() == ip.Unmap() {
			return vip, true
		}
	}
	return netip.Prefix{}, false
}
