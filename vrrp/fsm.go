package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"lbd/config"
)

// This file is the state machine of RFC 3768 section 6.4, with
// keepalived's additions (FAULT, tracking, preempt_delay) and lbd's
// planned handover. Every method here runs with in.mu held.

// start is Initialize (RFC 3768 section 6.4.1), entered once the sockets
// are open: the instance leaves INIT when every tracked script has given
// its first result, as keepalived does.
func (in *instance) start() {
	in.mu.Lock()
	defer in.unlock()
	in.started = true
	// VIPs left on the interface by a crashed predecessor are not ours
	// until we are master; keepalived removes them at start too.
	if addrs, err := in.io.addrs(); err == nil {
		var stale []netip.Prefix
		for _, p := range in.cfg.VirtualIPAddresses {
			if slices.ContainsFunc(addrs, func(a ifAddr) bool { return a.prefix.Addr() == p.Addr() }) {
				stale = append(stale, p)
			}
		}
		if len(stale) > 0 {
			in.log.Warn().Str("vips", fmt.Sprint(stale)).Msg("removing VIPs left on the interface before start")
			if err := in.io.delVIPs(stale); err != nil {
				in.log.Error().Err(err).Msg("removing stale VIPs failed")
			}
		}
	}
	in.refreshPrimary()
	in.refresh("startup")
}

// refresh re-reads the trackers, recomputes the effective priority and
// moves between INIT, FAULT and the protocol states accordingly.
func (in *instance) refresh(why string) {
	if in.stopped || !in.started {
		return
	}
	for _, t := range in.trackers {
		t.read(in.src)
	}
	ev := evaluate(in.cfg.Priority, in.trackers, in.unweighted())
	if !in.primary.IsValid() && ev.fault == "" {
		ev.fault = "no " + in.noSourceWhat()
	}
	in.ownFault = ev.fault
	if gf := in.syncFault(ev.fault); ev.fault == "" {
		// Another member of the sync group is in FAULT of its own.
		ev.fault = gf
	}
	if in.effPrio != 0 && ev.priority != in.effPrio {
		in.log.Info().Int("from", in.effPrio).Int("to", ev.priority).Str("why", why).Msg("effective priority changed")
	}
	oldSkew := in.skew()
	in.effPrio = ev.priority
	in.reskew(oldSkew)
	switch in.state {
	case StateInit:
		if ev.waiting != "" {
			in.reason = "waiting for the first result of " + ev.waiting
			return
		}
		if ev.fault != "" {
			in.enterFault(ev.fault)
			return
		}
		in.initialize(why)
	case StateFault:
		if ev.fault == "" {
			in.initialize("fault cleared")
		}
	case StateBackup, StateMaster:
		if ev.fault != "" {
			in.enterFault(ev.fault)
		}
	}
}

// reskew moves a backup's running Master_Down_Timer by the change of
// Skew_Time a new priority brings (a reload or a tracker): the timer,
// whether a whole Master_Down_Interval or the Skew_Time after a priority-0
// advert, then ends when it would have with that priority from the start,
// instead of keeping the old priority's skew until the next advert (RFC
// 5798 section 6.1: Skew_Time is computed from the priority).
func (in *instance) reskew(oldSkew time.Duration) {
	delta := in.skew() - oldSkew
	if in.state != StateBackup || in.down.at.IsZero() || delta == 0 {
		return
	}
	left := max(in.down.at.Sub(in.clk.Now())+delta, 0)
	in.log.Debug().Dur("skew_change", delta).Dur("left", left).Msg("master down timer follows the new priority's skew")
	in.armDown(left, in.down.kind, in.down.why)
}

// initialize is the Startup event of RFC 3768 section 6.4.1: the address
// owner becomes master at once, anyone else backup. A released owner stays
// backup.
func (in *instance) initialize(reason string) {
	in.masterAdvInt = in.advertInt()
	if in.cfg.Priority == PriorityOwner && in.standing != released {
		in.becomeMaster(reason+": address owner (priority 255)", afterSilence)
		return
	}
	in.becomeBackup(reason)
}

// armDown sets the Master_Down_Timer: its expiry will be a takeover of
// the given kind, logged with why.
func (in *instance) armDown(d time.Duration, kind takeoverKind, why string) {
	in.down.kind, in.down.why = kind, why
	in.arm(&in.down.timerSlot, d, in.onMasterDown)
}

// becomeBackup enters Backup (RFC 3768 sections 6.4.1 and 6.4.3): cancel
// the Adver_Timer, set the Master_Down_Timer, and - lbd being the node that
// owns the addresses while master - remove the VIPs.
func (in *instance) becomeBackup(reason string) { in.toBackup(reason, netip.Addr{}) }

// toBackup is becomeBackup for a master that steps down because
// successor announced itself master: the VIPs stay, and keep being
// served, until they move to it at a quiet moment (leave).
func (in *instance) toBackup(reason string, successor netip.Addr) {
	if in.state == StateMaster {
		in.ctr.leftMaster++
		if in.master == in.primary {
			in.master = netip.Addr{}
		}
	}
	in.disarm(&in.adver)
	switch {
	case in.holdsVIPs() && successor.IsValid():
		in.leave(successor, nil)
	case in.vipsActive():
		in.removeVIPs()
	}
	in.preemptSince = time.Time{}
	in.armDown(in.masterDownInterval(), afterSilence, fmt.Sprintf("no advert from the master within the master down interval (%s)", in.masterDownInterval()))
	in.setState(StateBackup, reason)
}

// onMasterDown is the Master_Down_Timer firing in Backup (RFC 3768
// section 6.4.2).
func (in *instance) onMasterDown() {
	if in.state != StateBackup {
		return
	}
	if in.standing == released {
		if in.every("released-down") {
			in.log.Warn().Str("why", in.down.why).Msg("no master on the link, but this instance is released: staying BACKUP until lbctl vip reclaim")
		}
		in.master = netip.Addr{}
		in.armDown(in.masterDownInterval(), afterSilence, "no advert from the master within the master down interval")
		return
	}
	if ok, holding := in.mayBecomeMaster(); !ok {
		// keepalived: "only sync to master if everyone wants to", and
		// check again a master down interval later. The member that
		// wants it last takes the others with it (syncState).
		if in.every("sync-wait") {
			in.log.Info().Str("why", in.down.why).Str("waiting_for", holding).
				Msg("sync group: would become MASTER, waiting until every member of the group would")
		}
		in.armDown(in.masterDownInterval(), in.down.kind, in.down.why)
		return
	}
	in.becomeMaster(in.down.why, in.down.kind)
}

// becomeMaster is RFC 3768 section 6.4.2, "If the Master_Down_Timer
// fires": send an advert, broadcast gratuitous ARPs, reset the Adver_Timer,
// transition to Master. As keepalived, the advert goes out before the VIPs
// are added, so that a lower-priority master still holding them steps down
// before our ARPs.
//
// A takeover from a live master (it sent priority 0, or we preempt it)
// adds the VIPs first, since that master may point its clients at us as
// soon as it hears our advert, and claims them: the first gratuitous ARPs
// wait while it still answers for the VIPs; it moves its clients itself
// when it has nothing in flight. A master known to drop its VIPs at once
// (keepalived, FRR) cannot: one that sent priority 0 has dropped them
// already (we announce at once), one we preempt would drop them on our
// first advert, before our announcements, so we announce first and
// advertise dropperGrace later, when what it had in flight is done.
func (in *instance) becomeMaster(reason string, kind takeoverKind) {
	in.disarm(&in.down.timerSlot)
	in.masterAdvInt = in.advertInt()
	// With use_vmac the clients know no MAC but the virtual one: there is
	// nothing to announce first, the switches follow our first frame.
	dropper := in.master.IsValid() && in.dropsAtOnce[in.master] && in.cfg.VMACInterface == ""
	firstAdvert := in.advertInt()
	switch {
	case kind == preempting && dropper && in.startPull(reason):
		return // still BACKUP: endPull makes us master, once nothing is in flight
	case kind == preempting && dropper:
		in.addVIPs()
		in.announce()
		firstAdvert = dropperGrace
		in.log.Info().Str("master", in.master.String()).Dur("advert_in", dropperGrace).
			Msg("the master we preempt drops its VIPs at once: announced them first")
	case kind == afterSilence, dropper:
		in.sendAdvert(in.effPrio)
		in.addVIPs()
		in.announce()
	default:
		var preempted netip.Addr
		if kind == preempting {
			preempted = in.master
		}
		in.addVIPs()
		in.sendAdvert(in.effPrio)
		in.claim(preempted)
	}
	in.arm(&in.adver, firstAdvert, in.onAdverTimer)
	in.master, in.masterPrio = in.primary, in.effPrio
	in.ctr.becameMaster++
	in.setState(StateMaster, reason)
}

// onAdverTimer is RFC 3768 section 6.4.3, "If the Adver_Timer fires":
// send an advert and reset the timer. VIPs that failed to be added are
// retried here, and the VIPs checked for another node announcing them.
func (in *instance) onAdverTimer() {
	in.sendAdvert(in.effPrio)
	in.checkContest()
	if !in.vipsOK {
		in.addVIPs()
		if in.vipsOK {
			in.burst(in.cfg.GARPMasterRepeat)
		}
	}
	in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
}

// enterFault leaves the protocol: a master sends priority 0 first, as
// keepalived does, so that the backup takes over after Skew_Time.
func (in *instance) enterFault(reason string) {
	h := in.endHandover()
	if h != nil {
		h.err = fmt.Errorf("entered FAULT during the handover: %s", reason)
	}
	if in.state == StateMaster {
		in.sendAdvert(PriorityStop)
		in.ctr.leftMaster++
	}
	in.disarm(&in.adver)
	in.disarm(&in.down.timerSlot)
	if in.vipsActive() {
		in.removeVIPs()
	}
	in.master = netip.Addr{}
	in.setState(StateFault, reason)
	if h != nil {
		close(h.done)
	}
}

// onAdvert handles a valid advert, sent from src at the link-layer
// address mac (nil when unknown).
func (in *instance) onAdvert(src netip.Addr, mac net.HardwareAddr, a *Advert) {
	in.heardMAC = mac
	if in.handingOver() {
		in.departureAdvert(src, int(a.Priority))
		return
	}
	switch in.state {
	case StateBackup:
		in.backupAdvert(src, a)
	case StateMaster:
		in.masterAdvert(src, a)
	}
	// INIT and FAULT take no part (RFC 3768 section 6.4.1).
}

// backupAdvert is RFC 3768 section 6.4.2 / RFC 5798 section 6.4.2, "If
// an ADVERTISEMENT is received", with keepalived's preempt_delay.
func (in *instance) backupAdvert(src netip.Addr, a *Advert) {
	prio := int(a.Priority)
	if _, pulling := in.vips.(*vipsPulling); pulling {
		if prio != PriorityStop && prio < in.effPrio {
			// The master we pull the clients from carries on until our
			// first advert (endPull).
			return
		}
		in.log.Info().Str("from", src.String()).Int("their_priority", prio).Msg("pulling the clients stopped by an advert")
		in.removeVIPs()
	}
	if prio == PriorityStop {
		// "If the Priority in the ADVERTISEMENT is zero, then: Set the
		// Master_Down_Timer to Skew_Time."
		in.armDown(in.skew(), fromLiveMaster, fmt.Sprintf("master %s left (priority 0)", src))
		return
	}
	lower := prio < in.effPrio
	if !in.preempts() || !lower || in.delayPreempt() {
		// "If Preempt_Mode is False, or if the Priority in the
		// ADVERTISEMENT is greater than or equal to the local Priority,
		// then: [Set Master_Adver_Interval to Adver Interval contained in
		// the ADVERTISEMENT, Recompute the Master_Down_Interval,] Reset
		// the Master_Down_Timer to Master_Down_Interval."
		in.learnInterval(a)
		if src != in.master {
			in.log.Info().Str("master", src.String()).Int("master_priority", prio).Msg("master seen")
		}
		in.setMaster(src, prio)
		in.noLongerWants()
		if in.cfg.PreemptDelay > 0 {
			switch {
			case !lower:
				in.preemptSince = time.Time{}
			case in.preemptSince.IsZero():
				in.preemptSince = in.clk.Now()
				in.log.Info().Str("master", src.String()).Dur("preempt_delay", in.cfg.PreemptDelay).Msg("lower-priority master: preempting after preempt_delay")
			}
		}
		mdi := in.masterDownInterval()
		in.armDown(mdi, afterSilence, fmt.Sprintf("no advert from master %s for the master down interval (%s)", src, mdi))
		return
	}
	// "Otherwise: Discard the ADVERTISEMENT." The Master_Down_Timer keeps
	// running down and we take over when it fires.
	if in.every("preempt") {
		in.log.Info().Str("master", src.String()).Int("master_priority", prio).Int("priority", in.effPrio).Msg("lower-priority master: preempting")
	}
	in.setMaster(src, prio)
	in.down.kind, in.down.why = preempting, fmt.Sprintf("preempted master %s (priority %d, ours %d)", src, prio, in.effPrio)
}

// delayPreempt is keepalived's preempt_delay: a backup accepts a
// lower-priority master's adverts until preempt_delay has passed since it
// first saw one.
func (in *instance) delayPreempt() bool {
	if in.cfg.PreemptDelay == 0 || in.cfg.State == "MASTER" {
		return false
	}
	// From the first sighting, so that a reload changing preempt_delay
	// applies to a count already running.
	return in.preemptSince.IsZero() || in.clk.Now().Before(in.preemptSince.Add(in.cfg.PreemptDelay))
}

// masterAdvert is RFC 3768 section 6.4.3 / RFC 5798 section 6.4.3, "If
// an ADVERTISEMENT is received".
func (in *instance) masterAdvert(src netip.Addr, a *Advert) {
	prio := int(a.Priority)
	if prio == PriorityStop {
		// "If the Priority in the ADVERTISEMENT is zero, then: Send an
		// ADVERTISEMENT, Reset the Adver_Timer."
		in.sendAdvert(in.effPrio)
		in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
		return
	}
	higherAddr := prio == in.effPrio && src.Compare(in.primary) > 0
	if prio > in.effPrio || higherAddr {
		// "If the Priority in the ADVERTISEMENT is greater than the local
		// Priority, or the Priority is equal and the primary IP Address of
		// the sender is greater than the local primary IP Address, then:
		// Cancel Adver_Timer, Set Master_Down_Timer to
		// Master_Down_Interval, Transition to the Backup state."
		why := fmt.Sprintf("higher-priority advert from %s (priority %d, ours %d)", src, prio, in.effPrio)
		if higherAddr {
			why = fmt.Sprintf("equal-priority advert from higher address %s (priority %d)", src, prio)
		}
		in.setMaster(src, prio)
		in.learnInterval(a)
		in.toBackup(why, src)
		return
	}
	// "Otherwise: Discard ADVERTISEMENT." As keepalived, we answer at
	// once so that the other master steps down now, and refresh the ARP
	// caches it may have taken.
	if in.every("lower") {
		in.log.Warn().Str("from", src.String()).Int("their_priority", prio).Int("priority", in.effPrio).
			Msg("another master with lower priority: answering with an advert and gratuitous ARPs")
	}
	in.sendAdvert(in.effPrio)
	in.burst(in.cfg.GARPMasterRepeat)
}

func (in *instance) setState(s State, reason string) {
	prev := in.state
	in.state, in.reason, in.since = s, reason, in.clk.Now()
	if prev == s {
		return
	}
	in.ctr.transitions++
	in.log.Info().Str("from", prev.String()).Str("to", s.String()).Str("reason", reason).
		Int("priority", in.effPrio).Msg("VRRP state transition")
	in.runNotify(s.String())
	in.syncState(prev)
}

// runNotify starts keepalived's notify scripts for a new state: the
// state's own script without arguments, and the generic one with
// "INSTANCE name STATE priority".
func (in *instance) runNotify(state string) {
	var specific string
	switch state {
	case "MASTER":
		specific = in.cfg.NotifyMaster
	case "BACKUP":
		specific = in.cfg.NotifyBackup
	case "FAULT":
		specific = in.cfg.NotifyFault
	}
	for i, line := range []string{specific, in.cfg.Notify} {
		if line == "" {
			continue
		}
		args, err := config.SplitCommand(line)
		if err != nil || len(args) == 0 {
			continue // rejected by config validation
		}
		if i == 1 { // notify, not notify_<state>: keepalived's arguments
			args = append(args, "INSTANCE", in.name, state, strconv.Itoa(in.effPrio))
		}
		in.notify(args)
	}
}

// setMaster records the master of the advert being handled: its address,
// priority and the MAC its adverts come from (the one its clients reach
// it at: its own, or its virtual MAC).
func (in *instance) setMaster(src netip.Addr, prio int) {
	in.master, in.masterPrio, in.masterMAC = src, prio, slices.Clone(in.heardMAC)
}
