package vrrp

// The moment the VIPs move between two live nodes: the leaving master
// chooses it (vipsLeaving), the new master holds its gratuitous ARPs back
// until then (vipsClaimed, vips.go). See "Planned failover" in doc.go.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Quiescer is the proxy as a master handing its VIPs over sees it (vrrp
// never imports proxy: the daemon wires it with Speaker.SetQuiescer).
type Quiescer interface {
	// WaitQuiet returns nil at a moment when no client connection whose
	// local address is one of addrs has a request in progress, or ctx's
	// error if none comes first. While it waits, connections to addrs are
	// closed once idle, so that their clients reconnect for their next
	// request (to the new master, once the VIPs have moved).
	WaitQuiet(ctx context.Context, addrs []netip.Addr) error
}

const (
	// takeoverGARPDelay bounds how long a node taking over from a live
	// master (it heard priority 0, or preempts a lower one) holds back
	// its first burst of gratuitous ARPs while the previous master still
	// answers for the VIPs: the previous master moves the clients itself
	// at a moment it has nothing in flight (switchBound < this).
	takeoverGARPDelay = 200 * time.Millisecond
	// firstProbesEvery is how often the new master asks who still holds
	// the VIPs during switchSettle after its first advert: a master that
	// drops them at once (keepalived) is noticed within a millisecond or
	// two, and the clients follow as soon.
	firstProbesEvery = time.Millisecond
	// holderProbeEvery is how often the new master asks (ARP request) who
	// still holds the VIPs during takeoverGARPDelay; a round without an
	// answer from another node ends the hold at once (the previous master
	// has let go: keepalived does at once, lbd after moving the clients).
	// Short, since a client that reaches a node that let go of the VIP
	// before our ARPs loses its connection attempt (a SYN retransmitted a
	// second later); the answers are read from the socket when the round
	// ends, so a slow goroutine of ours cannot miss one.
	holderProbeEvery = 5 * time.Millisecond
	// switchSettle: the leaving master points the clients at its successor
	// no sooner than this after the successor's first advert, so that a
	// successor that adds its VIPs after its advert (keepalived) has them.
	switchSettle = 10 * time.Millisecond
	// switchBound: the leaving master moves the clients this long after
	// the successor's first advert at the latest, quiet or not.
	switchBound = 120 * time.Millisecond
	// switchNoMACHold: when the successor's MAC is unknown the leaving
	// master cannot move the clients itself; it keeps its VIPs until the
	// successor's own gratuitous ARPs are certainly out.
	switchNoMACHold = takeoverGARPDelay + 50*time.Millisecond
	// dropperGrace: a node preempting a master that drops its VIPs at
	// once announces the VIPs first, and sends its first advert this much
	// later, when what the old master had in flight is done.
	dropperGrace = 50 * time.Millisecond
	// contestProbeEvery is how often a master whose VIPs another node
	// announces too (a split brain) asks who holds them, to announce them
	// again as soon as the other lets go.
	contestProbeEvery = 50 * time.Millisecond
)

// vipsLeaving is a leaving master's move of its VIPs to the master that
// just announced itself: still holding them and serving, it waits for a
// moment when its proxy has no request in progress on them (at most
// switchBound), then announces the VIPs at the successor's MAC and
// removes them at once.
type vipsLeaving struct {
	to      netip.Addr
	mac     net.HardwareAddr // where to point the clients: the source of to's adverts; nil: ask the neighbour table
	heard   time.Time        // the successor's first advert as master
	step    leaveStep
	cancel  context.CancelFunc
	settled chan struct{} // closed switchSettle after heard, when a Quiescer waits
	then    func(how string)
}

// leaveStep is where a vipsLeaving stands.
type leaveStep int

const (
	leaveSettling  leaveStep = iota // switchSettle has not passed
	leaveWaitQuiet                  // the Quiescer is asked, until switchBound
	leaveHoldNoMAC                  // the successor's MAC is unknown: held until its own announcements are out
)

func (*vipsLeaving) String() string { return "leaving" }

// leave enters vipsLeaving towards to, which has announced itself master;
// then (may be nil) runs once the VIPs are gone, with how it went.
// Without a Quiescer the switch happens after switchSettle.
func (in *instance) leave(to netip.Addr, then func(how string)) {
	ctx, cancel := context.WithCancel(context.Background())
	lv := &vipsLeaving{to: to, heard: in.clk.Now(), cancel: cancel, settled: make(chan struct{}), then: then}
	if in.master == to {
		lv.mac = in.masterMAC
	}
	in.setVIPs(lv)
	if lv.mac == nil {
		// Resolving the successor's MAC takes a round trip: start now.
		if mac, err := in.io.neighbor(to, true); err != nil {
			in.log.Warn().Err(err).Str("peer", to.String()).Msg("looking up the new master's MAC")
		} else if mac == nil {
			in.log.Debug().Str("peer", to.String()).Msg("resolving the new master's MAC")
		}
	}
	// What the announcer kept so far is not the successor's: start afresh.
	_, _ = in.io.claimed()
	q := in.quiet
	in.arm(&in.vipTimer, switchSettle, func() {
		if c, err := in.io.claimed(); err == nil && c.other {
			// The successor announced the VIPs at once (keepalived and
			// FRR do; lbd waits for us): the clients have moved.
			in.learnPeer(to, true)
			in.finishLeave(lv, "the new master announced the VIPs itself")
			return
		}
		if q == nil {
			in.switchNow(lv, "switched without waiting (no proxy to ask)")
			return
		}
		lv.step = leaveWaitQuiet
		close(lv.settled)
		in.arm(&in.vipTimer, switchBound-switchSettle, func() {
			in.switchNow(lv, fmt.Sprintf("no quiet moment within %s: switched anyway", switchBound))
		})
	})
	if q == nil {
		return
	}
	addrs := in.vipAddrs()
	go func() {
		select {
		case <-lv.settled:
		case <-ctx.Done():
			return
		}
		start := time.Now()
		if err := q.WaitQuiet(ctx, addrs); err != nil {
			return // switchBound or the end of the phase decides
		}
		waited := time.Since(start)
		in.mu.Lock()
		defer in.unlock()
		if in.vips != vipPhase(lv) || lv.step != leaveWaitQuiet || in.stopped {
			return
		}
		in.switchNow(lv, fmt.Sprintf("switched at a quiet moment (waited %s)", waited.Round(time.Millisecond)))
	}()
}

// switchNow moves the clients to the successor and removes the VIPs: it
// announces them at the MAC the successor's adverts come from (a virtual
// MAC, or its own); when that is unknown, at the one the neighbour table
// has for its address. If that is unknown too, the VIPs stay until the
// successor's own announcements have gone out.
func (in *instance) switchNow(lv *vipsLeaving, how string) {
	lv.cancel()
	mac, err := lv.mac, error(nil)
	if mac == nil {
		mac, err = in.io.neighbor(lv.to, false)
	}
	if err != nil || mac == nil {
		hold := lv.heard.Add(switchNoMACHold).Sub(in.clk.Now())
		in.log.Warn().Err(err).Str("peer", lv.to.String()).Dur("hold", hold).
			Msg("the new master's MAC is unknown: keeping the VIPs until its own gratuitous ARPs are out")
		lv.step = leaveHoldNoMAC
		in.arm(&in.vipTimer, max(hold, 0), func() {
			in.finishLeave(lv, "removed after the new master's gratuitous ARPs (its MAC was unknown)")
		})
		return
	}
	if in.cfg.VMACInterface != "" && bytes.Equal(mac, VirtualMAC(in.cfg.VirtualRouterID, in.cfg.IPv6())) {
		// The successor uses our virtual MAC: the clients already point
		// at it, and the switches learnt its port from its first advert.
		in.finishLeave(lv, how+"; the new master uses the same virtual MAC")
		return
	}
	for range max(in.cfg.GARPMasterRepeat, 1) {
		if err := in.io.announceAs(mac, in.cfg.VirtualIPAddresses); err != nil {
			in.log.Warn().Err(err).Msg("announcing the VIPs at the new master's MAC failed")
			break
		}
	}
	in.finishLeave(lv, how+fmt.Sprintf("; clients pointed at %s (%s)", lv.to, net.HardwareAddr(mac)))
}

// finishLeave removes the VIPs (phase vipsAbsent) and runs the leave's
// continuation.
func (in *instance) finishLeave(lv *vipsLeaving, how string) {
	in.removeVIPs()
	in.log.Info().Str("peer", lv.to.String()).Dur("after_advert", in.clk.Now().Sub(lv.heard)).Str("how", how).Msg("VIPs moved to the new master")
	if lv.then != nil {
		lv.then(how)
	}
}
