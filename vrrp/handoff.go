package vrrp

import (
	"errors"
	"net/netip"
	"time"
)

// A seamless binary upgrade (package handoff) moves the VRRP instances
// from the running process to its successor without a word to the peers:
// the predecessor stops each instance silently (Speaker.Handoff: no
// priority-0 advert, the VIPs left on the interface) and the successor
// resumes it in the same state (Speaker.Adopt): a master sends its next
// advert at once and keeps the VIPs, so a backup never misses an advert
// and the VIP never moves.

// InstanceHandoff is the state of one instance handed to a successor.
type InstanceHandoff struct {
	Name      string `json:"name"`
	Interface string `json:"interface"`
	VRID      int    `json:"vrid"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	// VIPsHeld: a master whose VIPs are on the interface.
	VIPsHeld       bool          `json:"vips_held"`
	Master         netip.Addr    `json:"master,omitzero"`
	MasterPriority int           `json:"master_priority,omitempty"`
	MasterAdvInt   time.Duration `json:"master_adv_int,omitempty"`
	Released       bool          `json:"released,omitempty"`
}

// Handoff stops every instance silently and returns their states, for a
// successor process that will resume them (Adopt). The speaker is done
// afterwards: Shutdown only closes what is left.
func (s *Speaker) Handoff() []InstanceHandoff {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []InstanceHandoff
	for _, r := range s.instances {
		out = append(out, r.in.detach())
	}
	return out
}

// AwaitHandoff makes the next Apply create the instances without starting
// them: the successor of an upgrade serves before its predecessor hands
// VRRP over, and only then runs its instances (Adopt).
func (s *Speaker) AwaitHandoff() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.awaiting = true
}

// Adopt starts the instances AwaitHandoff held back: one the predecessor
// ran with the same name, interface and VRID resumes in its state; any
// other starts as on a first start.
func (s *Speaker) Adopt(hs []InstanceHandoff) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.awaiting = false
	byName := map[string]InstanceHandoff{}
	for _, h := range hs {
		byName[h.Name] = h
	}
	for _, r := range s.instances {
		h, ok := byName[r.in.name]
		if ok && h.Interface == r.cfg.Interface && h.VRID == r.cfg.VirtualRouterID {
			r.in.adopt(h)
		} else {
			r.in.start()
		}
	}
}

// detach stops the instance without telling anyone: no advert, no notify
// script, the VIPs left where they are.
func (in *instance) detach() InstanceHandoff {
	in.mu.Lock()
	defer in.unlock()
	h := InstanceHandoff{
		Name: in.name, Interface: in.cfg.Interface, VRID: in.cfg.VirtualRouterID,
		State: in.state.String(), Reason: in.reason,
		VIPsHeld: in.state == StateMaster && in.holdsVIPs(),
		Master:   in.master, MasterPriority: in.masterPrio, MasterAdvInt: in.masterAdvInt,
		Released: in.standing == released,
	}
	if in.stopped {
		return h
	}
	if hd := in.endHandover(); hd != nil {
		hd.err = errHandedOff
		defer close(hd.done)
	}
	for _, t := range in.timers() {
		in.disarm(t)
	}
	// The successor holds the VIPs now: leave them on the interface, only
	// stop watching them.
	in.setVIPs(vipsAbsent{})
	in.state, in.reason, in.since = StateInit, "handed over to the new process (binary upgrade)", in.clk.Now()
	in.stopped = true
	in.log.Info().Str("state", h.State).Msg("instance handed over to the new process")
	return h
}

// adopt is start for an instance its predecessor process ran: a master
// keeps the VIPs already on the interface and advertises at once, a
// backup keeps the master it knew and waits for its adverts.
func (in *instance) adopt(h InstanceHandoff) {
	in.mu.Lock()
	defer in.unlock()
	in.started = true
	if h.Released {
		in.standing = released
	}
	in.refreshPrimary()
	for _, t := range in.trackers {
		t.read(in.src)
	}
	in.effPrio = evaluate(in.cfg.Priority, in.trackers, in.unweighted()).priority
	now := in.clk.Now()
	switch {
	case h.State == "MASTER" && h.VIPsHeld && in.primary.IsValid():
		in.masterAdvInt = in.advertInt()
		in.vipsOK = true
		a := &vipsAnnounced{next: announceDone}
		in.setVIPs(a)
		in.scheduleRefresh(a)
		in.sendAdvert(in.effPrio)
		in.arm(&in.adver, in.advertInt(), in.onAdverTimer)
		in.master, in.masterPrio = in.primary, in.effPrio
		in.state, in.reason, in.since = StateMaster, "resumed from the previous process (binary upgrade)", now
	case h.State == "BACKUP" && in.primary.IsValid():
		in.master, in.masterPrio = h.Master, h.MasterPriority
		in.masterAdvInt = in.advertInt()
		if h.MasterAdvInt > 0 {
			in.masterAdvInt = h.MasterAdvInt
		}
		in.armDown(in.masterDownInterval(), afterSilence, "no advert from the master within the master down interval")
		in.state, in.reason, in.since = StateBackup, "resumed from the previous process (binary upgrade)", now
	default:
		in.unlock()
		in.start()
		in.mu.Lock()
		return
	}
	in.log.Info().Str("state", in.state.String()).Int("priority", in.effPrio).Msg("instance resumed from the previous process")
	in.syncResumed()
	in.refresh("resumed")
}

// errHandedOff ends a planned handover that a binary upgrade overtook.
var errHandedOff = errors.New("the instance was handed over to a new process (binary upgrade)")
