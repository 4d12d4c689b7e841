package vrrp

// Planned departures: lbd's handover (release, shutdown) and stopping.

import (
	"fmt"
	"net/netip"
)

// beginHandover starts a planned departure of a master. RFC 3768 section
// 6.4.3 ("If a Shutdown event is received") sends priority 0 and leaves at
// once, which leaves clients without the VIP until the backup adds it. We
// send priority 0 (repeated every advert interval) but keep the VIPs and
// keep serving until the peer's first advert as master, bounded by the
// master down interval; then move them to it at a quiet moment
// (startSwitch) and finish (finishHandover).
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
	in.startSwitch(src, func(how string) {
		in.finishHandover(fmt.Sprintf("handed over to %s (priority %d): %s", src, prio, how))
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
	in.cancelSwitch()
	for _, s := range []*timerSlot{&in.adver, &in.down, &in.garpDelay, &in.garpRefresh, &in.garpFirst, &in.probeTimer} {
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
