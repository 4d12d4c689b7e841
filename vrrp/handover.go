package vrrp

// Planned departures: lbd's handover (release, shutdown) and stopping.
//
// A master's departure is one phase at a time, each a type of its own,
// with departTimer belonging to the phase in force:
//
//	staying            not departing (every state but a departing MASTER)
//	awaitingSuccessor  priority 0 sent (and repeated every advert
//	                   interval); the VIPs stay ours until a peer
//	                   announces itself, at most the master down interval
//	handingOff         a successor announced itself: the VIPs are leaving
//	                   for it (vipsLeaving); adverts are not answered
//
// The transitions: beginHandover, successorSeen, and one of
// finishHandover (the VIPs are gone), abandonRelease (nobody answered a
// release) or endHandover (FAULT, a forced stop).

import (
	"fmt"
	"net/netip"
	"time"
)

// handover is a departure as the caller of release or shutdown waits for
// it: done is closed when it ends, err says why it failed.
type handover struct {
	purpose handoverPurpose
	done    chan struct{}
	err     error
}

// handoverPurpose is why a master departs, which decides where it ends.
type handoverPurpose int

const (
	handoverRelease  handoverPurpose = iota // lbctl vip release: BACKUP, released
	handoverSync                            // its sync group left MASTER: BACKUP, electable
	handoverShutdown                        // the instance stops
)

// departure is one of staying, *awaitingSuccessor, *handingOff.
type departure interface{ String() string }

type staying struct{}

type awaitingSuccessor struct {
	h     *handover
	since time.Time
}

type handingOff struct {
	h  *handover
	to netip.Addr
}

func (staying) String() string            { return "staying" }
func (*awaitingSuccessor) String() string { return "awaiting a successor" }
func (*handingOff) String() string        { return "handing off" }

// handingOver reports whether a master is departing.
func (in *instance) handingOver() bool {
	_, ok := in.departure.(staying)
	return !ok
}

// current is the departure's handover, nil when staying.
func (in *instance) current() *handover {
	switch d := in.departure.(type) {
	case *awaitingSuccessor:
		return d.h
	case *handingOff:
		return d.h
	}
	return nil
}

func (in *instance) setDeparture(d departure) {
	in.disarm(&in.departTimer)
	in.departure = d
}

// beginHandover starts a planned departure of a master. RFC 3768 section
// 6.4.3 ("If a Shutdown event is received") sends priority 0 and leaves at
// once, which leaves clients without the VIP until the backup adds it. We
// send priority 0 (repeated every advert interval) but keep the VIPs and
// keep serving until the peer's first advert as master, bounded by the
// master down interval; then move them to it at a quiet moment (leave)
// and finish (finishHandover).
func (in *instance) beginHandover(purpose handoverPurpose) *handover {
	h := &handover{purpose: purpose, done: make(chan struct{})}
	d := &awaitingSuccessor{h: h, since: in.clk.Now()}
	in.setDeparture(d)
	in.disarm(&in.adver)
	in.sendAdvert(PriorityStop)
	in.armDepartTimer(d)
	in.log.Info().Bool("shutdown", purpose == handoverShutdown).Dur("limit", in.masterDownInterval()).Msg("handing over: sent priority 0, keeping the VIPs until a peer is master")
	return h
}

// armDepartTimer schedules the next priority-0 advert, or the end of the
// wait if it comes first.
func (in *instance) armDepartTimer(d *awaitingSuccessor) {
	left := d.since.Add(in.masterDownInterval()).Sub(in.clk.Now())
	if left <= in.advertInt() {
		in.arm(&in.departTimer, max(left, 0), in.handoverUnanswered)
		return
	}
	in.arm(&in.departTimer, in.advertInt(), func() {
		in.sendAdvert(PriorityStop)
		in.armDepartTimer(d)
	})
}

// departureAdvert handles an advert while departing: the first one with
// a priority from a peer makes it the successor.
func (in *instance) departureAdvert(src netip.Addr, prio int) {
	d, ok := in.departure.(*awaitingSuccessor)
	if !ok || prio == PriorityStop {
		return
	}
	in.setDeparture(&handingOff{h: d.h, to: src})
	in.setMaster(src, prio)
	in.leave(src, func(how string) {
		in.finishHandover(fmt.Sprintf("handed over to %s (priority %d): %s", src, prio, how))
	})
}

// handoverUnanswered ends a wait nobody answered. On shutdown the VIPs
// go anyway; a release (or a sync group's handover) is abandoned instead,
// and the node stays master: a planned failover must not leave the VIP
// nowhere.
func (in *instance) handoverUnanswered() {
	h := in.current()
	if h.purpose == handoverShutdown {
		in.finishHandover(fmt.Sprintf("no peer announced itself master within %s", in.masterDownInterval()))
		return
	}
	h.err = fmt.Errorf("no peer announced itself master within %s: %s keeps its VIPs and stays MASTER", in.masterDownInterval(), in.name)
	in.log.Warn().Err(h.err).Msg("release abandoned")
	in.endHandover()
	in.sendAdvert(in.effPrio)
	in.burst(in.cfg.GARPMasterRepeat)
	in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
	close(h.done)
}

// finishHandover ends a departure whose VIPs are gone (or go now, on a
// shutdown nobody answered): a shutdown stops the instance, a release
// leaves it BACKUP and released, a sync group's handover BACKUP.
func (in *instance) finishHandover(reason string) {
	h := in.endHandover()
	if h == nil {
		return
	}
	switch h.purpose {
	case handoverShutdown:
		in.stopNow(reason, false)
	case handoverRelease:
		in.standing = released
		in.becomeBackup("released: " + reason)
	case handoverSync:
		in.becomeBackup("with its sync group: " + reason)
	}
	// Waiters wake once the VIPs are gone.
	close(h.done)
}

// endHandover returns to staying; the caller closes the handover's done
// channel once it has finished what the handover's end implies.
func (in *instance) endHandover() *handover {
	h := in.current()
	in.setDeparture(staying{})
	return h
}

// stopNow takes the instance out for good (shutdown or removal from the
// config). sendStop sends priority 0 from a master that did not hand over.
func (in *instance) stopNow(reason string, sendStop bool) {
	if in.stopped {
		return
	}
	if h := in.endHandover(); h != nil {
		h.err = fmt.Errorf("stopped during the handover: %s", reason)
		defer close(h.done)
	}
	if in.state == StateMaster {
		if sendStop {
			in.sendAdvert(PriorityStop)
		}
		in.ctr.leftMaster++
	}
	for _, s := range in.timers() {
		in.disarm(s)
	}
	if in.vipsActive() {
		in.removeVIPs()
	}
	in.master = netip.Addr{}
	prev := in.state
	in.state, in.reason, in.since = StateInit, "stopped: "+reason, in.clk.Now()
	in.stopped = true
	in.log.Info().Str("reason", reason).Msg("instance stopped")
	in.runNotify("STOP")
	// The group goes on without it: its fault no longer counts.
	in.syncFault("")
	in.syncState(prev)
}

// release is lbctl vip release: a master hands over and stays BACKUP; any
// other state just stays out of mastership until reclaim. It returns the
// handover to wait for, or nil.
func (in *instance) release() (*handover, error) {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped {
		return nil, fmt.Errorf("vrrp_instance %q is stopped", in.name)
	}
	if h := in.current(); h != nil {
		return h, nil
	}
	if in.state != StateMaster {
		if in.standing != released {
			in.standing = released
			in.log.Info().Str("state", in.state.String()).Msg("released: will not become master until reclaimed")
		}
		if _, pulling := in.vips.(*vipsPulling); pulling {
			in.removeVIPs()
			in.armDown(in.masterDownInterval(), afterSilence, "released while pulling the clients")
		}
		return nil, nil
	}
	return in.beginHandover(handoverRelease), nil
}

// reclaim undoes release; the protocol then decides (preemption).
func (in *instance) reclaim() error {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped {
		return fmt.Errorf("vrrp_instance %q is stopped", in.name)
	}
	if in.standing == released {
		in.standing = electable
		in.log.Info().Msg("reclaimed: taking part in elections again")
		if in.state == StateBackup && !in.master.IsValid() {
			// No master was seen while released: elect ourselves after
			// the usual wait.
			in.armDown(in.masterDownInterval(), afterSilence, "reclaimed with no master on the link")
		}
	}
	return nil
}

// retire stops an instance a reload restarts: a master hands over as on
// shutdown, anything else stops at once. It returns the handover to wait
// for, or nil.
func (in *instance) retire(reason string) *handover {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped {
		return nil
	}
	if h := in.current(); h != nil {
		h.purpose = handoverShutdown
		return h
	}
	if in.state == StateMaster {
		in.log.Info().Str("reason", reason).Msg("restarting: handing over first, as on a planned stop")
		return in.beginHandover(handoverShutdown)
	}
	in.stopNow(reason, true)
	return nil
}

// shutdown starts a final stop: a master hands over, anything else stops
// at once. It returns the handover to wait for, or nil.
func (in *instance) shutdown() *handover {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped {
		return nil
	}
	if h := in.current(); h != nil {
		h.purpose = handoverShutdown
		return h
	}
	if in.state == StateMaster {
		return in.beginHandover(handoverShutdown)
	}
	in.stopNow("shutdown", false)
	return nil
}

// forceStop ends whatever is left (a handover past the caller's deadline,
// or an instance removed from the config).
func (in *instance) forceStop(reason string) {
	in.mu.Lock()
	defer in.unlock()
	in.stopNow(reason, !in.handingOver())
}
