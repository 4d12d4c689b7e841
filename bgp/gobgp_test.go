package bgp

import (
	"context"
	"lbd/test/freeport"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/rs/zerolog"

	"lbd/config"
)

func freeTCPPort(t *testing.T, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("no %s: %v", host, err)
	}
	l.Close()
	return freeport.Port(t, host)
}

// peerRouter is a second, independent BGP speaker on loopback standing
// for the router: it accepts lbd's session and reports what it learnt.
type peerRouter struct {
	s *server.BgpServer
}

func startPeer(t *testing.T, host string, port int, lbdAddr string) *peerRouter {
	t.Helper()
	s := server.NewBgpServer()
	go s.Serve()
	if err := s.StartBgp(context.Background(), &api.StartBgpRequest{Global: &api.Global{
		Asn: 64513, RouterId: "192.0.2.1", ListenPort: int32(port), ListenAddresses: []string{host},
	}}); err != nil {
		t.Fatal(err)
	}
	fam := &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	if strings.Contains(host, ":") {
		fam.Afi = api.Family_AFI_IP6
	}
	if err := s.AddPeer(context.Background(), &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: lbdAddr, PeerAsn: 64512},
		Transport: &api.Transport{PassiveMode: true},
		Timers:    &api.Timers{Config: &api.TimersConfig{HoldTime: 3, KeepaliveInterval: 1}},
		AfiSafis:  []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: fam, Enabled: true}}},
	}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return &peerRouter{s: s}
}

// routes lists "prefix nexthop communities" the peer holds.
func (p *peerRouter) routes(fam bgp.Family) []string {
	var out []string
	_ = p.s.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: fam},
		func(prefix bgp.NLRI, paths []*apiutil.Path) {
			for _, path := range paths {
				var nh, comm string
				for _, a := range path.Attrs {
					switch a := a.(type) {
					case *bgp.PathAttributeNextHop:
						nh = a.Value.String()
					case *bgp.PathAttributeMpReachNLRI:
						nh = a.Nexthop.String()
					case *bgp.PathAttributeCommunities:
						for _, c := range a.Value {
							comm += " " + strconv.Itoa(int(c>>16)) + ":" + strconv.Itoa(int(c&0xffff))
						}
					}
				}
				out = append(out, prefix.String()+" via "+nh+comm)
			}
		})
	slices.Sort(out)
	return out
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGoBGPAgainstAPeer drives the real router adapter against another
// BGP speaker over loopback TCP: the session comes up, a host route with
// its communities and next hop self arrives, a withdraw removes it, and
// stop closes the session.
func TestGoBGPAgainstAPeer(t *testing.T) {
	for _, tc := range []struct {
		host   string
		vip    string
		learnt string
		fam    bgp.Family
	}{
		{"127.0.0.1", "198.51.100.200", "192.0.2.0/24", bgp.RF_IPv4_UC},
		{"::1", "2001:db8:ff::200", "2001:db8:1::/64", bgp.RF_IPv6_UC},
	} {
		t.Run(tc.host, func(t *testing.T) {
			port := freeTCPPort(t, tc.host)
			peer := startPeer(t, tc.host, port, tc.host)
			states := make(chan string, 64)
			r := newGoBGP(zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel), func(a netip.Addr, _, to, _ string) {
				if a == netip.MustParseAddr(tc.host) {
					states <- to
				}
			})
			g := &config.BGP{ASN: 64512, RouterID: netip.MustParseAddr("192.0.2.11"), ListenPort: 0,
				HoldTime: 3 * time.Second, Keepalive: time.Second}
			if err := r.start(g); err != nil {
				t.Fatal(err)
			}
			defer r.stop()
			n := &config.BGPNeighbor{Address: netip.MustParseAddr(tc.host), RemoteAS: 64513, Port: port}
			if err := r.addPeer(n, g); err != nil {
				t.Fatal(err)
			}
			vip := netip.MustParseAddr(tc.vip)
			if err := r.announce(vip, []uint32{64512<<16 | 100}); err != nil {
				t.Fatal(err)
			}
			want := netip.PrefixFrom(vip, vip.BitLen()).String() + " via " + tc.host + " 64512:100"
			waitFor(t, "the route at the peer", func() bool { return slices.Equal(peer.routes(tc.fam), []string{want}) })
			ps := r.peers()
			if len(ps) != 1 || ps[0].state != "ESTABLISHED" || ps[0].holdTime != 3 || ps[0].advertised != 1 || ps[0].established.IsZero() {
				t.Errorf("peers %+v", ps)
			}
			// What the router sends is not kept: lbd only originates.
			learnt, _ := hostPath(netip.MustParseAddr(tc.host), nil, false)
			learnt.Nlri, _ = bgp.NewIPAddrPrefix(netip.MustParsePrefix(tc.learnt))
			if _, err := peer.s.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{learnt}}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the peer to send its route", func() bool {
				ps := r.peers()
				return len(ps) == 1 && ps[0].recv > 0 && len(peer.routes(tc.fam)) == 2
			})
			time.Sleep(200 * time.Millisecond)
			own := &peerRouter{s: r.server()}
			if got := own.routes(tc.fam); len(got) != 1 || !strings.HasPrefix(got[0], netip.PrefixFrom(vip, vip.BitLen()).String()) {
				t.Errorf("lbd's table holds %v, want only its own route", got)
			}
			if err := r.withdraw(vip); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the withdraw at the peer", func() bool { return len(peer.routes(tc.fam)) == 1 })
			if err := r.announce(vip, nil); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the route again", func() bool { return len(peer.routes(tc.fam)) == 2 })
			r.stop()
			// The session closes with a NOTIFICATION: the peer drops the
			// route at once, long before its hold time (3s) would.
			start := time.Now()
			waitFor(t, "the peer to drop the route", func() bool { return len(peer.routes(tc.fam)) == 1 })
			if d := time.Since(start); d > 2500*time.Millisecond {
				t.Errorf("the peer dropped the route after %v: the session was not closed, it timed out", d)
			}
			var seen []string
			for len(states) > 0 {
				seen = append(seen, <-states)
			}
			if !slices.Contains(seen, "ESTABLISHED") {
				t.Errorf("state events %v", seen)
			}
		})
	}
}
