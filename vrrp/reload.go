package vrrp

// Reloads applied to a running instance in place.

import (
	"net/netip"
	"slices"

	"lbd/config"
)

// reconfigure applies a reload to a running instance without a state
// change of its own: VIPs held are updated in place, timers follow a new
// advert interval, and the trackers are re-read.
func (in *instance) reconfigure(cfg *config.VRRPInstance, scripts []*config.VRRPScript) {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped {
		return
	}
	old := in.cfg
	in.setConfig(cfg, scripts)
	if in.holdsVIPs() {
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
				_ = in.io.announce(add)
			}
		}
	}
	if in.holdsVIPs() && !slices.Equal(old.VirtualIPAddresses, cfg.VirtualIPAddresses) {
		in.watchClaims()
	}
	in.refreshPrimary()
	oldPrio := in.effPrio
	in.refresh("reload")
	switch {
	case in.state == StateMaster && !in.handingOver():
		if old.AdvertInt != cfg.AdvertInt || oldPrio != in.effPrio {
			in.sendAdvert(in.effPrio)
			in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
		}
		// A new garp_master_refresh runs from now; while the delayed
		// burst is still pending, it starts it.
		if a, ok := in.vips.(*vipsAnnounced); ok && a.next != announceDelayed && old.GARPMasterRefresh != cfg.GARPMasterRefresh {
			in.scheduleRefresh(a)
		}
	case in.state == StateBackup:
		// The down timer follows a new advert interval, but only ever
		// sooner: one already cut short (Skew_Time after a priority-0
		// advert) keeps its moment and how it ends.
		if mdi := in.masterDownInterval(); old.AdvertInt != cfg.AdvertInt && !in.down.at.IsZero() {
			if left := in.down.at.Sub(in.clk.Now()); left > mdi {
				in.armDown(mdi, in.down.kind, in.down.why)
			}
		}
	}
}
