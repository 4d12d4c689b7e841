package vrrp

// The interface's addresses as an instance sees them: the advert source,
// and address events (a VIP someone else deletes is put back).

import (
	"net/netip"
	"slices"
)

// refreshPrimary picks the source address of our adverts: unicast_src when
// set, else the interface's first primary IPv4 address that is not one of
// our VIPs (keepalived uses the interface's primary address too), or for
// IPv6 its link-local address (RFC 5798 section 5.1.2.1).
func (in *instance) refreshPrimary() {
	if in.cfg.UnicastSrc.IsValid() {
		in.primary = in.cfg.UnicastSrc
		return
	}
	addrs, err := in.io.addrs()
	if err != nil {
		in.log.Warn().Err(err).Msg("listing interface addresses failed")
		return
	}
	var first, primary netip.Addr
	for _, a := range addrs {
		if in.isVIP(a.prefix.Addr()) {
			continue
		}
		if in.cfg.IPv6() && !a.prefix.Addr().IsLinkLocalUnicast() {
			continue
		}
		if !first.IsValid() {
			first = a.prefix.Addr()
		}
		if !a.secondary && !primary.IsValid() {
			primary = a.prefix.Addr()
		}
	}
	if !primary.IsValid() {
		primary = first
	}
	if primary != in.primary {
		in.log.Info().Str("address", addrString(primary)).Msg("advert source address")
	}
	in.primary = primary
}

func (in *instance) isVIP(a netip.Addr) bool {
	return slices.ContainsFunc(in.cfg.VirtualIPAddresses, func(p netip.Prefix) bool { return p.Addr() == a })
}

// onAddrEvent follows the interface's addresses: the primary may change,
// and a VIP that someone else deletes while we hold it is put back.
func (in *instance) onAddrEvent(ev addrEvent) {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped {
		return
	}
	had := in.primary.IsValid()
	in.refreshPrimary()
	if !ev.added && in.holdsVIPs() && in.isVIP(ev.addr.Addr()) {
		for _, p := range in.cfg.VirtualIPAddresses {
			if p.Addr() == ev.addr.Addr() {
				in.restoreVIPs([]netip.Prefix{p}, "VIP deleted by someone else while we hold it: restoring")
			}
		}
	}
	if had != in.primary.IsValid() {
		in.refresh("address change")
	}
}

// resync re-reads the interface's addresses after netlink events may have
// been lost, restoring held VIPs that went missing.
func (in *instance) resync() {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped || in.io == nil {
		return
	}
	had := in.primary.IsValid()
	in.refreshPrimary()
	if in.holdsVIPs() {
		if addrs, err := in.io.addrs(); err == nil {
			var missing []netip.Prefix
			for _, p := range in.cfg.VirtualIPAddresses {
				if !slices.ContainsFunc(addrs, func(a ifAddr) bool { return a.prefix.Addr() == p.Addr() }) {
					missing = append(missing, p)
				}
			}
			if len(missing) > 0 {
				in.restoreVIPs(missing, "VIPs missing after netlink resync: restoring")
			}
		}
	}
	if had != in.primary.IsValid() {
		in.refresh("address change")
	}
}

// ifindex is the index of the interface the instance's sockets are on.
func (in *instance) ifindex() int {
	in.mu.Lock()
	defer in.unlock()
	if in.io == nil {
		return 0
	}
	return in.io.ifindex()
}

// vipIfindex is the index of the interface the VIPs are on.
func (in *instance) vipIfindex() int {
	in.mu.Lock()
	defer in.unlock()
	if in.io == nil {
		return 0
	}
	return in.io.vipIfindex()
}

// setIO swaps the instance's sockets (interface re-created).
func (in *instance) setIO(io instanceIO) {
	in.mu.Lock()
	defer in.unlock()
	in.io = io
	in.refreshPrimary()
}

// trackersChanged is called when a tracked source may have changed.
func (in *instance) trackersChanged(why string) {
	in.mu.Lock()
	defer in.unlock()
	in.refresh(why)
}
