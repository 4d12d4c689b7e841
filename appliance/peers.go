package appliance

import (
	"bytes"
	"sort"

	"lbd/config"
	"lbd/peers"
	"lbd/sticktable"
)

// applyPeers starts, keeps or stops the links of the peers blocks: a
// block unchanged keeps its link (and connection); a changed one is
// restarted.
func (a *Appliance) applyPeers(cfg *config.Config) error {
	a.pmu.Lock()
	defer a.pmu.Unlock()
	want := map[string]*config.Peers{}
	for _, p := range cfg.Peers {
		want[p.Name] = p
	}
	// New and changed links start first (SO_REUSEPORT lets a changed one
	// bind beside its predecessor): a failure leaves the running ones.
	started := map[string]*peers.Link{}
	for _, p := range cfg.Peers {
		if l := a.peers[p.Name]; l != nil && sameLink(l.Config(), p) {
			continue
		}
		name := p.Name
		l, err := peers.Start(peers.Config{Name: name, Bind: p.Bind, Peer: p.Peer, Secret: p.Secret},
			func() []*sticktable.Table { return a.sharedTables(name) }, a.log.With().Str("component", "peers").Logger())
		if err != nil {
			for _, s := range started {
				s.Close()
			}
			return err
		}
		started[name] = l
	}
	for name, l := range a.peers {
		if want[name] == nil || started[name] != nil {
			l.Close()
			delete(a.peers, name)
		}
	}
	if a.peers == nil {
		a.peers = map[string]*peers.Link{}
	}
	for name, l := range started {
		a.peers[name] = l
	}
	return nil
}

func sameLink(c peers.Config, p *config.Peers) bool {
	return c.Bind == p.Bind && c.Peer == p.Peer && bytes.Equal(c.Secret, p.Secret)
}

// sharedTables lists the running tables that name the peers block.
func (a *Appliance) sharedTables(name string) []*sticktable.Table {
	var out []*sticktable.Table
	for _, t := range a.proxy.Tables() {
		if t.Spec().Peers == name {
			out = append(out, t)
		}
	}
	return out
}

// closePeers stops every link.
func (a *Appliance) closePeers() {
	a.pmu.Lock()
	defer a.pmu.Unlock()
	for name, l := range a.peers {
		l.Close()
		delete(a.peers, name)
	}
}

// PeersStats lists the links' counters, by name.
func (a *Appliance) PeersStats() []peers.Stats {
	a.pmu.Lock()
	defer a.pmu.Unlock()
	var out []peers.Stats
	for _, l := range a.peers {
		out = append(out, l.Stats())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
