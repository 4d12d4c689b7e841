package vrrp

// The moment the VIPs move between two live nodes: the leaving master
// chooses it (vipSwitch), the new master holds its gratuitous ARPs back
// until then (takeover probe). See "Planned failover" in doc.go.

import (
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
)

// vipSwitch is a leaving master's move of its VIPs to the master that
// just announced itself: still holding them and serving, it waits for a
// moment when its proxy has no request in progress on them (at most
// switchBound), then sends gratuitous ARPs announcing the VIPs at the
// successor's MAC and removes them at once.
type vipSwitch struct {
	peer    netip.Addr
	heard   time.Time // the successor's first advert as master
	cancel  context.CancelFunc
	settled chan struct{} // closed switchSettle after heard
	then    func(how string)
}

// startSwitch begins moving the VIPs to peer, which has announced itself
// master; then (may be nil) runs once the VIPs are gone, with how it went.
// Without a Quiescer the switch happens after switchSettle.
func (in *instance) startSwitch(peer netip.Addr, then func(how string)) {
	in.cancelSwitch()
	ctx, cancel := context.WithCancel(context.Background())
	sw := &vipSwitch{peer: peer, heard: in.clk.Now(), cancel: cancel, settled: make(chan struct{}), then: then}
	in.sw = sw
	// Resolving the successor's MAC takes a round trip: start now.
	if mac, err := in.io.neighbor(peer, true); err != nil {
		in.log.Warn().Err(err).Str("peer", peer.String()).Msg("looking up the new master's MAC")
	} else if mac == nil {
		in.log.Debug().Str("peer", peer.String()).Msg("resolving the new master's MAC")
	}
	q := in.quiet
	in.arm(&in.swSettle, switchSettle, func() {
		if in.sw != sw {
			return
		}
		if q == nil {
			in.switchNow(sw, "switched without waiting (no proxy to ask)")
			return
		}
		close(sw.settled)
	})
	in.arm(&in.swBound, switchBound, func() {
		if in.sw == sw {
			in.switchNow(sw, fmt.Sprintf("no quiet moment within %s: switched anyway", switchBound))
		}
	})
	if q == nil {
		return
	}
	addrs := in.vipAddrs()
	go func() {
		select {
		case <-sw.settled:
		case <-ctx.Done():
			return
		}
		start := time.Now()
		if err := q.WaitQuiet(ctx, addrs); err != nil {
			return // switchBound or a cancel decides
		}
		waited := time.Since(start)
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.sw != sw || in.stopped {
			return
		}
		in.switchNow(sw, fmt.Sprintf("switched at a quiet moment (waited %s)", waited.Round(time.Millisecond)))
	}()
}

// switchNow moves the clients to the successor and removes the VIPs; if
// its MAC is still unknown, the VIPs stay until its own gratuitous ARPs
// have gone out.
func (in *instance) switchNow(sw *vipSwitch, how string) {
	in.disarm(&in.swSettle)
	in.disarm(&in.swBound)
	sw.cancel()
	mac, err := in.io.neighbor(sw.peer, false)
	if err != nil || mac == nil {
		hold := sw.heard.Add(switchNoMACHold).Sub(in.clk.Now())
		in.log.Warn().Err(err).Str("peer", sw.peer.String()).Dur("hold", hold).
			Msg("the new master's MAC is unknown: keeping the VIPs until its own gratuitous ARPs are out")
		in.arm(&in.swBound, max(hold, 0), func() {
			if in.sw == sw {
				in.finishSwitch(sw, "removed after the new master's gratuitous ARPs (its MAC was unknown)")
			}
		})
		return
	}
	vips := in.cfg.VirtualIPAddresses
	for range max(in.cfg.GARPMasterRepeat, 1) {
		if err := in.io.garpAs(mac, vips); err != nil {
			in.log.Warn().Err(err).Msg("gratuitous ARP for the new master failed")
			break
		}
	}
	in.finishSwitch(sw, how+fmt.Sprintf("; clients pointed at %s (%s)", sw.peer, net.HardwareAddr(mac)))
}

func (in *instance) finishSwitch(sw *vipSwitch, how string) {
	in.sw = nil
	in.disarm(&in.swSettle)
	in.disarm(&in.swBound)
	sw.cancel()
	if in.vipsHeld {
		in.removeVIPs()
	}
	in.log.Info().Str("peer", sw.peer.String()).Dur("after_advert", in.clk.Now().Sub(sw.heard)).Str("how", how).Msg("VIPs moved to the new master")
	if sw.then != nil {
		sw.then(how)
	}
}

// cancelSwitch drops a pending switch (we are master again, or stop, or
// the VIPs go for another reason).
func (in *instance) cancelSwitch() {
	if in.sw == nil {
		return
	}
	in.sw.cancel()
	in.sw = nil
	in.disarm(&in.swSettle)
	in.disarm(&in.swBound)
}

func (in *instance) vipAddrs() []netip.Addr {
	out := make([]netip.Addr, len(in.cfg.VirtualIPAddresses))
	for i, p := range in.cfg.VirtualIPAddresses {
		out[i] = p.Addr()
	}
	return out
}

// startGARPs is keepalived's schedule on becoming master: a burst of
// garp_master_repeat now, another garp_master_delay later, then one every
// garp_master_refresh.
func (in *instance) startGARPs() {
	in.disarm(&in.garpFirst)
	in.stopProbe()
	in.garpBurst(in.cfg.GARPMasterRepeat)
	switch {
	case in.cfg.GARPMasterDelay > 0:
		in.arm(&in.garpDelay, in.cfg.GARPMasterDelay, in.onGARPDelay)
	case in.cfg.GARPMasterRefresh > 0:
		in.arm(&in.garpRefresh, in.cfg.GARPMasterRefresh, in.onGARPRefresh)
	}
}

// holdGARPs is the takeover from a live master: the first burst waits
// until no other node answers for the VIPs (probed every
// holderProbeEvery), at most takeoverGARPDelay.
func (in *instance) holdGARPs() {
	in.arm(&in.garpFirst, takeoverGARPDelay, func() {
		if in.state == StateMaster && in.vipsHeld {
			in.log.Info().Dur("after", takeoverGARPDelay).Msg("the previous master still answers for the VIPs: gratuitous ARPs now")
			in.startGARPs()
		}
	})
	in.probeRound()
}

// probeRound asks who holds the VIPs and reads the answers
// holderProbeEvery later: another round while someone still does, our
// gratuitous ARPs as soon as nobody does.
func (in *instance) probeRound() {
	vips := in.cfg.VirtualIPAddresses
	if err := in.io.probe(in.primary, vips); err != nil {
		if in.every("probe") {
			in.log.Warn().Err(err).Msg("ARP probe for the VIPs failed: gratuitous ARPs now")
		}
		in.startGARPs()
		return
	}
	in.arm(&in.probeTimer, holderProbeEvery, func() {
		if in.state != StateMaster || !in.vipsHeld || in.garpFirst.t == nil {
			return
		}
		held, err := in.io.probeAnswered(in.cfg.VirtualIPAddresses)
		switch {
		case err != nil:
			if in.every("probe") {
				in.log.Warn().Err(err).Msg("reading the answers to the ARP probe failed: gratuitous ARPs now")
			}
		case held:
			in.probeRound()
			return
		default:
			in.log.Info().Dur("after", in.clk.Now().Sub(in.since)).Msg("no other node answers for the VIPs any more: gratuitous ARPs now")
		}
		in.startGARPs()
	})
}

func (in *instance) stopProbe() { in.disarm(&in.probeTimer) }
