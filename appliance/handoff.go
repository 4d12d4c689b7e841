package appliance

import (
	"context"
	"errors"
	"os"
	"time"

	"lbd/config"
	"lbd/handoff"
	"lbd/vrrp"
)

// The appliance's part of a seamless binary upgrade (package handoff): as
// the predecessor it gives its sockets and runtime state, hands VRRP over
// and retires; as the successor it starts on the inherited sockets with
// that state and resumes VRRP once given it.

// HandoffState returns the state and listening sockets (duplicates, which
// the caller closes once the successor has them) for a successor process.
func (a *Appliance) HandoffState() (*handoff.State, []*os.File, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := &handoff.State{Version: a.version, Servers: a.pool.Handoff()}
	for _, t := range a.proxy.Tables() {
		snap, err := t.Snapshot()
		if err != nil {
			return nil, nil, err
		}
		st.Tables = append(st.Tables, snap)
	}
	var files []*os.File
	fail := func(err error) (*handoff.State, []*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, err
	}
	fes, err := a.proxy.ListenerFiles()
	if err != nil {
		return fail(err)
	}
	for addr, f := range fes {
		st.Sockets = append(st.Sockets, handoff.Socket{Kind: handoff.KindFrontend, Addr: addr})
		files = append(files, f)
	}
	f, bind, err := a.stats.File()
	if err != nil {
		return fail(err)
	}
	if f != nil {
		st.Sockets = append(st.Sockets, handoff.Socket{Kind: handoff.KindStats, Addr: bind})
		files = append(files, f)
	}
	f, bind, err = a.peer.File()
	if err != nil {
		return fail(err)
	}
	if f != nil {
		st.Sockets = append(st.Sockets, handoff.Socket{Kind: handoff.KindPeerAPI, Addr: bind})
		files = append(files, f)
	}
	return st, files, nil
}

// StartSuccessor is Start for the successor of an upgrade: the frontends
// and the stats page serve on the sockets the predecessor handed over,
// the servers resume the state it handed over (UP stays UP, drained stays
// drained), the stick tables start with its entries, and the VRRP
// instances wait for AdoptVRRP.
func (a *Appliance) StartSuccessor(cfg *config.Config, pred *handoff.Predecessor) error {
	a.proxy.Inherit(pred.Files(handoff.KindFrontend))
	for bind, f := range pred.Files(handoff.KindStats) {
		a.stats.Inherit(bind, f)
	}
	for bind, f := range pred.Files(handoff.KindPeerAPI) {
		a.peer.Inherit(bind, f)
	}
	a.speaker.AwaitHandoff()
	a.proxy.SeedTables(pred.State.Tables)
	a.mu.Lock()
	a.adopt = pred.State.Servers
	a.mu.Unlock()
	err := a.Start(cfg)
	a.proxy.CloseInherited()
	return err
}

// adoptServers gives the pool the predecessor's server states, once, right
// after the first pool.Apply.
func (a *Appliance) adoptServers() {
	if a.adopt != nil {
		a.pool.Adopt(a.adopt)
		a.adopt = nil
	}
}

// PrepareHandoff readies the predecessor: with a bgp block the routes are
// withdrawn and the node serves for bgp.grace while the routers move the
// flows away, then the BGP sessions close, since a successor cannot take
// over a TCP session: it opens its own and announces again once its
// backends are usable.
func (a *Appliance) PrepareHandoff(ctx context.Context) error {
	a.mu.Lock()
	bgpOn := a.cfg != nil && a.cfg.BGP != nil
	a.mu.Unlock()
	if !bgpOn {
		return nil
	}
	return a.bgp.Shutdown(ctx)
}

// StopAccepting closes this process's listeners: the successor accepts on
// its own copies of the same sockets.
func (a *Appliance) StopAccepting() { a.proxy.StopAccepting() }

// HandVRRPOver stops the VRRP instances without a word to the peers and
// returns their states for the successor.
func (a *Appliance) HandVRRPOver() []vrrp.InstanceHandoff { return a.speaker.Handoff() }

// AdoptVRRP resumes the VRRP instances in the states the predecessor
// handed over.
func (a *Appliance) AdoptVRRP(h []vrrp.InstanceHandoff) { a.speaker.Adopt(h) }

// Retire ends the predecessor once its successor serves: it stops
// accepting (the successor accepts on the same sockets), lets its
// connections end on their own within ctx (global.grace) and stops the
// rest. The VIPs stay: the successor holds them.
func (a *Appliance) Retire(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	grace := time.Duration(0)
	if a.cfg != nil {
		grace = a.cfg.Global.Grace
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	a.stats.Close(sctx)
	cancel()
	a.peer.Close()
	a.closePeers() // the successor's links took over (SO_REUSEPORT)
	pctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	perr := a.proxy.Retire(pctx)
	verr := a.speaker.Shutdown(ctx) // instances are handed over: nothing to say
	a.pool.Close()
	return errors.Join(perr, verr)
}
