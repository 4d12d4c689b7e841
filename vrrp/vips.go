package vrrp

// What an instance does with its VIPs: one phase at a time, each a type of
// its own with the data only it needs, and one timer (vipTimer) that
// belongs to the phase in force. Entering a phase ends the previous one
// (setVIPs). The phases:
//
//	vipsAbsent     not ours (INIT, FAULT, BACKUP)
//	vipsClaimed    ours after a takeover from a live master: added, our
//	               first announcements held while another node still
//	               answers for them (see "Planned failover" in doc.go)
//	vipsAnnounced  ours, announced on keepalived's schedule
//	vipsLeaving    still ours, moving to the new master (switch.go)
//
// The transitions: addVIPs + announce or claim on becoming master,
// leave on stepping down for a live successor, removeVIPs otherwise.
// Announcing is the announcer's business (instanceIO): gratuitous ARP for
// IPv4, unsolicited neighbour advertisements for IPv6.

import (
	"fmt"
	"net/netip"
	"time"
)

// vipPhase is one of vipsAbsent, *vipsClaimed, *vipsAnnounced,
// *vipsLeaving.
type vipPhase interface{ String() string }

type vipsAbsent struct{}

// vipsClaimed: the VIPs are ours since since; the first burst of
// announcements waits until no other node answers for them (probed every
// holderProbeEvery), at most takeoverGARPDelay.
type vipsClaimed struct{ since time.Time }

// vipsAnnounced: ours and announced; next is what vipTimer sends.
type vipsAnnounced struct{ next announceStep }

type announceStep int

const (
	announceDelayed announceStep = iota // the second burst, garp_master_delay after the first
	announceRefresh                     // one every garp_master_refresh
	announceDone                        // nothing scheduled
)

func (vipsAbsent) String() string     { return "absent" }
func (*vipsClaimed) String() string   { return "claimed" }
func (*vipsAnnounced) String() string { return "announced" }

// holdsVIPs reports whether the VIPs are ours: added, or being added.
func (in *instance) holdsVIPs() bool {
	_, absent := in.vips.(vipsAbsent)
	return !absent
}

// setVIPs ends the current phase (its timer, a leaving's quiet wait) and
// enters p. While the VIPs are ours, the announcer watches for other
// nodes announcing them.
func (in *instance) setVIPs(p vipPhase) {
	in.disarm(&in.vipTimer)
	if lv, ok := in.vips.(*vipsLeaving); ok {
		lv.cancel()
	}
	_, wasAbsent := in.vips.(vipsAbsent)
	_, absent := p.(vipsAbsent)
	in.vips = p
	if wasAbsent != absent {
		in.watchClaims()
	}
}

// watchClaims points the announcer's watch at the VIPs while they are
// ours (or at nothing).
func (in *instance) watchClaims() {
	var vips []netip.Prefix
	if in.holdsVIPs() {
		vips = in.cfg.VirtualIPAddresses
	}
	if err := in.io.watchClaims(vips); err != nil && in.every("watch") {
		in.log.Warn().Err(err).Msg("watching for other nodes announcing the VIPs failed")
	}
}

// addVIPs puts the VIPs on the interface; the phase is entered by the
// caller (announce or claim). A failed add is retried every advert
// interval (onAdverTimer).
func (in *instance) addVIPs() {
	if err := in.io.addVIPs(in.cfg.VirtualIPAddresses); err != nil {
		in.vipsOK = false
		in.log.Error().Err(err).Msg("adding VIPs failed; retrying every advert interval")
		return
	}
	in.vipsOK = true
}

// removeVIPs takes the VIPs off the interface, whatever the phase.
func (in *instance) removeVIPs() {
	in.setVIPs(vipsAbsent{})
	in.vipsOK = false
	if err := in.io.delVIPs(in.cfg.VirtualIPAddresses); err != nil {
		in.log.Error().Err(err).Msg("removing VIPs failed")
	}
}

// announce enters vipsAnnounced with keepalived's schedule: a burst of
// garp_master_repeat now, another garp_master_delay later, then one every
// garp_master_refresh.
func (in *instance) announce() {
	a := &vipsAnnounced{next: announceDelayed}
	in.setVIPs(a)
	in.burst(in.cfg.GARPMasterRepeat)
	switch {
	case in.cfg.GARPMasterDelay > 0:
		in.arm(&in.vipTimer, in.cfg.GARPMasterDelay, func() { in.onAnnounceTimer(a) })
	default:
		in.scheduleRefresh(a)
	}
}

func (in *instance) onAnnounceTimer(a *vipsAnnounced) {
	switch a.next {
	case announceDelayed:
		in.burst(in.cfg.GARPMasterRepeat)
	case announceRefresh:
		// keepalived's garp_master_refresh_repeat defaults to 1.
		in.burst(1)
	}
	in.scheduleRefresh(a)
}

// scheduleRefresh arms the next refresh, if the config asks for them (a
// reload may have turned them off).
func (in *instance) scheduleRefresh(a *vipsAnnounced) {
	if in.cfg.GARPMasterRefresh <= 0 {
		a.next = announceDone
		in.disarm(&in.vipTimer)
		return
	}
	a.next = announceRefresh
	in.arm(&in.vipTimer, in.cfg.GARPMasterRefresh, func() { in.onAnnounceTimer(a) })
}

// burst announces every VIP n times at our own MAC.
func (in *instance) burst(n int) {
	for range n {
		if err := in.io.announce(in.cfg.VirtualIPAddresses); err != nil {
			if in.every("garp") {
				in.log.Warn().Err(err).Msg("announcing the VIPs failed")
			}
			return
		}
	}
}

// claim enters vipsClaimed, after a takeover from a live master: the
// first burst waits until no other node answers for the VIPs.
func (in *instance) claim() {
	c := &vipsClaimed{since: in.clk.Now()}
	in.setVIPs(c)
	in.probeRound(c)
}

// probeRound asks who holds the VIPs and reads the answers
// holderProbeEvery later: another round while someone still does and
// takeoverGARPDelay has not passed, our announcements as soon as nobody
// does.
func (in *instance) probeRound(c *vipsClaimed) {
	if err := in.io.probe(in.primary, in.cfg.VirtualIPAddresses); err != nil {
		if in.every("probe") {
			in.log.Warn().Err(err).Msg("ARP probe for the VIPs failed: gratuitous ARPs now")
		}
		in.announce()
		return
	}
	in.arm(&in.vipTimer, holderProbeEvery, func() {
		held, err := in.io.claimed()
		waited := in.clk.Now().Sub(c.since)
		switch {
		case err != nil:
			if in.every("probe") {
				in.log.Warn().Err(err).Msg("reading the answers to the ARP probe failed: gratuitous ARPs now")
			}
		case held && waited < takeoverGARPDelay:
			in.probeRound(c)
			return
		case held:
			in.log.Info().Dur("after", waited).Msg("the previous master still answers for the VIPs: gratuitous ARPs now")
		default:
			in.log.Info().Dur("after", waited).Msg("no other node answers for the VIPs any more: gratuitous ARPs now")
		}
		in.announce()
	})
}

// restoreVIPs puts back VIPs that went missing while we hold them, and
// announces them.
func (in *instance) restoreVIPs(missing []netip.Prefix, why string) {
	in.log.Warn().Str("vips", fmt.Sprint(missing)).Msg(why)
	if err := in.io.addVIPs(missing); err != nil {
		in.log.Error().Err(err).Str("vips", fmt.Sprint(missing)).Msg("restoring VIPs failed")
		in.vipsOK = false
		return
	}
	for range max(in.cfg.GARPMasterRepeat, 1) {
		_ = in.io.announce(missing)
	}
}

func (in *instance) vipAddrs() []netip.Addr {
	out := make([]netip.Addr, len(in.cfg.VirtualIPAddresses))
	for i, p := range in.cfg.VirtualIPAddresses {
		out[i] = p.Addr()
	}
	return out
}
