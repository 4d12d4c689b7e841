package vrrp

// Preempting a master that drops its VIPs the moment it hears a higher
// priority (keepalived, FRR): it cannot move its clients itself as lbd
// does, and whatever it has in flight, or is sent to it before our
// announcements arrive, is lost when it drops them. So, having learnt its
// kind (learnPeer), we first point the clients at our MAC without taking
// the VIPs, and pass the frames that come to us for them on to it: it
// keeps serving, and we see every connection. When none is open (at most
// switchBound later), we stop passing frames on, take the VIPs and send
// our first advert: it drops them with nothing in flight, and the clients
// are with us already. (pull_linux.go passes the frames on and picks the
// moment.)

import (
	"fmt"
	"time"
)

// vipsPulling: the clients are being pulled from the master we preempt
// since since; the VIPs are not ours yet, and we are still BACKUP: we
// become master (for reason) when the pull ends (endPull).
type vipsPulling struct {
	since  time.Time
	reason string
}

func (*vipsPulling) String() string { return "pulling" }

// pullEvery is how often the instance looks whether its pull has taken
// the VIPs (the pull's own goroutine picks the moment).
const pullEvery = time.Millisecond

// startPull enters vipsPulling from the master we preempt, at the MAC its
// adverts come from: frames for the VIPs are passed on to it, and the
// clients pointed at us. It reports false, having changed nothing, when
// that cannot be done (its MAC unknown, the kernel forwarding).
func (in *instance) startPull(reason string) bool {
	if in.masterMAC == nil {
		return false
	}
	p := &vipsPulling{since: in.clk.Now(), reason: reason}
	in.setVIPs(p)
	if err := in.io.pull(in.cfg.VirtualIPAddresses, in.masterMAC); err != nil {
		in.setVIPs(vipsAbsent{})
		in.log.Info().Err(err).Msg("cannot pass frames on to the master we preempt: announcing the VIPs before advertising instead")
		return false
	}
	in.log.Info().Str("master", in.master.String()).Msg("the master we preempt drops its VIPs at once: pointing the clients at us and passing their frames on to it until nothing is in flight")
	in.burst(in.cfg.GARPMasterRepeat)
	in.arm(&in.vipTimer, pullEvery, func() { in.pullTick(p) })
	return true
}

func (in *instance) pullTick(p *vipsPulling) {
	waited := in.clk.Now().Sub(p.since)
	taken, err := in.io.pullTaken()
	switch {
	case taken:
		in.endPull(p, err, fmt.Sprintf("nothing in flight after %s", waited.Round(time.Millisecond)))
	case waited >= switchBound:
		err := in.io.pullForce()
		in.endPull(p, err, fmt.Sprintf("still busy after %s: taken anyway", switchBound))
	default:
		in.arm(&in.vipTimer, pullEvery, func() { in.pullTick(p) })
	}
}

// endPull follows the pull's taking of the VIPs (adding them went as err
// says) with our first advert, and we are master: the previous master
// drops them.
func (in *instance) endPull(p *vipsPulling, err error, how string) {
	in.vipsOK = err == nil
	if err != nil {
		in.log.Error().Err(err).Msg("adding VIPs failed; retrying every advert interval")
	}
	if err := in.io.stopPull(); err != nil {
		in.log.Warn().Err(err).Msg("stopping to pass frames on")
	}
	in.sendAdvert(in.effPrio)
	in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
	in.announce()
	in.log.Info().Str("how", how).Msg("the clients are pulled: the VIPs are ours")
	in.master, in.masterPrio = in.primary, in.effPrio
	in.ctr.becameMaster++
	in.setState(StateMaster, p.reason)
}
