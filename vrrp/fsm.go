package vrrp

import (
	"fmt"
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
	defer in.mu.Unlock()
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
	ev := evaluate(in.cfg.Priority, in.trackers)
	if !in.primary.IsValid() && ev.fault == "" {
		ev.fault = "no IPv4 address on " + in.cfg.Interface
	}
	if in.effPrio != 0 && ev.priority != in.effPrio {
		in.log.Info().Int("from", in.effPrio).Int("to", ev.priority).Str("why", why).Msg("effective priority changed")
	}
	in.effPrio = ev.priority
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

// initialize is the Startup event of RFC 3768 section 6.4.1: the address
// owner becomes master at once, anyone else backup. A released owner stays
// backup.
func (in *instance) initialize(reason string) {
	if in.cfg.Priority == PriorityOwner && !in.released {
		in.becomeMaster(reason + ": address owner (priority 255)")
		return
	}
	in.becomeBackup(reason)
}

// armDown sets the Master_Down_Timer; why is the reason logged if it
// fires.
func (in *instance) armDown(d time.Duration, why string) {
	in.downReason = why
	in.arm(&in.down, d, in.onMasterDown)
}

// becomeBackup enters Backup (RFC 3768 sections 6.4.1 and 6.4.3): cancel
// the Adver_Timer, set the Master_Down_Timer, and - lbd being the node that
// owns the addresses while master - remove the VIPs.
func (in *instance) becomeBackup(reason string) { in.toBackup(reason, false) }

// toBackup is becomeBackup; linger keeps the VIPs handoverLinger longer,
// for a master that steps down because a new master announced itself: the
// new master sent that advert before adding the VIPs and sending its
// gratuitous ARPs, and clients keep reaching us until those arrive.
func (in *instance) toBackup(reason string, linger bool) {
	if in.state == StateMaster {
		in.ctr.leftMaster++
		if in.master == in.primary {
			in.master = netip.Addr{}
		}
	}
	in.disarm(&in.adver)
	switch {
	case in.vipsHeld && linger:
		in.disarm(&in.garpDelay)
		in.disarm(&in.garpRefresh)
		in.arm(&in.vipLinger, handoverLinger, func() {
			if in.state != StateMaster && in.vipsHeld {
				in.removeVIPs()
			}
		})
	case in.vipsHeld:
		in.removeVIPs()
	}
	in.preemptAt = time.Time{}
	in.armDown(in.masterDownInterval(), fmt.Sprintf("no advert from the master within the master down interval (%s)", in.masterDownInterval()))
	in.setState(StateBackup, reason)
}

// onMasterDown is the Master_Down_Timer firing in Backup (RFC 3768
// section 6.4.2).
func (in *instance) onMasterDown() {
	if in.state != StateBackup {
		return
	}
	if in.released {
		if in.every("released-down") {
			in.log.Warn().Str("why", in.downReason).Msg("no master on the link, but this instance is released: staying BACKUP until lbctl vip reclaim")
		}
		in.master = netip.Addr{}
		in.armDown(in.masterDownInterval(), "no advert from the master within the master down interval")
		return
	}
	in.becomeMaster(in.downReason)
}

// becomeMaster is RFC 3768 section 6.4.2, "If the Master_Down_Timer
// fires": send an advert, broadcast gratuitous ARPs, reset the Adver_Timer,
// transition to Master. As keepalived, the advert goes out before the VIPs
// are added, so that a lower-priority master still holding them steps down
// before our ARPs.
func (in *instance) becomeMaster(reason string) {
	in.disarm(&in.down)
	in.disarm(&in.vipLinger)
	in.sendAdvert(in.effPrio)
	in.addVIPs()
	in.garpBurst(in.cfg.GARPMasterRepeat)
	switch {
	case in.cfg.GARPMasterDelay > 0:
		in.arm(&in.garpDelay, in.cfg.GARPMasterDelay, in.onGARPDelay)
	case in.cfg.GARPMasterRefresh > 0:
		in.arm(&in.garpRefresh, in.cfg.GARPMasterRefresh, in.onGARPRefresh)
	}
	in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
	in.master, in.masterPrio = in.primary, in.effPrio
	in.ctr.becameMaster++
	in.setState(StateMaster, reason)
}

// onAdverTimer is RFC 3768 section 6.4.3, "If the Adver_Timer fires":
// send an advert and reset the timer. VIPs that failed to be added are
// retried here.
func (in *instance) onAdverTimer() {
	if in.state != StateMaster || in.handover != nil {
		return
	}
	in.sendAdvert(in.effPrio)
	if !in.vipsOK {
		in.addVIPs()
		if in.vipsOK {
			in.garpBurst(in.cfg.GARPMasterRepeat)
		}
	}
	in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
}

// onGARPDelay sends keepalived's second burst of gratuitous ARPs,
// garp_master_delay after becoming master, then starts the refresh.
func (in *instance) onGARPDelay() {
	if in.state != StateMaster || !in.vipsHeld {
		return
	}
	in.garpBurst(in.cfg.GARPMasterRepeat)
	if in.cfg.GARPMasterRefresh > 0 {
		in.arm(&in.garpRefresh, in.cfg.GARPMasterRefresh, in.onGARPRefresh)
	}
}

// onGARPRefresh repeats one gratuitous ARP per VIP every
// garp_master_refresh while master (keepalived's
// garp_master_refresh_repeat defaults to 1).
func (in *instance) onGARPRefresh() {
	if in.state != StateMaster || !in.vipsHeld {
		return
	}
	in.garpBurst(1)
	in.arm(&in.garpRefresh, in.cfg.GARPMasterRefresh, in.onGARPRefresh)
}

func (in *instance) garpBurst(n int) {
	for range n {
		if err := in.io.garp(in.cfg.VirtualIPAddresses); err != nil {
			if in.every("garp") {
				in.log.Warn().Err(err).Msg("gratuitous ARP failed")
			}
			return
		}
	}
}

// enterFault leaves the protocol: a master sends priority 0 first, as
// keepalived does, so that the backup takes over after Skew_Time.
func (in *instance) enterFault(reason string) {
	var h *handover
	if in.handover != nil {
		h = in.endHandover()
		h.err = fmt.Errorf("entered FAULT during the handover: %s", reason)
	}
	if in.state == StateMaster {
		in.sendAdvert(PriorityStop)
		in.ctr.leftMaster++
	}
	in.disarm(&in.adver)
	in.disarm(&in.down)
	if in.vipsHeld {
		in.removeVIPs()
	}
	in.master = netip.Addr{}
	in.setState(StateFault, reason)
	if h != nil {
		close(h.done)
	}
}

// onAdvert handles a valid advert.
func (in *instance) onAdvert(src netip.Addr, a *Advert) {
	prio := int(a.Priority)
	if in.handover != nil {
		in.handoverAdvert(src, prio)
		return
	}
	switch in.state {
	case StateBackup:
		in.backupAdvert(src, prio)
	case StateMaster:
		in.masterAdvert(src, prio)
	}
	// INIT and FAULT take no part (RFC 3768 section 6.4.1).
}

// backupAdvert is RFC 3768 section 6.4.2, "If an ADVERTISEMENT is
// received", with keepalived's preempt_delay.
func (in *instance) backupAdvert(src netip.Addr, prio int) {
	if prio == PriorityStop {
		// "If the Priority in the ADVERTISEMENT is zero, then: Set the
		// Master_Down_Timer to Skew_Time."
		in.armDown(in.skew(), fmt.Sprintf("master %s left (priority 0)", src))
		return
	}
	lower := prio < in.effPrio
	if !in.preempts() || !lower || in.delayPreempt() {
		// "If Preempt_Mode is False, or if the Priority in the
		// ADVERTISEMENT is greater than or equal to the local Priority,
		// then: Reset the Master_Down_Timer to Master_Down_Interval."
		if src != in.master {
			in.log.Info().Str("master", src.String()).Int("master_priority", prio).Msg("master seen")
		}
		in.master, in.masterPrio = src, prio
		if in.cfg.PreemptDelay > 0 {
			switch {
			case !lower:
				in.preemptAt = time.Time{}
			case in.preemptAt.IsZero():
				in.preemptAt = in.clk.Now().Add(in.cfg.PreemptDelay)
				in.log.Info().Str("master", src.String()).Dur("preempt_delay", in.cfg.PreemptDelay).Msg("lower-priority master: preempting after preempt_delay")
			}
		}
		mdi := in.masterDownInterval()
		in.armDown(mdi, fmt.Sprintf("no advert from master %s for the master down interval (%s)", src, mdi))
		return
	}
	// "Otherwise: Discard the ADVERTISEMENT." The Master_Down_Timer keeps
	// running down and we take over when it fires.
	if in.every("preempt") {
		in.log.Info().Str("master", src.String()).Int("master_priority", prio).Int("priority", in.effPrio).Msg("lower-priority master: preempting")
	}
	in.master, in.masterPrio = src, prio
	in.downReason = fmt.Sprintf("preempted master %s (priority %d, ours %d)", src, prio, in.effPrio)
}

// delayPreempt is keepalived's preempt_delay: a backup accepts a
// lower-priority master's adverts until preempt_delay has passed since it
// first saw one.
func (in *instance) delayPreempt() bool {
	if in.cfg.PreemptDelay == 0 || in.cfg.State == "MASTER" {
		return false
	}
	return in.preemptAt.IsZero() || in.clk.Now().Before(in.preemptAt)
}

// masterAdvert is RFC 3768 section 6.4.3, "If an ADVERTISEMENT is
// received".
func (in *instance) masterAdvert(src netip.Addr, prio int) {
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
		in.master, in.masterPrio = src, prio
		in.toBackup(why, true)
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
	in.garpBurst(in.cfg.GARPMasterRepeat)
}

// beginHandover starts a planned departure of a master. RFC 3768 section
// 6.4.3 ("If a Shutdown event is received") sends priority 0 and leaves at
// once, which leaves clients without the VIP until the backup adds it. We
// send priority 0 (repeated every advert interval) but keep the VIPs and
// keep serving until the peer's first advert as master, bounded by the
// master down interval; then remove them (finishHandover).
func (in *instance) beginHandover(final bool) *handover {
	h := &handover{final: final, done: make(chan struct{})}
	in.handover = h
	in.disarm(&in.adver)
	in.sendAdvert(PriorityStop)
	in.arm(&in.hoResend, in.advertInt(), in.onHandoverResend)
	in.arm(&in.hoLimit, in.masterDownInterval(), in.onHandoverLimit)
	in.log.Info().Bool("shutdown", final).Dur("limit", in.masterDownInterval()).Msg("handing over: sent priority 0, keeping the VIPs until a peer is master")
	return h
}

func (in *instance) onHandoverResend() {
	if in.handover == nil || in.handover.peer.IsValid() {
		return
	}
	in.sendAdvert(PriorityStop)
	in.arm(&in.hoResend, in.advertInt(), in.onHandoverResend)
}

func (in *instance) handoverAdvert(src netip.Addr, prio int) {
	h := in.handover
	if prio == PriorityStop || h.peer.IsValid() {
		return
	}
	h.peer = src
	in.master, in.masterPrio = src, prio
	in.disarm(&in.hoResend)
	in.disarm(&in.hoLimit)
	in.arm(&in.hoLinger, handoverLinger, func() {
		in.finishHandover(fmt.Sprintf("handed over to %s (priority %d)", src, prio))
	})
}

// onHandoverLimit ends a handover nobody answered. On shutdown the VIPs
// go anyway; a release is abandoned instead, and the node stays master:
// a planned failover must not leave the VIP nowhere.
func (in *instance) onHandoverLimit() {
	h := in.handover
	if h == nil {
		return
	}
	if h.final {
		in.finishHandover(fmt.Sprintf("no peer announced itself master within %s", in.masterDownInterval()))
		return
	}
	h.err = fmt.Errorf("no peer announced itself master within %s: %s keeps its VIPs and stays MASTER", in.masterDownInterval(), in.name)
	in.log.Warn().Err(h.err).Msg("release abandoned")
	in.endHandover()
	in.sendAdvert(in.effPrio)
	in.garpBurst(in.cfg.GARPMasterRepeat)
	in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
	close(h.done)
}

func (in *instance) finishHandover(reason string) {
	h := in.handover
	if h == nil {
		return
	}
	in.endHandover()
	if h.final {
		in.stopNow(reason, false)
	} else {
		in.released = true
		in.becomeBackup("released: " + reason)
	}
	// Waiters wake once the VIPs are gone.
	close(h.done)
}

// endHandover clears the handover; the caller closes its done channel
// once it has finished what the handover's end implies.
func (in *instance) endHandover() *handover {
	h := in.handover
	in.handover = nil
	in.disarm(&in.hoResend)
	in.disarm(&in.hoLimit)
	in.disarm(&in.hoLinger)
	return h
}

// stopNow takes the instance out for good (shutdown or removal from the
// config). sendStop sends priority 0 from a master that did not hand over.
func (in *instance) stopNow(reason string, sendStop bool) {
	if in.stopped {
		return
	}
	var h *handover
	if in.handover != nil {
		h = in.endHandover()
		h.err = fmt.Errorf("stopped during the handover: %s", reason)
		defer close(h.done)
	}
	if in.state == StateMaster {
		if sendStop {
			in.sendAdvert(PriorityStop)
		}
		in.ctr.leftMaster++
	}
	for _, s := range []*timerSlot{&in.adver, &in.down, &in.garpDelay, &in.garpRefresh} {
		in.disarm(s)
	}
	if in.vipsHeld {
		in.removeVIPs()
	}
	in.master = netip.Addr{}
	in.state, in.reason, in.since = StateInit, "stopped: "+reason, in.clk.Now()
	in.stopped = true
	in.log.Info().Str("reason", reason).Msg("instance stopped")
	in.runNotify("STOP")
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
	for _, line := range []string{specific, in.cfg.Notify} {
		if line == "" {
			continue
		}
		args, err := config.SplitCommand(line)
		if err != nil || len(args) == 0 {
			continue // rejected by config validation
		}
		if line == in.cfg.Notify {
			args = append(args, "INSTANCE", in.name, state, strconv.Itoa(in.effPrio))
		}
		in.notify(args)
	}
}

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
	in.disarm(&in.vipLinger)
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
	case in.state == StateBackup:
		if old.AdvertInt != cfg.AdvertInt {
			in.armDown(in.masterDownInterval(), in.downReason)
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

// release is lbctl vip release: a master hands over and stays BACKUP; any
// other state just stays out of mastership until reclaim. It returns the
// handover to wait for, or nil.
func (in *instance) release() (*handover, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopped {
		return nil, fmt.Errorf("vrrp_instance %q is stopped", in.name)
	}
	if in.handover != nil {
		return in.handover, nil
	}
	if in.state != StateMaster {
		if !in.released {
			in.released = true
			in.log.Info().Str("state", in.state.String()).Msg("released: will not become master until reclaimed")
		}
		return nil, nil
	}
	return in.beginHandover(false), nil
}

// reclaim undoes release; the protocol then decides (preemption).
func (in *instance) reclaim() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopped {
		return fmt.Errorf("vrrp_instance %q is stopped", in.name)
	}
	if in.released {
		in.released = false
		in.log.Info().Msg("reclaimed: taking part in elections again")
		if in.state == StateBackup && !in.master.IsValid() {
			// No master was seen while released: elect ourselves after
			// the usual wait.
			in.armDown(in.masterDownInterval(), "reclaimed with no master on the link")
		}
	}
	return nil
}

// shutdown starts a final stop: a master hands over, anything else stops
// at once. It returns the handover to wait for, or nil.
func (in *instance) shutdown() *handover {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopped {
		return nil
	}
	if in.handover != nil {
		in.handover.final = true
		return in.handover
	}
	if in.state == StateMaster {
		return in.beginHandover(true)
	}
	in.stopNow("shutdown", false)
	return nil
}

// forceStop ends whatever is left (a handover past the caller's deadline,
// or an instance removed from the config).
func (in *instance) forceStop(reason string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stopNow(reason, in.handover == nil)
}
