package vrrp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/rs/zerolog"

	"lbd/clock"
	"lbd/config"
)

// BackendTracker tells the speaker how healthy the proxy is, without vrrp
// importing it.
type BackendTracker interface {
	// UsableServers is the number of servers of the backend that may take
	// traffic now.
	UsableServers(backend string) int
	// Subscribe registers fn, called (from any goroutine) after a change
	// of a backend's usable servers; cancel unregisters it.
	Subscribe(fn func(backend string)) (cancel func())
}

// Speaker runs the configured vrrp_instance blocks.
type Speaker struct {
	log     zerolog.Logger
	tracker BackendTracker
	clk     clock.Clock
	mkHost  func() (host, error)
	quiet   Quiescer // set before Apply (SetQuiescer)

	mu        sync.Mutex // Apply, Shutdown and the instance list
	host      host
	stopWatch func()
	untrack   func()
	instances []*running
	retiring  []*running               // restarted by a reload, handing over (retire)
	groups    map[string]*runningGroup // vrrp_sync_group by name
	closed    bool
	awaiting  bool // AwaitHandoff: Apply leaves new instances to Adopt (handoff.go)

	srcMu   sync.Mutex // leaf lock: what the trackers read
	scripts map[string]*scriptRunner
	links   map[string]linkInfo

	kick chan struct{}
	// refreshMu is held by the refresh loop while it re-reads trackers,
	// and by Hold during a reload (see Hold).
	refreshMu sync.Mutex
	quit      chan struct{}
	loopDone  chan struct{}
}

// running is an instance with what the speaker owns for it.
type running struct {
	in  *instance
	io  instanceIO
	cfg *config.VRRPInstance
	nq  *notifyQueue
}

// runningGroup is a vrrp_sync_group with its notify queue, which
// survives reloads.
type runningGroup struct {
	g  *syncGroup
	nq *notifyQueue
}

// New returns a speaker with no instances; Apply starts them. tracker may
// be nil when no instance uses track_backend.
func New(log zerolog.Logger, tracker BackendTracker) *Speaker {
	l := log.With().Str("component", "vrrp").Logger()
	return newSpeaker(l, tracker, clock.Real{}, func() (host, error) { return newHost(l) })
}

func newSpeaker(log zerolog.Logger, tracker BackendTracker, clk clock.Clock, mkHost func() (host, error)) *Speaker {
	s := &Speaker{
		log:      log,
		tracker:  tracker,
		clk:      clk,
		mkHost:   mkHost,
		scripts:  map[string]*scriptRunner{},
		links:    map[string]linkInfo{},
		groups:   map[string]*runningGroup{},
		kick:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	go s.refreshLoop()
	return s
}

// SetQuiescer gives the speaker the proxy to ask for a quiet moment when
// a master hands its VIPs over (see Quiescer). Without one, a leaving
// master moves its VIPs switchSettle after the new master's first advert.
// Call it before Apply.
func (s *Speaker) SetQuiescer(q Quiescer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quiet = q
	for _, r := range s.instances {
		r.in.mu.Lock()
		r.in.quiet = q
		r.in.mu.Unlock()
	}
}

// Apply starts, changes and stops instances to match cfg, on first start
// and on every reload. An instance whose interface, VRID and unicast
// settings are unchanged is updated in place and keeps its state (no flap
// on reload); one whose identity changed is restarted; one that is gone
// is stopped (priority 0, VIPs removed). On error nothing has changed.
func (s *Speaker) Apply(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("vrrp: speaker is shut down")
	}
	if len(cfg.VRRPInstances) > 0 && s.host == nil {
		h, err := s.mkHost()
		if err != nil {
			return err
		}
		s.host = h
	}
	if err := s.check(cfg); err != nil {
		return err
	}
	if s.host != nil && s.stopWatch == nil {
		stop, err := s.host.watch(s.onLink, s.onAddr)
		if err != nil {
			return err
		}
		s.stopWatch = stop
	}

	// Open the sockets of new and restarted instances first: if one
	// fails, close them and leave everything as it was.
	type plan struct {
		vi  *config.VRRPInstance
		old *running
		new *running
	}
	var plans []plan
	for _, vi := range cfg.VRRPInstances {
		old := s.find(vi.Name)
		if old != nil && sameIdentity(old.cfg, vi) {
			plans = append(plans, plan{vi: vi, old: old})
			continue
		}
		r, err := s.create(vi, cfg.VRRPScripts)
		if err != nil {
			for _, p := range plans {
				if p.new != nil {
					p.new.io.close()
					p.new.nq.close()
				}
			}
			return err
		}
		plans = append(plans, plan{vi: vi, old: old, new: r})
	}

	for _, vi := range cfg.VRRPInstances {
		s.warnConfig(vi, cfg)
	}
	s.refreshLinks(cfg)
	s.applyScripts(cfg)
	if s.tracker != nil && s.untrack == nil {
		s.untrack = s.tracker.Subscribe(func(string) { s.poke() })
	}

	var list []*running
	later := map[*running]bool{} // started once their predecessor handed over
	for _, p := range plans {
		switch {
		case p.new == nil:
			p.old.in.reconfigure(p.vi, cfg.VRRPScripts)
			p.old.cfg = p.vi
			list = append(list, p.old)
		default:
			if p.old != nil && s.retire(p.old, p.new) {
				later[p.new] = true
			}
			list = append(list, p.new)
		}
	}
	for _, r := range s.instances {
		if !slices.ContainsFunc(plans, func(p plan) bool { return p.old == r }) {
			s.stopRunning(r, "removed from the configuration")
		}
	}
	s.instances = list
	s.applyGroups(cfg)
	for _, p := range plans {
		if p.new != nil && !s.awaiting && !later[p.new] {
			p.new.in.start()
		}
	}
	return nil
}

// applyGroups rebuilds the sync groups over the running instances. A
// group that was there keeps its state and notify queue.
func (s *Speaker) applyGroups(cfg *config.Config) {
	var left []*instance
	for _, r := range s.instances {
		if r.in.leaveGroup() {
			left = append(left, r.in)
		}
	}
	old := s.groups
	s.groups = map[string]*runningGroup{}
	for _, gc := range cfg.VRRPSyncGroups {
		prev, nq := StateInit, (*notifyQueue)(nil)
		if o := old[gc.Name]; o != nil {
			prev, nq = o.g.groupState(), o.nq
			delete(old, gc.Name)
		} else {
			nq = newNotifyQueue(s.log.With().Str("sync_group", gc.Name).Logger())
		}
		g := newSyncGroup(gc, s.log, nq.push)
		for _, name := range gc.Group {
			if r := s.find(name); r != nil {
				g.join(r.in, prev)
			}
		}
		g.joined()
		s.groups[gc.Name] = &runningGroup{g: g, nq: nq}
	}
	for _, o := range old {
		o.nq.close()
	}
	for _, in := range left {
		in.leftGroup()
	}
}

// check refuses a config this host cannot run, before anything changes.
func (s *Speaker) check(cfg *config.Config) error {
	var errs []error
	for _, vi := range cfg.VRRPInstances {
		if _, ok, err := s.host.link(vi.Interface); err != nil {
			errs = append(errs, err)
		} else if !ok {
			errs = append(errs, fmt.Errorf("vrrp_instance %q: interface %q does not exist", vi.Name, vi.Interface))
		}
		if len(vi.TrackBackends) > 0 && s.tracker == nil {
			errs = append(errs, fmt.Errorf("vrrp_instance %q: track_backend needs the proxy's health tracker", vi.Name))
		}
	}
	return errors.Join(errs...)
}

// warnConfig logs the settings keepalived would also ignore.
func (s *Speaker) warnConfig(vi *config.VRRPInstance, cfg *config.Config) {
	log := s.log.Warn().Str("instance", vi.Name)
	switch {
	case !vi.Preempt && (vi.State == "MASTER" || vi.Priority == PriorityOwner):
		log.Msg("preempt = false is ignored with state MASTER or priority 255 (as keepalived)")
		return
	case vi.PreemptDelay > 0 && vi.State == "MASTER":
		log.Msg("preempt_delay is ignored with state MASTER (as keepalived)")
		return
	}
	if vi.Priority == PriorityOwner {
		weighted := false
		for _, n := range vi.TrackScripts {
			if sc := cfg.VRRPScript(n); sc != nil && sc.Weight != 0 {
				weighted = true
			}
		}
		for _, tb := range vi.TrackBackends {
			if tb.Weight != 0 {
				weighted = true
			}
		}
		if weighted {
			log.Msg("tracking weights are ignored by the address owner (priority 255); only weight 0 (FAULT) applies")
			return
		}
	}
	log.Discard()
}

// sameIdentity reports whether a reload can change an instance in place:
// the same virtual router (VRID and family) on the same interface, the
// same transport (the socket joins the multicast group or not) and the
// same macvlan. New unicast peers or a new unicast_src apply in place, and
// so does a new version (the codec follows the config).
func sameIdentity(a, b *config.VRRPInstance) bool {
	return a.Interface == b.Interface && a.VirtualRouterID == b.VirtualRouterID && a.IPv6() == b.IPv6() &&
		(len(a.UnicastPeers) > 0) == (len(b.UnicastPeers) > 0) &&
		a.VMACInterface == b.VMACInterface && a.VMACXmitBase == b.VMACXmitBase
}

func (s *Speaker) find(name string) *running {
	for _, r := range s.instances {
		if r.cfg.Name == name {
			return r
		}
	}
	return nil
}

// create builds an instance and opens its sockets; it starts later.
func (s *Speaker) create(vi *config.VRRPInstance, scripts []*config.VRRPScript) (*running, error) {
	nq := newNotifyQueue(s.log.With().Str("instance", vi.Name).Logger())
	in := newInstance(vi, scripts, s.log, s.clk, nil, speakerSource{s}, nq.push)
	in.quiet = s.quiet
	io, err := s.host.open(vi, in.onPacket)
	if err != nil {
		nq.close()
		return nil, fmt.Errorf("vrrp_instance %q: %w", vi.Name, err)
	}
	in.mu.Lock()
	in.io = io
	in.mu.Unlock()
	return &running{in: in, io: io, cfg: vi, nq: nq}, nil
}

// retire stops an instance a reload restarts (a new interface, VRID,
// transport or macvlan) the way a planned stop does: a master sends
// priority 0 and keeps its VIPs until a peer is master (at most the master
// down interval), then moves them at a quiet moment; its successor starts
// once they are gone, so that it does not take them from under it. It
// reports whether the successor waits (false: the old instance stopped at
// once, start the successor now). The caller holds s.mu.
func (s *Speaker) retire(old, next *running) bool {
	h := old.in.retire("restarted: interface, VRID, address family, multicast/unicast mode or use_vmac changed")
	if h == nil {
		old.io.close()
		old.nq.close()
		return false
	}
	s.retiring = append(s.retiring, old)
	go func() {
		<-h.done
		old.io.close()
		old.nq.close()
		s.mu.Lock()
		s.retiring = slices.DeleteFunc(s.retiring, func(r *running) bool { return r == old })
		start := !s.closed && !s.awaiting && slices.Contains(s.instances, next)
		s.mu.Unlock()
		if start {
			next.in.start()
		}
	}()
	return true
}

// stopRunning stops an instance at once (priority 0 if master, VIPs
// removed) and closes its sockets.
func (s *Speaker) stopRunning(r *running, reason string) {
	r.in.forceStop(reason)
	r.io.close()
	r.nq.close()
}

// refreshLinks reads the state of every interface an instance tracks.
func (s *Speaker) refreshLinks(cfg *config.Config) {
	names := map[string]bool{}
	for _, vi := range cfg.VRRPInstances {
		names[vi.Interface] = true
		for _, n := range vi.TrackInterfaces {
			names[n] = true
		}
	}
	for n := range names {
		li, ok, err := s.host.link(n)
		if err != nil {
			s.log.Warn().Err(err).Msg("reading link state")
			continue
		}
		if !ok {
			li = linkInfo{name: n, deleted: true}
		}
		s.srcMu.Lock()
		s.links[n] = li
		s.srcMu.Unlock()
	}
}

// applyScripts starts the scripts some instance tracks, restarts changed
// ones (keeping their state) and stops the others.
func (s *Speaker) applyScripts(cfg *config.Config) {
	used := map[string]bool{}
	for _, vi := range cfg.VRRPInstances {
		for _, n := range vi.TrackScripts {
			used[n] = true
		}
	}
	// Runners are stopped outside srcMu: stopping one may wait for a
	// script to be killed, and the instances read srcMu meanwhile.
	var stopped []*scriptRunner
	defer func() {
		for _, r := range stopped {
			r.stop()
		}
	}()
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	for _, sc := range cfg.VRRPScripts {
		if !used[sc.Name] {
			continue
		}
		old := s.scripts[sc.Name]
		switch {
		case old == nil:
			s.scripts[sc.Name] = startScript(sc, s.log, s.poke, nil)
		case !sameRun(old.cfg, sc):
			old.cancel()
			stopped = append(stopped, old)
			s.scripts[sc.Name] = startScript(sc, s.log, s.poke, old)
		}
		// Same run: the runner keeps going; a new weight is read by the
		// instances from their own config.
	}
	for name, r := range s.scripts {
		if !used[name] {
			stopped = append(stopped, r)
			delete(s.scripts, name)
		}
	}
}

// poke asks the refresh loop to re-read every tracker; it never blocks.
// Hold stops the re-reading of trackers until Resume. A reload applies
// the servers before the speaker gets the new instances: in between, a
// backend that the new file renames or removes would count as having no
// usable server for the old tracker, and a master tracking it would fail
// over (weight 0: FAULT) on a reload that changes nothing for the pair.
// Changes seen during the hold are read once Resume is called.
func (s *Speaker) Hold() { s.refreshMu.Lock() }

// Resume ends Hold and re-reads the trackers.
func (s *Speaker) Resume() {
	s.refreshMu.Unlock()
	s.poke()
}

func (s *Speaker) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Speaker) refreshLoop() {
	defer close(s.loopDone)
	for {
		select {
		case <-s.quit:
			return
		case <-s.kick:
		}
		s.refreshMu.Lock()
		for _, r := range s.snapshot() {
			r.in.trackersChanged("tracked source changed")
		}
		s.refreshMu.Unlock()
	}
}

func (s *Speaker) snapshot() []*running {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.instances)
}

func (s *Speaker) onLink(li linkInfo) {
	s.srcMu.Lock()
	if _, tracked := s.links[li.name]; !tracked {
		s.srcMu.Unlock()
		return
	}
	prev := s.links[li.name]
	s.links[li.name] = li
	s.srcMu.Unlock()
	if prev.up != li.up || prev.deleted != li.deleted {
		s.log.Info().Str("interface", li.name).Bool("up", li.up).Bool("deleted", li.deleted).Msg("link state")
	}
	if !li.deleted {
		for _, r := range s.snapshot() {
			if r.cfg.Interface == li.name && r.in.ifindex() != li.index {
				s.reopen(r, li.index)
			}
		}
	}
	s.poke()
}

// reopen moves an instance's sockets to an interface that was deleted and
// created again (a new index): sockets bound to the old one hear nothing.
func (s *Speaker) reopen(r *running, index int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.find(r.cfg.Name) != r || r.io.ifindex() == index {
		return
	}
	io, err := s.host.open(r.cfg, r.in.onPacket)
	if err != nil {
		s.log.Error().Err(err).Str("instance", r.cfg.Name).Msg("reopening sockets on a re-created interface")
		return
	}
	old := r.io
	r.io = io
	r.in.setIO(io)
	old.close()
	s.log.Info().Str("instance", r.cfg.Name).Str("interface", r.cfg.Interface).Int("ifindex", index).Msg("interface re-created: sockets reopened")
}

func (s *Speaker) onAddr(ev addrEvent) {
	for _, r := range s.snapshot() {
		switch {
		case ev.ifindex == -1:
			r.in.resync()
		case r.in.ifindex() == ev.ifindex || r.in.vipIfindex() == ev.ifindex:
			r.in.onAddrEvent(ev)
		}
	}
}

// speakerSource is the trackSource over the speaker's scripts, links and
// BackendTracker.
type speakerSource struct{ s *Speaker }

func (src speakerSource) script(name string) (bool, bool, string) {
	src.s.srcMu.Lock()
	r := src.s.scripts[name]
	src.s.srcMu.Unlock()
	if r == nil {
		return false, false, ""
	}
	return r.status()
}

func (src speakerSource) linkUp(name string) bool {
	src.s.srcMu.Lock()
	defer src.s.srcMu.Unlock()
	li := src.s.links[name]
	return li.up && !li.deleted
}

func (src speakerSource) usableServers(backend string) int {
	if src.s.tracker == nil {
		return 0
	}
	return src.s.tracker.UsableServers(backend)
}

// Status reports every instance, in configuration order.
func (s *Speaker) Status() []InstanceStatus {
	list := s.snapshot()
	out := make([]InstanceStatus, 0, len(list))
	for _, r := range list {
		out = append(out, r.in.status())
	}
	return out
}

func (s *Speaker) lookup(name string) (*instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.find(name); r != nil {
		return r.in, nil
	}
	return nil, fmt.Errorf("vrrp: no vrrp_instance %q", name)
}

// Release is lbctl vip release: a master hands its VIPs to the peer
// (priority 0, VIPs kept until the peer announces itself) and then stays
// BACKUP until Reclaim; an instance in another state just stays out of
// mastership. It returns once the handover is over (at most the master
// down interval) with an error if no peer took over, in which case the
// instance stays MASTER.
func (s *Speaker) Release(name string) error {
	in, err := s.lookup(name)
	if err != nil {
		return err
	}
	h, err := in.release()
	if err != nil || h == nil {
		return err
	}
	<-h.done
	return h.err
}

// Reclaim undoes Release: the instance takes part in elections again and
// preempts if its priority and preempt setting say so.
func (s *Speaker) Reclaim(name string) error {
	in, err := s.lookup(name)
	if err != nil {
		return err
	}
	return in.reclaim()
}

// Shutdown stops every instance. Masters hand over: they send priority 0
// and keep their VIPs until the peer announced itself master (at most the
// master down interval, or until ctx ends), then remove them. Others stop
// at once. Then sockets, scripts and watchers are closed, and queued
// notify scripts get until ctx ends to finish.
func (s *Speaker) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	// Instances a reload restarted finish their handover too.
	list := append(slices.Clone(s.instances), s.retiring...)
	s.mu.Unlock()

	var wg sync.WaitGroup
	for _, r := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h := r.in.shutdown(); h != nil {
				select {
				case <-h.done:
				case <-ctx.Done():
					r.in.forceStop("shutdown deadline: " + ctx.Err().Error())
				}
			}
		}()
	}
	wg.Wait()

	close(s.quit)
	<-s.loopDone
	// The watchers call back into the speaker: stop them without s.mu.
	s.mu.Lock()
	untrack, stopWatch := s.untrack, s.stopWatch
	s.mu.Unlock()
	if untrack != nil {
		untrack()
	}
	if stopWatch != nil {
		stopWatch()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.instances {
		r.io.close()
		r.nq.close()
	}
	for _, g := range s.groups {
		g.nq.close()
	}
	s.srcMu.Lock()
	scripts := s.scripts
	s.scripts = map[string]*scriptRunner{}
	s.srcMu.Unlock()
	for _, r := range scripts {
		r.stop()
	}
	var err error
	queues := make([]*notifyQueue, 0, len(s.instances)+len(s.groups))
	for _, r := range s.instances {
		queues = append(queues, r.nq)
	}
	for _, g := range s.groups {
		queues = append(queues, g.nq)
	}
	for _, q := range queues {
		select {
		case <-q.done:
		case <-ctx.Done():
			err = fmt.Errorf("vrrp: notify scripts still running: %w", ctx.Err())
		}
	}
	if s.host != nil {
		err = errors.Join(err, s.host.close())
	}
	return err
}
