//go:build linux

package vrrp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"

	"lbd/config"
)

// RemoveLeftovers deletes from this node's interfaces the VIPs of every
// vrrp_instance of cfg, and returns those it found. It is what a crashed
// lbd leaves behind: a node that keeps a VIP keeps answering ARP (or ND)
// for it while the new master has it too, so clients that ask it lose
// their connections. systemd runs it after lbd stops, however it stopped
// (`lbd --cleanup` in ExecStopPost), so the VIP leaves with the process,
// not with its restart; keepalived leaves them until it starts again.
// An instance's interface that does not exist is skipped, and so is an
// address owner's (priority 255): its VIPs are the node's own addresses.
func RemoveLeftovers(cfg *config.Config) ([]netip.Prefix, error) {
	var removed []netip.Prefix
	var errs []error
	for _, ic := range cfg.VRRPInstances {
		if ic.Priority == 255 {
			continue
		}
		link, err := netlink.LinkByName(ic.Interface)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if !errors.As(err, &nf) {
				errs = append(errs, fmt.Errorf("%s: %w", ic.Interface, err))
			}
			continue
		}
		for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
			addrs, err := netlink.AddrList(link, fam)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ic.Interface, err))
				continue
			}
			for _, a := range addrs {
				ip, ok := netip.AddrFromSlice(a.IP)
				if !ok {
					continue
				}
				ip = ip.Unmap()
				for _, vip := range ic.VirtualIPAddresses {
					if vip.Addr() != ip {
						continue
					}
					if err := netlink.AddrDel(link, &a); err != nil {
						errs = append(errs, fmt.Errorf("%s: deleting %s: %w", ic.Interface, vip, err))
					} else {
						removed = append(removed, vip)
					}
				}
			}
		}
	}
	return removed, errors.Join(errs...)
}
