package bgp

import (
	"net/netip"
	"slices"
	"time"
)

// Status is the speaker as `lbctl bgp status` shows it; the JSON keys are
// part of the admin API.
type Status struct {
	// Configured is false without a bgp block (everything else is empty).
	Configured bool   `json:"configured"`
	ASN        uint32 `json:"asn,omitempty"`
	RouterID   string `json:"router_id,omitempty"`
	Interface  string `json:"interface,omitempty"`
	// Drained is set by lbctl bgp drain until lbctl bgp undrain.
	Drained      bool      `json:"drained"`
	DrainedSince time.Time `json:"drained_since,omitzero"`
	Stopping     bool      `json:"stopping"`
	// RoutesAnnounced counts the VIPs in the speaker's table now (each
	// goes to every established neighbour of its address family).
	RoutesAnnounced int              `json:"routes_announced"`
	Neighbors       []NeighborStatus `json:"neighbors"`
	Announces       []AnnounceStatus `json:"announces"`
}

// NeighborStatus is one BGP session.
type NeighborStatus struct {
	Address  string `json:"address"`
	RemoteAS uint32 `json:"remote_as"`
	// State is the RFC 4271 FSM state: IDLE, CONNECT, ACTIVE, OPENSENT,
	// OPENCONFIRM or ESTABLISHED.
	State string `json:"state"`
	// Since is the last state change.
	Since time.Time `json:"since,omitzero"`
	// EstablishedSince is set while ESTABLISHED (the uptime).
	EstablishedSince time.Time `json:"established_since,omitzero"`
	// HoldTime is the negotiated hold time in seconds (0 before OPEN).
	HoldTime int `json:"hold_time"`
	// RoutesAnnounced is what GoBGP advertised to this neighbour.
	RoutesAnnounced  uint64 `json:"routes_announced"`
	Transitions      uint64 `json:"transitions"`
	MessagesSent     uint64 `json:"messages_sent"`
	MessagesReceived uint64 `json:"messages_received"`
	// LastError is why the session last went down, "" if it never did.
	LastError string `json:"last_error,omitempty"`
	// BFD is the BFD session's state (UP, DOWN, INIT, ADMIN_DOWN), ""
	// without bfd.
	BFD string `json:"bfd,omitempty"`
}

// AnnounceStatus is one announce group.
type AnnounceStatus struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	Announced bool     `json:"announced"`
	// Reason says why it is (not) announced: serving, drained, stopping,
	// or the tracked backend short of servers.
	Reason      string          `json:"reason"`
	Since       time.Time       `json:"since,omitzero"`
	Transitions uint64          `json:"transitions"`
	Trackers    []TrackerStatus `json:"trackers"`
}

// TrackerStatus is one tracked backend of a group.
type TrackerStatus struct {
	Backend string `json:"backend"`
	Usable  int    `json:"usable"`
	MinUp   int    `json:"min_up"`
	OK      bool   `json:"ok"`
}

// Status reports the speaker.
func (s *Speaker) Status() Status {
	s.mu.Lock()
	cfg, rt := s.cfg, s.rt
	st := Status{Configured: cfg != nil, Drained: s.drained, DrainedSince: s.drainedAt, Stopping: s.stopping,
		RoutesAnnounced: len(s.routes), Neighbors: []NeighborStatus{}, Announces: []AnnounceStatus{}}
	if cfg == nil {
		s.mu.Unlock()
		return st
	}
	st.ASN, st.RouterID, st.Interface = cfg.ASN, cfg.RouterID.String(), s.iface
	for _, a := range cfg.Announces {
		as := AnnounceStatus{Name: a.Name, Trackers: []TrackerStatus{}}
		for _, ad := range a.Addresses {
			as.Addresses = append(as.Addresses, ad.String())
		}
		if gs := s.groups[a.Name]; gs != nil {
			as.Announced, as.Reason, as.Since, as.Transitions = gs.announced, gs.reason, gs.since, gs.transitions
		}
		for _, tb := range a.TrackBackends {
			n := 0
			if s.tracker != nil {
				n = s.tracker.UsableServers(tb.Backend)
			}
			as.Trackers = append(as.Trackers, TrackerStatus{Backend: tb.Backend, Usable: n, MinUp: tb.MinUp, OK: n >= tb.MinUp})
		}
		st.Announces = append(st.Announces, as)
	}
	s.mu.Unlock()

	var infos []peerInfo
	if rt != nil {
		infos = rt.peers()
	}
	s.stMu.Lock()
	defer s.stMu.Unlock()
	for _, n := range cfg.Neighbors {
		ns := NeighborStatus{Address: n.Address.String(), RemoteAS: n.RemoteAS, State: "IDLE"}
		if ss := s.sessions[n.Address]; ss != nil {
			ns.State, ns.Since, ns.Transitions, ns.LastError = ss.state, ss.since, ss.transitions, ss.lastError
		}
		if i := slices.IndexFunc(infos, func(p peerInfo) bool { return p.addr == n.Address }); i >= 0 {
			p := infos[i]
			if p.state != "" {
				ns.State = p.state
			}
			ns.EstablishedSince, ns.HoldTime, ns.RoutesAnnounced = p.established, p.holdTime, p.advertised
			ns.MessagesSent, ns.MessagesReceived, ns.BFD = p.sent, p.recv, p.bfd
			if p.lastError != "" {
				ns.LastError = p.lastError
			}
		}
		st.Neighbors = append(st.Neighbors, ns)
	}
	return st
}

// addrStrings is for logs.
func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
