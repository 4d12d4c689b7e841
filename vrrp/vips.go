package vrrp

// What an instance does with its VIPs: one phase at a time, each a type of
// its own with the data only it needs, and one timer (vipTimer) that
// belongs to the phase in force. Entering a phase ends the previous one
// (setVIPs). The phases:
//
//	vipsAbsent     not ours (INIT, FAULT, BACKUP)
//	vipsPulling    not ours yet, but their clients already come to us and
//	               are passed on to the previous master (pull.go)
//	vipsClaimed    ours after a takeover from a live master: added, our
//	               first announcements held while another node still
//	               answers for them (see "Planned failover" in doc.go)
//	vipsAnnounced  ours, announced on keepalived's schedule
//	vipsContested  ours, but another node announces them too (a split
//	               brain): announced again as soon as it lets go
//	vipsLeaving    still ours, moving to the new master (switch.go)
//
// The transitions: addVIPs + announce or claim on becoming master,
// contest when another node announces them, leave on stepping down for a
// live successor, removeVIPs otherwise.
// Announcing is the announcer's business (instanceIO): gratuitous ARP for
// IPv4, unsolicited neighbour advertisements for IPv6.

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// vipPhase is one of vipsAbsent, *vipsClaimed, *vipsAnnounced,
// *vipsLeaving.
type vipPhase interface{ String() string }

type vipsAbsent struct{}

// vipsClaimed: the VIPs are ours since since, taken over from the live
// master from; the first burst of announcements waits until no other node
// answers for them (probed every holderProbeEvery, every
// firstProbesEvery before switchSettle), at most takeoverGARPDelay.
type vipsClaimed struct {
	since time.Time
	from  netip.Addr // the previous master, when we preempt it (else zero)
	toUs  bool       // it announced the VIPs at our MAC (lbd moving its clients)
}

// vipsContested: the VIPs are ours and announced, but another node
// announced them too since since (see contest).
type vipsContested struct{ since time.Time }

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
func (*vipsContested) String() string { return "contested" }

// holdsVIPs reports whether the VIPs are ours: added, or being added.
func (in *instance) holdsVIPs() bool {
	_, pulling := in.vips.(*vipsPulling)
	return in.vipsActive() && !pulling
}

// vipsActive reports whether the VIPs phase is anything but absent.
func (in *instance) vipsActive() bool {
	_, absent := in.vips.(vipsAbsent)
	return !absent
}

// setVIPs ends the current phase (its timer, a leaving's quiet wait) and
// enters p. While the VIPs are ours, the announcer watches for other
// nodes announcing them.
func (in *instance) setVIPs(p vipPhase) {
	in.disarm(&in.vipTimer)
	switch old := in.vips.(type) {
	case *vipsLeaving:
		old.cancel()
	case *vipsPulling:
		if err := in.io.stopPull(); err != nil {
			in.log.Warn().Err(err).Msg("stopping to pass frames on")
		}
	}
	held := in.holdsVIPs()
	in.vips = p
	if held != in.holdsVIPs() {
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
// first burst waits until no other node answers for the VIPs. preempted
// is that master, when we preempt it: how it lets go tells its kind (a
// master that sent priority 0 may have dropped its VIPs for a fault, lbd
// too).
func (in *instance) claim(preempted netip.Addr) {
	c := &vipsClaimed{since: in.clk.Now(), from: preempted}
	in.setVIPs(c)
	in.probeRound(c)
}

// probeRound asks who holds the VIPs and reads the answers a round
// later: another round while someone still does and takeoverGARPDelay has
// not passed, our announcements as soon as nobody does. The previous
// master's way shows on the way: an lbd moves its clients itself (it
// announces the VIPs at our MAC) before it lets go; one that lets go
// without has dropped the VIPs at once (keepalived, FRR), and will be
// preempted differently next time (pull.go).
func (in *instance) probeRound(c *vipsClaimed) {
	if err := in.io.probe(in.primary, in.cfg.VirtualIPAddresses); err != nil {
		if in.every("probe") {
			in.log.Warn().Err(err).Msg("probing who holds the VIPs failed: announcing them now")
		}
		in.announce()
		return
	}
	every := holderProbeEvery
	if in.clk.Now().Sub(c.since) < switchSettle {
		every = firstProbesEvery
	}
	in.arm(&in.vipTimer, every, func() {
		seen, err := in.io.claimed()
		c.toUs = c.toUs || seen.forUs
		waited := in.clk.Now().Sub(c.since)
		switch {
		case err != nil:
			if in.every("probe") {
				in.log.Warn().Err(err).Msg("reading the answers to the probe failed: announcing the VIPs now")
			}
		case seen.other && waited < takeoverGARPDelay:
			in.probeRound(c)
			return
		case seen.other:
			in.log.Info().Dur("after", waited).Msg("the previous master still answers for the VIPs: announcing them now")
		default:
			in.learnPeer(c.from, !c.toUs)
			in.log.Info().Dur("after", waited).Msg("no other node answers for the VIPs any more: gratuitous ARPs now")
		}
		in.announce()
	})
}

// learnPeer records whether a peer drops its VIPs at once when it loses
// mastership.
func (in *instance) learnPeer(peer netip.Addr, drops bool) {
	if was, known := in.dropsAtOnce[peer]; !peer.IsValid() || peer == in.primary || (known && was == drops) {
		return
	}
	in.dropsAtOnce[peer] = drops
	if drops {
		in.log.Info().Str("peer", peer.String()).Msg("this peer drops the VIPs at once when it loses mastership (as keepalived and FRR do): preempting it, we announce the VIPs before our first advert")
	} else {
		in.log.Info().Str("peer", peer.String()).Msg("this peer moves its clients itself when it loses mastership (as lbd does)")
	}
}

// checkContest runs on the Adver_Timer while master. Another node
// announcing our VIPs is master too: the adverts between the two do not
// pass (a split brain). The clients follow whichever announced last, and
// when the adverts pass again the one that loses the election lets go of
// the VIPs, keepalived without telling the clients: they would keep
// sending to a node that no longer answers, until their neighbour entry
// expires. So we watch for the other node to let go, and announce again.
func (in *instance) checkContest() {
	if _, ok := in.vips.(*vipsAnnounced); !ok {
		return
	}
	seen, err := in.io.claimed()
	if err != nil || !seen.other {
		return
	}
	in.log.Warn().Msg("another node announces our VIPs: it is master too (a split brain?); announcing them again as soon as it lets go")
	c := &vipsContested{since: in.clk.Now()}
	in.setVIPs(c)
	in.contestRound(c)
}

// contestRound probes who holds the VIPs every contestProbeEvery until
// nobody else does, then announces them again (announce).
func (in *instance) contestRound(c *vipsContested) {
	if err := in.io.probe(in.primary, in.cfg.VirtualIPAddresses); err != nil {
		if in.every("probe") {
			in.log.Warn().Err(err).Msg("probing who holds the VIPs failed: announcing them now")
		}
		in.announce()
		return
	}
	in.arm(&in.vipTimer, contestProbeEvery, func() {
		if seen, err := in.io.claimed(); err == nil && seen.other {
			in.contestRound(c)
			return
		}
		in.log.Info().Dur("contested_for", in.clk.Now().Sub(c.since)).Msg("no other node answers for the VIPs any more: announcing them again")
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

// VirtualMAC is the virtual router MAC of a VRID (RFC 5798 section 7.3).
func VirtualMAC(vrid int, ipv6 bool) net.HardwareAddr {
	fam := byte(1)
	if ipv6 {
		fam = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, byte(vrid)}
}
