package vrrp

// vrrp_sync_group: instances that change state together, with
// keepalived's semantics (vrrp_sync.c):
//
//   - FAULT: a member that enters FAULT of its own (a tracker, no source
//     address) takes the others into FAULT; they leave it when no member
//     has a fault of its own.
//   - MASTER: a member whose Master_Down_Timer fires becomes master only
//     when every other member is master or wants to be (its own timer has
//     fired); otherwise it waits, re-arming the timer ("prefer backup
//     state to avoid thrashing"). The last one to want it takes the others
//     with it.
//   - BACKUP: a master that steps down (a higher priority on the link,
//     lbctl vip release, a handover) makes the other masters hand over
//     too: they send priority 0 and move their clients to their
//     successor as a release does, but stay electable.
//
// In a group the members' trackers count as weight 0 (a failure is a
// FAULT, which the group shares) unless sync_group_tracking_weight is set:
// keepalived's rule, since members whose priorities differ would disagree
// on who is master (keepalived.conf(5), "VRRP synchronization group(s)").
//
// The group's state is FAULT when a member is in FAULT, MASTER when all
// are, BACKUP when none is; it is unchanged in between (while members
// follow each other). Its notify scripts run when it changes.
//
// Locking: each event holds its own instance's lock; what it asks of the
// other members is queued (later) and run once that lock is released
// (unlock), each taking the other member's lock. The group's own mutex is
// a leaf: it guards the members' views and is never held while taking an
// instance lock.

import (
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"lbd/config"
)

// syncGroup is one vrrp_sync_group of the running config.
type syncGroup struct {
	name   string
	cfg    *config.VRRPSyncGroup
	log    zerolog.Logger
	notify func(args []string)

	mu      sync.Mutex
	members []*instance
	views   map[*instance]*memberView
	state   State // the group's state as last notified; StateInit before
}

// memberView is what the group knows of a member, updated by the member
// under the group's mutex.
type memberView struct {
	state State
	fault string // a fault of its own (not the group's), "" when none
	wants bool   // BACKUP with its Master_Down_Timer fired, waiting for the group
}

func newSyncGroup(cfg *config.VRRPSyncGroup, log zerolog.Logger, notify func([]string)) *syncGroup {
	return &syncGroup{
		name:   cfg.Name,
		cfg:    cfg,
		log:    log.With().Str("sync_group", cfg.Name).Logger(),
		notify: notify,
		views:  map[*instance]*memberView{},
	}
}

// join adds in to the group, as it is now: a reload rebuilds the groups,
// and a group that was there before keeps its state (prev), so that its
// scripts do not run again for a state it was already in. A running
// member re-reads its trackers: their weights may count no more (or
// again).
func (g *syncGroup) join(in *instance, prev State) {
	in.mu.Lock()
	defer in.unlock()
	g.mu.Lock()
	in.group = g
	g.members = append(g.members, in)
	g.views[in] = &memberView{state: in.state, fault: in.ownFault}
	g.state = prev
	g.mu.Unlock()
	in.refresh("joined sync group " + g.name)
}

// joined settles the group once its members have joined: a group a
// reload creates over running instances (or whose members changed)
// takes their state at once, and runs its notify scripts for it.
func (g *syncGroup) joined() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.settle(true)
}

// leaveGroup takes in out of its group, before a reload's groups are
// joined; it reports whether in was in one.
func (in *instance) leaveGroup() bool {
	in.mu.Lock()
	defer in.unlock()
	was := in.group != nil
	in.group = nil
	return was
}

// leftGroup re-reads the trackers of an instance a reload took out of its
// group (unless it joined another): their weights count again.
func (in *instance) leftGroup() {
	in.mu.Lock()
	defer in.unlock()
	if in.group == nil {
		in.refresh("left its sync group")
	}
}

// unweighted reports whether in's trackers count as weight 0: it is in a
// sync group without sync_group_tracking_weight (keepalived's rule).
func (in *instance) unweighted() bool {
	return in.group != nil && !in.group.cfg.TrackingWeight
}

func (in *instance) groupName() string {
	if in.group == nil {
		return ""
	}
	return in.group.name
}

// groupStateName is the state of in's group for the status, "" when in
// is in none.
func (in *instance) groupStateName() string {
	if in.group == nil {
		return ""
	}
	return in.group.groupState().String()
}

// groupState is the group's state as last notified.
func (g *syncGroup) groupState() State {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// syncResumed tells the group the state an instance resumed in from the
// previous process (binary upgrade), without a notify: the previous
// process ran the scripts.
func (in *instance) syncResumed() {
	g := in.group
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.views[in].state = in.state
	g.settle(false)
}

// later queues f to run once in.mu is released; f takes whatever lock it
// needs.
func (in *instance) later(f func()) { in.pending = append(in.pending, f) }

// unlock releases in.mu, then runs what the event queued for the other
// members of its sync group.
func (in *instance) unlock() {
	todo := in.pending
	in.pending = nil
	in.mu.Unlock()
	for _, f := range todo {
		f()
	}
}

// others are the other members of in's group.
func (g *syncGroup) others(in *instance) []*instance {
	var out []*instance
	for _, m := range g.members {
		if m != in {
			out = append(out, m)
		}
	}
	return out
}

// syncFault records in's own fault and returns the group's: why another
// member holds the group in FAULT ("" when none does). A change of its
// own fault makes the others re-evaluate theirs.
func (in *instance) syncFault(own string) string {
	g := in.group
	if g == nil {
		return ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v := g.views[in]
	if (v.fault == "") != (own == "") {
		for _, m := range g.others(in) {
			in.later(func() { m.groupChanged() })
		}
	}
	v.fault = own
	for _, m := range g.others(in) {
		if f := g.views[m].fault; f != "" {
			return fmt.Sprintf("sync group %s: %s is in FAULT (%s)", g.name, m.name, f)
		}
	}
	return ""
}

// groupChanged re-evaluates a member after another one's fault changed.
func (in *instance) groupChanged() {
	in.mu.Lock()
	defer in.unlock()
	in.refresh("sync group")
}

// mayBecomeMaster is asked when in's Master_Down_Timer fires: it records
// that in wants to be master and reports whether the group lets it (every
// other member is master or wants to be). When it does not, the members
// that hold it back are named.
func (in *instance) mayBecomeMaster() (ok bool, waitingFor string) {
	g := in.group
	if g == nil {
		return true, ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.views[in].wants = true
	var holding []string
	for _, m := range g.others(in) {
		if v := g.views[m]; v.state != StateMaster && !v.wants {
			holding = append(holding, m.name)
		}
	}
	return len(holding) == 0, strings.Join(holding, ", ")
}

// noLongerWants clears in's wish to be master (it hears a master again).
func (in *instance) noLongerWants() {
	if g := in.group; g != nil {
		g.mu.Lock()
		g.views[in].wants = false
		g.mu.Unlock()
	}
}

// syncState tells the group in's new state (from prev): a member that
// became master takes the others with it, one that left MASTER for
// BACKUP makes the other masters hand over, one in FAULT takes the others
// into FAULT (through syncFault). The group's notify scripts run when its
// state changes.
func (in *instance) syncState(prev State) {
	g := in.group
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v := g.views[in]
	v.state, v.wants = in.state, false
	switch {
	case in.state == StateMaster:
		why := fmt.Sprintf("sync group %s: %s became MASTER (%s)", g.name, in.name, in.reason)
		for _, m := range g.others(in) {
			if g.views[m].state == StateBackup {
				in.later(func() { m.syncMaster(why) })
			}
		}
	case prev == StateMaster && in.state == StateBackup:
		why := fmt.Sprintf("sync group %s: %s left MASTER (%s)", g.name, in.name, in.reason)
		for _, m := range g.others(in) {
			if g.views[m].state == StateMaster {
				in.later(func() { m.syncBackup(why) })
			}
		}
	}
	g.settle(true)
}

// settle computes the group's state and, if run, runs its notify scripts
// when it changed. The caller holds g.mu.
func (g *syncGroup) settle(run bool) {
	all, none, fault, counted := true, true, false, 0
	for _, v := range g.views {
		switch v.state {
		case StateInit:
			continue // not started yet, or stopped: no say
		case StateFault:
			fault = true
		case StateMaster:
			none = false
			counted++
			continue
		}
		counted++
		all = false
	}
	st := g.state
	switch {
	case counted == 0:
	case fault:
		st = StateFault
	case all:
		st = StateMaster
	case none:
		st = StateBackup
	}
	if st == g.state {
		return
	}
	g.log.Info().Str("from", g.state.String()).Str("to", st.String()).Msg("VRRP sync group state transition")
	g.state = st
	if !run {
		return
	}
	var specific string
	switch st {
	case StateMaster:
		specific = g.cfg.NotifyMaster
	case StateBackup:
		specific = g.cfg.NotifyBackup
	case StateFault:
		specific = g.cfg.NotifyFault
	}
	for i, line := range []string{specific, g.cfg.Notify} {
		if line == "" {
			continue
		}
		args, err := config.SplitCommand(line)
		if err != nil || len(args) == 0 {
			continue // rejected by config validation
		}
		if i == 1 { // keepalived's arguments for a group
			args = append(args, "GROUP", g.name, st.String(), "0")
		}
		g.notify(args)
	}
}

// syncMaster makes a BACKUP member master because another one became
// master: a takeover of the kind its own timer would have made, or, if it
// did not want it yet, from the master it hears (or after silence).
func (in *instance) syncMaster(why string) {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped || in.state != StateBackup || in.standing == released || in.vipsActive() {
		return
	}
	kind := afterSilence
	switch {
	case in.down.kind != afterSilence:
		kind = in.down.kind
	case in.master.IsValid():
		kind = fromLiveMaster
	}
	in.becomeMaster(why, kind)
}

// syncBackup makes a MASTER member hand over because another one left
// MASTER for BACKUP: priority 0, the VIPs moved to the successor, and the
// member stays electable.
func (in *instance) syncBackup(why string) {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped || in.state != StateMaster || in.handingOver() {
		return
	}
	in.log.Info().Str("why", why).Msg("sync group: handing over with the group")
	in.beginHandover(handoverSync)
}
