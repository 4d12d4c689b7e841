package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/rs/zerolog"

	"lbd/config"
)

// router is the BGP speaker as the Speaker drives it: GoBGP in the daemon
// (gobgpRouter), a recorder in the unit tests of the decision logic.
type router interface {
	// start runs the speaker with the global settings of g.
	start(g *config.BGP) error
	// stop closes every session (CEASE) and the listener.
	stop()
	addPeer(n *config.BGPNeighbor, g *config.BGP) error
	deletePeer(addr netip.Addr) error
	// announce adds (or replaces) the host route of addr; withdraw
	// removes it.
	announce(addr netip.Addr, communities []uint32) error
	withdraw(addr netip.Addr) error
	// peers reports the sessions.
	peers() []peerInfo
}

// peerInfo is what the speaker knows of one session.
type peerInfo struct {
	addr        netip.Addr
	state       string // IDLE, CONNECT, ACTIVE, OPENSENT, OPENCONFIRM, ESTABLISHED
	established time.Time
	holdTime    int // negotiated, seconds
	advertised  uint64
	sent, recv  uint64 // messages
	lastError   string
	bfd         string // BFD session state, "" without BFD
}

// connectRetry is how long GoBGP waits between two attempts to reach a
// neighbour (its default, RFC 4271's 120s, would keep a node out of the
// rotation for two minutes after the router restarts).
const connectRetry = 5

// gobgpRouter is the router over GoBGP's library API.
type gobgpRouter struct {
	log zerolog.Logger
	// onState is called on each session state change (from GoBGP's
	// event goroutine).
	onState func(addr netip.Addr, from, to string, reason string)

	mu     sync.Mutex
	s      *server.BgpServer
	cancel context.CancelFunc
}

func newGoBGP(log zerolog.Logger, onState func(addr netip.Addr, from, to, reason string)) *gobgpRouter {
	return &gobgpRouter{log: log, onState: onState}
}

func (r *gobgpRouter) start(g *config.BGP) error {
	s := server.NewBgpServer(server.LoggerOption(newSlog(r.log.With().Str("component", "gobgp").Logger()), nil))
	go s.Serve()
	port := int32(g.ListenPort)
	if port == 0 {
		port = -1 // GoBGP: do not listen
	}
	ctx := context.Background()
	if err := s.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        g.ASN,
		RouterId:   g.RouterID.String(),
		ListenPort: port,
	}}); err != nil {
		s.Stop()
		return fmt.Errorf("bgp: start: %w", err)
	}
	if err := rejectLearnt(ctx, s); err != nil {
		s.Stop()
		return fmt.Errorf("bgp: import policy: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	if err := s.WatchEvent(wctx, server.WatchEventMessageCallbacks{
		OnPeerUpdate: r.peerEvent,
	}, server.WatchPeer()); err != nil {
		cancel()
		s.Stop()
		return fmt.Errorf("bgp: watch: %w", err)
	}
	r.mu.Lock()
	r.s, r.cancel = s, cancel
	r.mu.Unlock()
	return nil
}

// rejectLearnt makes GoBGP drop whatever the routers send (lbd only
// originates; their routes would fill a table nobody reads): paths from
// any neighbour are rejected on import, lbd's own (no neighbour) pass. A
// default REJECT would refuse lbd's own paths too.
func rejectLearnt(ctx context.Context, s *server.BgpServer) error {
	const set, pol = "lbd-any-neighbor", "lbd-originate-only"
	if err := s.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: &api.DefinedSet{
		DefinedType: api.DefinedType_DEFINED_TYPE_NEIGHBOR, Name: set, List: []string{"0.0.0.0/0", "::/0"},
	}}); err != nil {
		return err
	}
	if err := s.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: pol, Statements: []*api.Statement{{
		Name:       pol + "-reject",
		Conditions: &api.Conditions{NeighborSet: &api.MatchSet{Type: api.MatchSet_TYPE_ANY, Name: set}},
		Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_REJECT},
	}}}}); err != nil {
		return err
	}
	return s.AddPolicyAssignment(ctx, &api.AddPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: "global", Direction: api.PolicyDirection_POLICY_DIRECTION_IMPORT,
		Policies: []*api.Policy{{Name: pol}}, DefaultAction: api.RouteAction_ROUTE_ACTION_ACCEPT,
	}})
}

// peerEvent turns GoBGP's state events into onState calls.
func (r *gobgpRouter) peerEvent(ev *apiutil.WatchEventMessage_PeerEvent, _ time.Time) {
	if ev.Type != apiutil.PEER_EVENT_STATE || r.onState == nil {
		return
	}
	p := ev.Peer
	reason := ""
	if p.State.SessionState != bgp.BGP_FSM_ESTABLISHED && p.State.DisconnectReason != api.PeerState_DISCONNECT_REASON_UNSPECIFIED {
		reason = disconnectText(p.State.DisconnectReason, p.State.DisconnectMessage)
	}
	r.onState(p.Conf.NeighborAddress, "", fsmName(p.State.SessionState), reason)
}

func (r *gobgpRouter) server() *server.BgpServer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s
}

func (r *gobgpRouter) stop() {
	r.mu.Lock()
	s, cancel := r.s, r.cancel
	r.s, r.cancel = nil, nil
	r.mu.Unlock()
	if s == nil {
		return
	}
	cancel()
	// StopBgp deletes every neighbour, each with a CEASE NOTIFICATION
	// (RFC 4486 subcode 3, peer de-configured): the routers drop our
	// routes at once rather than after the hold time.
	s.Stop()
}

func (r *gobgpRouter) addPeer(n *config.BGPNeighbor, g *config.BGP) error {
	s := r.server()
	if s == nil {
		return fmt.Errorf("bgp: not running")
	}
	fam := &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	if n.Address.Is6() {
		fam.Afi = api.Family_AFI_IP6
	}
	p := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: n.Address.String(),
			PeerAsn:         n.RemoteAS,
			AuthPassword:    n.Password,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:          uint64(g.HoldTime / time.Second),
			KeepaliveInterval: uint64(g.Keepalive / time.Second),
			ConnectRetry:      connectRetry,
			// After a reset (a BFD failure, a NOTIFICATION) GoBGP waits
			// this long before it tries again: its 30s default kept a
			// node back on the network out of the rotation for 30s.
			IdleHoldTimeAfterReset: connectRetry,
		}},
		Transport: &api.Transport{
			RemotePort:  uint32(n.Port),
			PassiveMode: n.Passive,
		},
		AfiSafis: []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: fam, Enabled: true}}},
	}
	if n.LocalAddress.IsValid() {
		p.Transport.LocalAddress = n.LocalAddress.String()
	}
	if n.EBGPMultihop > 0 {
		p.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(n.EBGPMultihop)}
	}
	if n.BFD {
		us := uint32(n.BFDInterval / time.Microsecond)
		p.Bfd = &api.BfdPeerConfig{Enabled: true, DesiredMinimumTxInterval: us, RequiredMinimumReceive: us,
			DetectionMultiplier: uint32(n.BFDMultiplier)}
	}
	if err := s.AddPeer(context.Background(), &api.AddPeerRequest{Peer: p}); err != nil {
		return fmt.Errorf("bgp: neighbor %s: %w", n.Address, err)
	}
	return nil
}

func (r *gobgpRouter) deletePeer(addr netip.Addr) error {
	s := r.server()
	if s == nil {
		return nil
	}
	if err := s.DeletePeer(context.Background(), &api.DeletePeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("bgp: neighbor %s: %w", addr, err)
	}
	return nil
}

// hostPath is the path of addr's host route, next hop "self": GoBGP puts
// the session's local address in place of the unspecified next hop
// (always on eBGP sessions; on iBGP ones for an unspecified next hop).
func hostPath(addr netip.Addr, communities []uint32, withdraw bool) (*apiutil.Path, error) {
	nlri, err := bgp.NewIPAddrPrefix(netip.PrefixFrom(addr, addr.BitLen()))
	if err != nil {
		return nil, err
	}
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	fam := bgp.RF_IPv4_UC
	if addr.Is4() {
		nh, err := bgp.NewPathAttributeNextHop(netip.IPv4Unspecified())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, nh)
	} else {
		fam = bgp.RF_IPv6_UC
		mp, err := bgp.NewPathAttributeMpReachNLRI(fam, []bgp.PathNLRI{{NLRI: nlri}}, netip.IPv6Unspecified())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, mp)
	}
	if len(communities) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeCommunities(communities))
	}
	return &apiutil.Path{Family: fam, Nlri: nlri, Attrs: attrs, Withdrawal: withdraw}, nil
}

func (r *gobgpRouter) announce(addr netip.Addr, communities []uint32) error {
	s := r.server()
	if s == nil {
		return fmt.Errorf("bgp: not running")
	}
	p, err := hostPath(addr, communities, false)
	if err != nil {
		return fmt.Errorf("bgp: route %s: %w", addr, err)
	}
	if _, err := s.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("bgp: announce %s: %w", addr, err)
	}
	return nil
}

func (r *gobgpRouter) withdraw(addr netip.Addr) error {
	s := r.server()
	if s == nil {
		return nil
	}
	p, err := hostPath(addr, nil, true)
	if err != nil {
		return fmt.Errorf("bgp: route %s: %w", addr, err)
	}
	if err := s.DeletePath(apiutil.DeletePathRequest{Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("bgp: withdraw %s: %w", addr, err)
	}
	return nil
}

func (r *gobgpRouter) peers() []peerInfo {
	s := r.server()
	if s == nil {
		return nil
	}
	var out []peerInfo
	_ = s.ListPeer(context.Background(), &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		pi := peerInfo{}
		if p.Conf != nil {
			pi.addr, _ = netip.ParseAddr(p.Conf.NeighborAddress)
		}
		if st := p.State; st != nil {
			pi.state = apiStateName(st.SessionState)
			if st.Messages != nil {
				if st.Messages.Sent != nil {
					pi.sent = st.Messages.Sent.Total
				}
				if st.Messages.Received != nil {
					pi.recv = st.Messages.Received.Total
				}
			}
			if st.SessionState != api.PeerState_SESSION_STATE_ESTABLISHED && st.DisconnectReason != api.PeerState_DISCONNECT_REASON_UNSPECIFIED {
				pi.lastError = disconnectText(st.DisconnectReason, st.DisconnectMessage)
			}
			if p.Bfd != nil && p.Bfd.Enabled && st.BfdState != nil {
				pi.bfd = strings.TrimPrefix(st.BfdState.SessionState.String(), "BFD_SESSION_STATE_")
			}
		}
		if t := p.Timers; t != nil && t.State != nil {
			pi.holdTime = int(t.State.NegotiatedHoldTime)
			if pi.state == "ESTABLISHED" && t.State.Uptime != nil {
				pi.established = t.State.Uptime.AsTime()
			}
		}
		for _, af := range p.AfiSafis {
			if af.State != nil {
				pi.advertised += af.State.Advertised
			}
		}
		out = append(out, pi)
	})
	return out
}

func fsmName(s bgp.FSMState) string {
	switch s {
	case bgp.BGP_FSM_IDLE:
		return "IDLE"
	case bgp.BGP_FSM_CONNECT:
		return "CONNECT"
	case bgp.BGP_FSM_ACTIVE:
		return "ACTIVE"
	case bgp.BGP_FSM_OPENSENT:
		return "OPENSENT"
	case bgp.BGP_FSM_OPENCONFIRM:
		return "OPENCONFIRM"
	case bgp.BGP_FSM_ESTABLISHED:
		return "ESTABLISHED"
	}
	return "UNKNOWN"
}

func apiStateName(s api.PeerState_SessionState) string {
	n, ok := strings.CutPrefix(s.String(), "SESSION_STATE_")
	if !ok || s == api.PeerState_SESSION_STATE_UNSPECIFIED {
		return "IDLE"
	}
	return n
}

// disconnectText is why a session went down, in words.
func disconnectText(r api.PeerState_DisconnectReason, msg string) string {
	s := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(r.String(), "DISCONNECT_REASON_"), "_", " "))
	if msg != "" {
		s += ": " + msg
	}
	return s
}
