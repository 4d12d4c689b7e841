package vrrp

// The instance's addresses: VIPs held, the advert source, address events,
// and reloads applied in place.

import (
	"fmt"
	"net/netip"
	"slices"

	"lbd/config"
)

func (in *instance) addVIPs() {
	in.vipsHeld = true
	if err := in.io.addVIPs(in.cfg.VirtualIPAddresses); err != nil {
		in.vipsOK = false
		in.log.Error().Err(err).Msg("adding VIPs failed; retrying every advert interval")
		return
	}
	in.vipsOK = true
}

func (in *instance) removeVIPs() {
	in.vipsHeld, in.vipsOK = false, false
	in.cancelSwitch()
	in.disarm(&in.garpFirst)
	in.stopProbe()
	in.disarm(&in.garpDelay)
	in.disarm(&in.garpRefresh)
	if err := in.io.delVIPs(in.cfg.VirtualIPAddresses); err != nil {
		in.log.Error().Err(err).Msg("removing VIPs failed")
	}
}

// refreshPrimary picks the source address of our adverts: unicast_src when
// set, else the interface's first primary IPv4 address that is not one of
// our VIPs (keepalived uses the interface's primary address too).
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
	defer in.mu.Unlock()
	if in.stopped {
		return
	}
	had := in.primary.IsValid()
	in.refreshPrimary()
	if !ev.added && in.vipsHeld && in.isVIP(ev.addr.Addr()) {
		for _, p := range in.cfg.VirtualIPAddresses {
			if p.Addr() != ev.addr.Addr() {
				continue
			}
			in.log.Warn().Str("vip", p.String()).Msg("VIP deleted by someone else while we hold it: restoring")
			if err := in.io.addVIPs([]netip.Prefix{p}); err != nil {
				in.log.Error().Err(err).Str("vip", p.String()).Msg("restoring VIP failed")
				in.vipsOK = false
				break
			}
			for range in.cfg.GARPMasterRepeat {
				_ = in.io.garp([]netip.Prefix{p})
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
	defer in.mu.Unlock()
	if in.stopped || in.io == nil {
		return
	}
	had := in.primary.IsValid()
	in.refreshPrimary()
	if in.vipsHeld {
		addrs, err := in.io.addrs()
		if err == nil {
			var missing []netip.Prefix
			for _, p := range in.cfg.VirtualIPAddresses {
				if !slices.ContainsFunc(addrs, func(a ifAddr) bool { return a.prefix.Addr() == p.Addr() }) {
					missing = append(missing, p)
				}
			}
			if len(missing) > 0 {
				in.log.Warn().Str("vips", fmt.Sprint(missing)).Msg("VIPs missing after netlink resync: restoring")
				if err := in.io.addVIPs(missing); err != nil {
					in.vipsOK = false
				} else {
					_ = in.io.garp(missing)
				}
			}
		}
	}
	if had != in.primary.IsValid() {
		in.refresh("address change")
	}
}

// reconfigure applies a reload to a running instance without a state
// change of its own: VIPs held are updated in place, timers follow a new
// advert interval, and the trackers are re-read.
func (in *instance) reconfigure(cfg *config.VRRPInstance, scripts []*config.VRRPScript) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopped {
		return
	}
	old := in.cfg
	in.setConfig(cfg, scripts)
	in.io.setPeers(cfg.UnicastPeers)
	if in.vipsHeld {
		var add, del []netip.Prefix
		for _, p := range cfg.VirtualIPAddresses {
			if !slices.Contains(old.VirtualIPAddresses, p) {
				add = append(add, p)
			}
		}
		for _, p := range old.VirtualIPAddresses {
			if !slices.Contains(cfg.VirtualIPAddresses, p) {
				del = append(del, p)
			}
		}
		if len(del) > 0 {
			if err := in.io.delVIPs(del); err != nil {
				in.log.Error().Err(err).Msg("removing VIPs dropped from the config failed")
			}
		}
		if len(add) > 0 {
			if err := in.io.addVIPs(add); err != nil {
				in.vipsOK = false
				in.log.Error().Err(err).Msg("adding VIPs new in the config failed")
			} else {
				_ = in.io.garp(add)
			}
		}
	}
	in.refreshPrimary()
	oldPrio := in.effPrio
	in.refresh("reload")
	switch {
	case in.state == StateMaster && in.handover == nil:
		if old.AdvertInt != cfg.AdvertInt || oldPrio != in.effPrio {
			in.sendAdvert(in.effPrio)
			in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
		}
		// A new garp_master_refresh runs from now; while the delayed
		// bursts are still pending, they start it.
		if old.GARPMasterRefresh != cfg.GARPMasterRefresh && in.vipsHeld && in.garpDelay.t == nil && in.garpFirst.t == nil {
			in.armGARPRefresh()
		}
	case in.state == StateBackup:
		// The down timer follows a new advert interval, but only ever
		// sooner: one already cut short (Skew_Time after a priority-0
		// advert) keeps its moment and how it ends.
		if mdi := in.masterDownInterval(); old.AdvertInt != cfg.AdvertInt && !in.down.at.IsZero() {
			if left := in.down.at.Sub(in.clk.Now()); left > mdi {
				live := in.downLive
				in.armDown(mdi, in.downReason)
				in.downLive = live
			}
		}
	}
}

// ifindex is the index of the interface the instance's sockets are on.
func (in *instance) ifindex() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.io == nil {
		return 0
	}
	return in.io.ifindex()
}

// setIO swaps the instance's sockets (interface re-created).
func (in *instance) setIO(io instanceIO) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.io = io
	in.refreshPrimary()
}

// trackersChanged is called when a tracked source may have changed.
func (in *instance) trackersChanged(why string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.refresh(why)
}
