package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"lbd/clock"
	"lbd/config"
)

// State is a virtual router's state (RFC 3768 section 6.4).
type State int

// The states of RFC 3768 section 6.4, plus FAULT as keepalived has it.
const (
	StateInit   State = iota // Initialize: waiting for start-up conditions
	StateBackup              // monitoring the master
	StateMaster              // forwarding for the virtual addresses
	StateFault               // a tracked condition forbids taking part
)

func (s State) String() string {
	switch s {
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return "INIT"
}

// counters are an instance's packet and transition counts.
type counters struct {
	advertsSent          uint64
	advertsReceived      uint64
	priorityZeroSent     uint64
	priorityZeroReceived uint64
	transitions          uint64
	becameMaster         uint64
	leftMaster           uint64
	sendErrors           uint64
	invalid              map[Reason]uint64
}

// instance is one vrrp_instance: the RFC 3768 state machine and what it
// does to the network. Every field is guarded by mu; every event (packet,
// timer, tracker change, admin call) takes it, so the state machine sees
// one event at a time.
//
// Beside the RFC state, three sub-machines each keep their phase in one
// field, as a value of its own type, with the timer that belongs to it:
//
//   - vips (vips.go, switch.go): what the instance does with its VIPs:
//     absent, claimed (a takeover from a live master, our announcements
//     held), announced, leaving (moving to the new master at a quiet
//     moment). The family-specific part is the announcer of instanceIO.
//   - departure (handover.go): a master's planned departure: staying,
//     awaiting a successor, handing off to it.
//   - standing: electable, or released by lbctl vip release.
//
// The Master_Down_Timer also says what its expiry means (down.kind): a
// takeover after silence, or from a live master.
type instance struct {
	mu     sync.Mutex
	name   string
	cfg    *config.VRRPInstance
	log    zerolog.Logger
	clk    clock.Clock
	io     instanceIO
	src    trackSource
	notify func(args []string) // runs one notify command (asynchronously)

	pol      rxPolicy
	trackers []*tracker

	// The RFC state machine (fsm.go).
	state        State
	reason       string    // why the last transition happened
	since        time.Time // when
	effPrio      int
	primary      netip.Addr    // source address of our adverts
	masterAdvInt time.Duration // Master_Adver_Interval (RFC 5798 section 6.1): ours, or learned from the master (VRRPv3)
	master       netip.Addr    // current master as last seen; ours when MASTER
	masterPrio   int
	masterMAC    net.HardwareAddr // Ethernet source of the master's adverts, nil when unknown
	heardMAC     net.HardwareAddr // Ethernet source of the advert being handled
	adver        timerSlot        // Adver_Timer (MASTER)
	down         downTimer        // Master_Down_Timer (BACKUP)
	preemptSince time.Time        // a lower-priority master first seen (keepalived's preempt_time counts from it); zero when not counting
	standing     standing
	// dropsAtOnce remembers the peers seen to let go of the VIPs at once
	// when they lose mastership (keepalived, FRR), rather than moving
	// their clients themselves (lbd): see "Clients follow the master" in
	// doc.go.
	dropsAtOnce map[netip.Addr]bool

	// The VIPs (vips.go, switch.go).
	vips     vipPhase
	vipsOK   bool      // the last add succeeded (else retried every advert interval)
	vipTimer timerSlot // the timer of the current vips phase
	quiet    Quiescer  // the proxy, asked for a quiet moment when leaving; may be nil

	// A master's planned departure (handover.go).
	departure   departure
	departTimer timerSlot // the timer of the current departure phase

	started bool // start was called: tracker changes move the state machine
	stopped bool

	// The vrrp_sync_group (sync.go), nil when in none; ownFault is the
	// fault of the instance's own trackers, which the group shares.
	group    *syncGroup
	ownFault string
	pending  []func() // asked of the group's other members, run by unlock

	ctr      counters
	rlReason map[Reason]time.Time // last log time per invalid reason
	rlEvent  map[string]time.Time // last log time of repetitive events
}

// standing is whether an instance may become master (lbctl vip release
// and reclaim).
type standing int

const (
	electable standing = iota // takes part in elections
	released                  // stays BACKUP until reclaimed, even with no master on the link
)

// takeoverKind is what the Master_Down_Timer expiring means.
type takeoverKind int

const (
	// afterSilence: the master stopped advertising (a crash, a cut
	// link): announce the VIPs at once.
	afterSilence takeoverKind = iota
	// fromLiveMaster: the master is still there and leaves (it sent
	// priority 0): claim the VIPs, and let it move the clients.
	fromLiveMaster
	// preempting: we take over from a lower-priority master: as
	// fromLiveMaster, unless that master is known to drop its VIPs at
	// once (keepalived, FRR): then the clients move before it hears us.
	preempting
)

// downTimer is the Master_Down_Timer with what its expiry will mean.
type downTimer struct {
	timerSlot
	kind takeoverKind
	why  string // the reason logged when it fires
}

// timers are every timer of the instance, for a stop.
func (in *instance) timers() []*timerSlot {
	return []*timerSlot{&in.adver, &in.down.timerSlot, &in.vipTimer, &in.departTimer}
}

// invalidLogEvery bounds the log lines per invalid-packet reason.
const invalidLogEvery = 10 * time.Second

func newInstance(cfg *config.VRRPInstance, scripts []*config.VRRPScript, log zerolog.Logger, clk clock.Clock, io instanceIO, src trackSource, notify func([]string)) *instance {
	in := &instance{
		name:        cfg.Name,
		log:         log.With().Str("instance", cfg.Name).Logger(),
		clk:         clk,
		io:          io,
		src:         src,
		notify:      notify,
		state:       StateInit,
		vips:        vipsAbsent{},
		departure:   staying{},
		since:       clk.Now(),
		reason:      "startup",
		rlReason:    map[Reason]time.Time{},
		rlEvent:     map[string]time.Time{},
		dropsAtOnce: map[netip.Addr]bool{},
	}
	in.ctr.invalid = map[Reason]uint64{}
	in.setConfig(cfg, scripts)
	in.masterAdvInt = cfg.AdvertInt
	return in
}

// setConfig installs cfg and rebuilds what derives from it, keeping the
// last values of trackers that survive.
func (in *instance) setConfig(cfg *config.VRRPInstance, scripts []*config.VRRPScript) {
	in.cfg = cfg
	vips := make([]netip.Addr, len(cfg.VirtualIPAddresses))
	for i, p := range cfg.VirtualIPAddresses {
		vips[i] = p.Addr()
	}
	slices.SortFunc(vips, netip.Addr.Compare)
	in.pol = rxPolicy{
		version:   uint8(cfg.Version),
		ipv6:      cfg.IPv6(),
		vrid:      uint8(cfg.VirtualRouterID),
		advertInt: advertUnits(cfg),
		vips:      vips,
		unicast:   len(cfg.UnicastPeers) > 0,
		peers:     cfg.UnicastPeers,
		self:      in.primary,
	}
	if cfg.AuthPass != "" {
		in.pol.authType = AuthPass
		in.pol.authData = authData(cfg.AuthPass)
	}

	old := map[string]*tracker{}
	for _, t := range in.trackers {
		old[t.label()] = t
	}
	keep := func(t *tracker) *tracker {
		if o := old[t.label()]; o != nil {
			t.known, t.ok, t.detail = o.known, o.ok, o.detail
		}
		return t
	}
	var ts []*tracker
	ts = append(ts, keep(&tracker{kind: trackInterface, name: cfg.Interface, implicit: true}))
	for _, name := range cfg.TrackInterfaces {
		if name == cfg.Interface {
			continue
		}
		ts = append(ts, keep(&tracker{kind: trackInterface, name: name}))
	}
	for _, name := range cfg.TrackScripts {
		w := 0
		for _, s := range scripts {
			if s.Name == name {
				w = s.Weight
			}
		}
		ts = append(ts, keep(&tracker{kind: trackScript, name: name, weight: w}))
	}
	for _, tb := range cfg.TrackBackends {
		ts = append(ts, keep(&tracker{kind: trackBackend, name: tb.Backend, weight: tb.Weight, minUp: tb.MinUp}))
	}
	in.trackers = ts
}

// advertUnits is the configured interval in the version's unit: seconds
// (VRRPv2), centiseconds (VRRPv3).
func advertUnits(cfg *config.VRRPInstance) uint16 {
	if cfg.Version == Version3 {
		return uint16(cfg.AdvertInt / (10 * time.Millisecond))
	}
	return uint16(cfg.AdvertInt / time.Second)
}

// advertInt is the configured advertisement interval.
func (in *instance) advertInt() time.Duration { return in.cfg.AdvertInt }

// skew is Skew_Time, with the effective priority as keepalived computes
// it: (256 - Priority) / 256 seconds with VRRPv2 (RFC 3768 section 6.1),
// ((256 - Priority) * Master_Adver_Interval) / 256 with VRRPv3 (RFC 5798
// section 6.1).
func (in *instance) skew() time.Duration {
	if in.cfg.Version == Version3 {
		return time.Duration(256-in.effPrio) * in.masterAdvInt / 256
	}
	return time.Duration(256-in.effPrio) * time.Second / 256
}

// masterDownInterval is Master_Down_Interval = 3 * Master_Adver_Interval
// + Skew_Time (RFC 3768 and RFC 5798 section 6.1; with VRRPv2 the
// master's interval is ours, adverts with another are dropped).
func (in *instance) masterDownInterval() time.Duration {
	return 3*in.masterAdvInt + in.skew()
}

// learnInterval is "Set Master_Adver_Interval to Adver Interval contained
// in the ADVERTISEMENT" (RFC 5798 sections 6.4.2 and 6.4.3).
func (in *instance) learnInterval(a *Advert) {
	if d := a.Interval(); in.cfg.Version == Version3 && d != in.masterAdvInt {
		in.log.Info().Dur("from", in.masterAdvInt).Dur("to", d).Msg("master advertisement interval learned from the master's adverts")
		in.masterAdvInt = d
	}
}

// preempts is Preempt_Mode (RFC 3768 section 6.1). The address owner
// always preempts; keepalived also ignores nopreempt with state MASTER. A
// released instance never does.
func (in *instance) preempts() bool {
	if in.standing == released {
		return false
	}
	return in.cfg.Preempt || in.cfg.Priority == PriorityOwner || in.cfg.State == "MASTER"
}

// encode builds our advert with the given priority, for an IP packet
// from src to dst (RFC 3768 section 5.1, RFC 5798 section 5.1).
func (in *instance) encode(prio int, src, dst netip.Addr) []byte {
	a := Advert{
		Version:   uint8(in.cfg.Version),
		VRID:      uint8(in.cfg.VirtualRouterID),
		Priority:  uint8(prio),
		AuthType:  in.pol.authType,
		AdvertInt: in.pol.advertInt,
		AuthData:  in.pol.authData,
		Addrs:     make([]netip.Addr, len(in.cfg.VirtualIPAddresses)),
	}
	for i, p := range in.cfg.VirtualIPAddresses {
		a.Addrs[i] = p.Addr() // config order, as keepalived
	}
	b, err := a.Marshal(Pseudo{Src: src, Dst: dst})
	if err != nil {
		// The config package guarantees one family, at most 255
		// addresses and an interval that fits; the primary address is
		// of the instance's family.
		panic(fmt.Sprintf("vrrp: encoding our own advert: %v", err))
	}
	return b
}

// destinations are where adverts go: the group, or each unicast peer.
func (in *instance) destinations() []netip.Addr {
	if len(in.cfg.UnicastPeers) > 0 {
		return in.cfg.UnicastPeers
	}
	return []netip.Addr{Group(in.cfg.IPv6())}
}

func (in *instance) sendAdvert(prio int) {
	if !in.primary.IsValid() {
		in.ctr.sendErrors++
		if in.every("send-noaddr") {
			in.log.Warn().Msg("cannot send advert: no " + in.noSourceWhat())
		}
		return
	}
	var errs []error
	for _, dst := range in.destinations() {
		if err := in.io.sendAdvert(in.primary, dst, in.encode(prio, in.primary, dst)); err != nil {
			errs = append(errs, fmt.Errorf("to %s: %w", dst, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		in.ctr.sendErrors++
		if in.every("send") {
			in.log.Warn().Err(err).Msg("sending advert failed")
		}
		return
	}
	in.ctr.advertsSent++
	if prio == PriorityStop {
		in.ctr.priorityZeroSent++
	}
}

// every reports whether a repetitive event may be logged now: at most once
// per invalidLogEvery for each key.
func (in *instance) every(key string) bool {
	now := in.clk.Now()
	if last, ok := in.rlEvent[key]; ok && now.Sub(last) < invalidLogEvery {
		return false
	}
	in.rlEvent[key] = now
	return true
}

// onPacket handles one received VRRP packet (RFC 3768 section 7.1, then
// 6.4.2 or 6.4.3).
func (in *instance) onPacket(pkt rxPacket) {
	in.mu.Lock()
	defer in.unlock()
	if in.stopped {
		return
	}
	in.pol.self = in.primary
	a, perr := in.pol.check(pkt)
	if perr != nil {
		in.invalidPacket(pkt.Src, perr)
		return
	}
	in.ctr.advertsReceived++
	if a.Priority == PriorityStop {
		in.ctr.priorityZeroReceived++
	}
	in.onAdvert(pkt.Src, pkt.SrcMAC, a)
}

// invalidPacket counts a dropped packet and logs it at a rate limit: the
// first of each reason, then at most one line per reason per 10s with the
// number dropped meanwhile.
func (in *instance) invalidPacket(src netip.Addr, perr *ParseError) {
	in.ctr.invalid[perr.Reason]++
	now := in.clk.Now()
	if last, ok := in.rlReason[perr.Reason]; ok && now.Sub(last) < invalidLogEvery {
		return
	}
	in.rlReason[perr.Reason] = now
	in.log.Warn().Str("reason", string(perr.Reason)).Str("from", src.String()).
		Uint64("count", in.ctr.invalid[perr.Reason]).Str("detail", perr.Detail).
		Msg("dropped invalid VRRP packet")
}

// status snapshots the instance for the admin API.
func (in *instance) status() InstanceStatus {
	in.mu.Lock()
	defer in.unlock()
	st := InstanceStatus{
		Name:                 in.name,
		Interface:            in.cfg.Interface,
		State:                in.state.String(),
		Priority:             in.cfg.Priority,
		EffectivePriority:    in.effPrio,
		VRID:                 in.cfg.VirtualRouterID,
		Version:              in.cfg.Version,
		AdvertInt:            in.cfg.AdvertInt.String(),
		MasterAdvertInt:      in.masterAdvInt.String(),
		VMAC:                 in.cfg.VMACInterface,
		Preempt:              in.preempts(),
		Released:             in.standing == released,
		HandingOver:          in.handingOver(),
		SyncGroup:            in.groupName(),
		SyncGroupState:       in.groupStateName(),
		SourceAddress:        addrString(in.primary),
		LastTransition:       in.since,
		LastTransitionReason: in.reason,
		Counters: Counters{
			AdvertsSent:          in.ctr.advertsSent,
			AdvertsReceived:      in.ctr.advertsReceived,
			PriorityZeroSent:     in.ctr.priorityZeroSent,
			PriorityZeroReceived: in.ctr.priorityZeroReceived,
			Transitions:          in.ctr.transitions,
			BecameMaster:         in.ctr.becameMaster,
			LeftMaster:           in.ctr.leftMaster,
			SendErrors:           in.ctr.sendErrors,
			Invalid:              map[string]uint64{},
		},
	}
	if len(in.cfg.UnicastPeers) > 0 {
		st.Mode = "unicast"
	} else {
		st.Mode = "multicast"
	}
	for _, p := range in.cfg.VirtualIPAddresses {
		st.VIPs = append(st.VIPs, p.String())
	}
	if in.state == StateMaster || in.state == StateBackup {
		st.Master = addrString(in.master)
		if in.master.IsValid() {
			st.MasterPriority = in.masterPrio
		}
	}
	for _, r := range Reasons {
		st.Counters.Invalid[string(r)] = in.ctr.invalid[r]
	}
	owner := in.cfg.Priority == PriorityOwner
	for _, t := range in.trackers {
		d, f := t.contribution(owner, in.unweighted())
		w := t.weight
		if in.unweighted() {
			w = 0
		}
		ts := TrackerStatus{
			Kind: string(t.kind), Name: t.name, Weight: w,
			Status: "INIT", Detail: t.detail, Contribution: d, Fault: f, Implicit: t.implicit,
		}
		if t.known {
			ts.Status = map[bool]string{true: "OK", false: "KO"}[t.ok]
		}
		st.Trackers = append(st.Trackers, ts)
	}
	return st
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// noSourceWhat names the address an instance without a source lacks.
func (in *instance) noSourceWhat() string {
	if in.cfg.IPv6() && !in.cfg.UnicastSrc.IsValid() {
		return "IPv6 link-local address on " + in.cfg.Interface
	}
	return family(in.cfg.IPv6()) + " address on " + in.cfg.Interface
}
