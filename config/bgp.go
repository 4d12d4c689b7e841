package config

import (
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// BGP is the bgp block: the node announces its VIPs as host routes (/32,
// /128) to BGP neighbours, so that routers spread flows over every node
// that announces them (ECMP). There is no keepalived or HAProxy
// equivalent; the names follow FRR's and GoBGP's.
type BGP struct {
	// ASN is this node's autonomous system number, 1..4294967295.
	// Required. Use a private one (64512-65534, 4200000000-4294967294)
	// unless the network says otherwise.
	ASN uint32
	// RouterID is the BGP identifier, an IPv4 address unique among the
	// speakers (usually the node's own address). Required.
	RouterID netip.Addr
	// ListenPort is the TCP port lbd accepts BGP sessions on; 0 means
	// lbd only connects out. Default 179.
	ListenPort int
	// HoldTime is proposed in OPEN (whole seconds, 3..65535): a
	// neighbour silent for that long is down, and so are our routes on
	// its side. The session uses the smaller of both sides' values.
	// Default 9s.
	HoldTime time.Duration
	// Keepalive is the interval between KEEPALIVE messages. Default
	// HoldTime/3.
	Keepalive time.Duration
	// Interface carries the announced addresses (a BGP VIP must be on the
	// node to be served). Default "lbd0": a dummy interface lbd creates
	// and owns (addresses on it that no announce block lists are
	// removed). Another existing interface, such as "lo", is shared: lbd
	// adds and removes only its own addresses.
	Interface string
	// Grace is how long, on stop and on `lbctl bgp drain`, lbd keeps
	// serving after it withdrew its routes, while routers move new flows
	// to the other nodes; in its second half keep-alive connections to
	// the VIPs are closed once idle. On stop the proxy's global.grace
	// follows.
	// Default 5s.
	Grace time.Duration
	// Neighbors are the routers, in configuration order.
	Neighbors []*BGPNeighbor
	// Announces are the groups of VIPs, in configuration order.
	Announces []*BGPAnnounce

	rng blockRanges
}

// BGPNeighbor is one BGP peer (FRR's "neighbor ADDRESS ...").
type BGPNeighbor struct {
	// Address is the neighbour's address, the block label. IPv4
	// neighbours get the IPv4 VIPs, IPv6 neighbours the IPv6 ones.
	Address netip.Addr
	// RemoteAS is the neighbour's AS number. Required. Equal to asn
	// makes an iBGP session, else eBGP.
	RemoteAS uint32
	// Port is the neighbour's TCP port. Default 179.
	Port int
	// LocalAddress is the source address of the session; unset lets the
	// kernel choose.
	LocalAddress netip.Addr
	// Password enables TCP MD5 signatures (RFC 2385), at most 80 bytes.
	// Default "" (none).
	Password string
	// EBGPMultihop is the TTL of eBGP packets for a neighbour that is
	// not directly connected; 0 keeps the default TTL of 1. Default 0.
	EBGPMultihop int
	// Passive waits for the neighbour to connect. Default false.
	Passive bool
	// BFD runs a single-hop BFD session (RFC 5880, 5881) with the
	// neighbour: a node cut off is noticed after BFDInterval x
	// BFDMultiplier instead of the hold time. Default false.
	BFD bool
	// BFDInterval is the transmit and receive interval. Default 300ms.
	BFDInterval time.Duration
	// BFDMultiplier is how many intervals without a packet bring the
	// session down. Default 3.
	BFDMultiplier int

	rng blockRanges
}

// BGPAnnounce is a group of VIPs announced and withdrawn together, with
// the backends they depend on.
type BGPAnnounce struct {
	Name string
	// Addresses are the VIPs, announced as /32 or /128. Required.
	Addresses []netip.Addr
	// Communities are attached to the routes, as "ASN:VALUE" (RFC 1997).
	Communities []uint32
	// TrackBackends withdraw the routes while a backend has fewer usable
	// servers than MinUp (VRRP's track_backend with weight 0).
	TrackBackends []*TrackBackend

	rng       blockRanges
	addrRange map[netip.Addr]hcl.Range
}

// NeighborFamily names what a neighbour carries, for messages.
func (n *BGPNeighbor) NeighborFamily() string {
	if n.Address.Is4() {
		return "ipv4-unicast"
	}
	return "ipv6-unicast"
}

var bgpSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "asn", Required: true}, {Name: "router_id", Required: true},
		{Name: "listen_port"}, {Name: "hold_time"}, {Name: "keepalive"},
		{Name: "interface"}, {Name: "grace"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "neighbor", LabelNames: []string{"address"}},
		{Type: "announce", LabelNames: []string{"name"}},
	},
}

var bgpNeighborSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "remote_as", Required: true}, {Name: "port"}, {Name: "local_address"},
		{Name: "password"}, {Name: "ebgp_multihop"}, {Name: "passive"},
		{Name: "bfd"}, {Name: "bfd_interval"}, {Name: "bfd_multiplier"},
	},
}

var bgpAnnounceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "addresses", Required: true}, {Name: "communities"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "track_backend", LabelNames: []string{"backend"}},
	},
}

func (d *decoder) decodeBGP(blk *hcl.Block) *BGP {
	g := &BGP{ListenPort: 179, HoldTime: 9 * time.Second, Interface: "lbd0", Grace: 5 * time.Second}
	c := d.content(blk, bgpSchema)
	b := d.body(c, blk.DefRange, &g.rng)
	b.asn("asn", &g.ASN)
	b.addr("router_id", &g.RouterID)
	if g.RouterID.IsValid() && (!g.RouterID.Is4() || g.RouterID.IsUnspecified()) {
		d.errorf(g.rng.at("router_id"), "router_id: %s is not a non-zero IPv4 address (BGP identifiers are 32 bits)", g.RouterID)
	}
	b.integer("listen_port", &g.ListenPort, 0, 65535)
	b.duration("hold_time", &g.HoldTime, 0, 65535*time.Second) // below 3s: checkBGPTimers says why
	// A third of the hold time in whole seconds, as FRR and GoBGP derive it.
	g.Keepalive = (g.HoldTime / 3).Truncate(time.Second)
	if g.Keepalive == 0 {
		g.Keepalive = time.Second
	}
	b.duration("keepalive", &g.Keepalive, 0, 21845*time.Second)
	d.checkBGPTimers(g)
	b.str("interface", &g.Interface)
	if msg := ifaceNameProblem(g.Interface); msg != "" {
		d.errorf(g.rng.at("interface"), "interface: %q %s", g.Interface, msg)
	}
	b.duration("grace", &g.Grace, 0, time.Hour)

	neighbors := map[netip.Addr]*BGPNeighbor{}
	announces := map[string]*BGPAnnounce{}
	addrs := map[netip.Addr]*BGPAnnounce{}
	written := map[string]int{}
	for _, sub := range c.Blocks {
		written[sub.Type]++
		switch sub.Type {
		case "neighbor":
			n := d.decodeBGPNeighbor(sub, g)
			if n == nil {
				continue
			}
			if prev, dup := neighbors[n.Address]; dup {
				d.errorf(sub.DefRange, "duplicate neighbor %s; the first one is at line %d", n.Address, prev.rng.block.Start.Line)
				continue
			}
			neighbors[n.Address] = n
			g.Neighbors = append(g.Neighbors, n)
		case "announce":
			a := d.decodeBGPAnnounce(sub)
			if prev, dup := announces[a.Name]; dup {
				d.errorf(sub.DefRange, "duplicate announce %q; the first one is at line %d", a.Name, prev.rng.block.Start.Line)
				continue
			}
			announces[a.Name] = a
			for _, ad := range a.Addresses {
				if prev, dup := addrs[ad]; dup {
					d.errorf(a.addrRange[ad], "addresses: %s is already announced by announce %q (line %d)", ad, prev.Name, prev.addrRange[ad].Start.Line)
					continue
				}
				addrs[ad] = a
			}
			g.Announces = append(g.Announces, a)
		}
	}
	if written["neighbor"] == 0 {
		d.errorf(blk.DefRange, "bgp: at least one neighbor block is required")
	}
	if written["announce"] == 0 {
		d.errorf(blk.DefRange, "bgp: at least one announce block is required")
	}
	return g
}

// checkBGPTimers applies RFC 4271's rules: the hold time is at least 3
// seconds (section 4.2; its 0, no keepalives at all, is not offered: a
// dead node would keep its routes), in whole seconds like the keepalive,
// which is below the hold time (a third of it is recommended, section 10).
func (d *decoder) checkBGPTimers(g *BGP) {
	if g.HoldTime%time.Second != 0 {
		d.errorf(g.rng.at("hold_time"), "hold_time: BGP carries whole seconds, %s is not", g.HoldTime)
		return
	}
	if g.HoldTime < 3*time.Second {
		d.errorf(g.rng.at("hold_time"), "hold_time: %s is below 3s (RFC 4271's minimum; lbd does not offer 0, which would keep a dead node's routes)", g.HoldTime)
		return
	}
	if g.Keepalive%time.Second != 0 {
		d.errorf(g.rng.at("keepalive"), "keepalive: BGP carries whole seconds, %s is not", g.Keepalive)
	}
	switch {
	case g.Keepalive == 0:
		d.errorf(g.rng.at("keepalive"), "keepalive: must be at least 1s")
	case g.Keepalive >= g.HoldTime:
		d.errorf(g.rng.at("keepalive"), "keepalive: %s must be below hold_time %s (a third of it is usual)", g.Keepalive, g.HoldTime)
	}
}

func (d *decoder) decodeBGPNeighbor(blk *hcl.Block, g *BGP) *BGPNeighbor {
	a, err := netip.ParseAddr(blk.Labels[0])
	if err != nil || a.Zone() != "" || a.IsUnspecified() {
		d.errorf(blk.LabelRanges[0], "neighbor %q: the label must be the neighbour's IP address", blk.Labels[0])
		d.content(blk, bgpNeighborSchema) // still report what is wrong inside
		return nil
	}
	n := &BGPNeighbor{Address: a.Unmap(), Port: 179, BFDInterval: 300 * time.Millisecond, BFDMultiplier: 3}
	b := d.body(d.content(blk, bgpNeighborSchema), blk.DefRange, &n.rng)
	b.asn("remote_as", &n.RemoteAS)
	b.integer("port", &n.Port, 1, 65535)
	b.addr("local_address", &n.LocalAddress)
	if n.LocalAddress.IsValid() && n.LocalAddress.Is4() != n.Address.Is4() {
		d.errorf(n.rng.at("local_address"), "local_address: %s is not of the neighbour's address family (%s)", n.LocalAddress, n.Address)
	}
	b.str("password", &n.Password)
	if len(n.Password) > 80 {
		d.errorf(n.rng.at("password"), "password: %d bytes is too long; TCP MD5 keys are at most 80 bytes", len(n.Password))
	}
	b.integer("ebgp_multihop", &n.EBGPMultihop, 0, 255)
	if n.EBGPMultihop > 0 && g.ASN != 0 && n.RemoteAS == g.ASN {
		d.errorf(n.rng.at("ebgp_multihop"), "ebgp_multihop: neighbor %s is iBGP (remote_as = asn), which is not limited to one hop", n.Address)
	}
	b.boolean("passive", &n.Passive)
	if n.Passive && g.ListenPort == 0 {
		d.errorf(n.rng.at("passive"), "passive: with listen_port = 0 lbd neither connects to nor accepts neighbor %s", n.Address)
	}
	b.boolean("bfd", &n.BFD)
	b.duration("bfd_interval", &n.BFDInterval, 10*time.Millisecond, 60*time.Second)
	b.integer("bfd_multiplier", &n.BFDMultiplier, 1, 255)
	for _, name := range []string{"bfd_interval", "bfd_multiplier"} {
		if b.has(name) && !n.BFD {
			d.errorf(n.rng.at(name), "%s: only used with bfd = true", name)
		}
	}
	if n.BFD && n.EBGPMultihop > 0 {
		d.errorf(n.rng.at("bfd"), "bfd: lbd runs single-hop BFD (RFC 5881), and neighbor %s is multihop", n.Address)
	}
	return n
}

func (d *decoder) decodeBGPAnnounce(blk *hcl.Block) *BGPAnnounce {
	a := &BGPAnnounce{Name: blk.Labels[0], addrRange: map[netip.Addr]hcl.Range{}}
	d.checkName(blk, "announce")
	c := d.content(blk, bgpAnnounceSchema)
	b := d.body(c, blk.DefRange, &a.rng)
	var raw []string
	b.strList("addresses", &raw)
	if b.has("addresses") && raw != nil && len(raw) == 0 {
		d.errorf(a.rng.at("addresses"), "addresses: at least one address is required")
	}
	seen := map[netip.Addr]bool{}
	for i, s := range raw {
		rng := b.elemRange("addresses", i)
		ad, err := hostAddr(s)
		if err != nil {
			d.errorf(rng, "addresses: %v", err)
			continue
		}
		if seen[ad] {
			d.errorf(rng, "addresses: %s is listed twice", ad)
			continue
		}
		seen[ad] = true
		a.addrRange[ad] = rng
		a.Addresses = append(a.Addresses, ad)
	}
	var comms []string
	b.strList("communities", &comms)
	for i, s := range comms {
		v, err := parseCommunity(s)
		if err != nil {
			d.errorf(b.elemRange("communities", i), "communities: %v", err)
			continue
		}
		a.Communities = append(a.Communities, v)
	}
	tracked := map[string]*TrackBackend{}
	for _, sub := range c.Blocks {
		tb := &TrackBackend{Backend: sub.Labels[0], MinUp: 1}
		tb.rng.block = sub.DefRange
		bt := d.body(d.content(sub, bgpTrackSchema), sub.DefRange, &tb.rng)
		bt.integer("min_up", &tb.MinUp, 1, 100_000)
		if prev, dup := tracked[tb.Backend]; dup {
			d.errorf(sub.DefRange, "duplicate track_backend %q; the first one is at line %d", tb.Backend, prev.rng.block.Start.Line)
			continue
		}
		tracked[tb.Backend] = tb
		a.TrackBackends = append(a.TrackBackends, tb)
	}
	return a
}

// bgpTrackSchema is track_backend without weight: a BGP route is either
// announced or withdrawn.
var bgpTrackSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "min_up"}},
}

// hostAddr reads a VIP: an address, or an address with /32 (/128).
func hostAddr(s string) (netip.Addr, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Bits() != p.Addr().BitLen() {
			return netip.Addr{}, fmt.Errorf("%q: a VIP is announced as a host route; write %s (/%d)", s, p.Addr(), p.Addr().BitLen())
		}
		s = p.Addr().String()
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	if a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() {
		return netip.Addr{}, fmt.Errorf("%s cannot be a VIP (unspecified, loopback, multicast or link-local)", a)
	}
	return a, nil
}

// parseCommunity reads "ASN:VALUE" (two 16-bit numbers, RFC 1997).
func parseCommunity(s string) (uint32, error) {
	hi, lo, ok := strings.Cut(s, ":")
	h, err1 := strconv.ParseUint(hi, 10, 16)
	l, err2 := strconv.ParseUint(lo, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%q is not a community such as \"64512:100\" (two numbers 0..65535)", s)
	}
	return uint32(h)<<16 | uint32(l), nil
}

// ifaceNameProblem returns why a Linux interface name is invalid, or "".
func ifaceNameProblem(n string) string {
	switch {
	case n == "":
		return "is empty"
	case len(n) > 15:
		return "is longer than 15 bytes (IFNAMSIZ)"
	case n == "." || n == ".." || strings.ContainsAny(n, "/: \t\r\n"):
		return "is not an interface name"
	}
	return ""
}

// asn reads an AS number, 1..4294967295 (4-octet ASNs, RFC 6793).
func (b body) asn(name string, dst *uint32) {
	v, rng, ok := b.value(name)
	if !ok {
		return
	}
	if v.Type() != cty.Number {
		b.d.errorf(rng, "%s: a whole number is required, got %s", name, typeName(v.Type()))
		return
	}
	if n, ok := b.d.toUint32(name, v.AsBigFloat(), rng); ok {
		*dst = n
	}
}

func (d *decoder) toUint32(name string, bf *big.Float, rng hcl.Range) (uint32, bool) {
	if !bf.IsInt() {
		d.errorf(rng, "%s: a whole number is required, got %s", name, bf.Text('g', -1))
		return 0, false
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i < 1 || i > 1<<32-1 {
		d.errorf(rng, "%s: %s is out of range 1..4294967295", name, bf.Text('f', 0))
		return 0, false
	}
	return uint32(i), true
}

// bgpConflicts checks what spans blocks: each VIP is either VRRP's or
// BGP's, BGP VIPs are served by a frontend, tracked backends exist.
func (d *decoder) bgpConflicts(cfg *Config) {
	g := cfg.BGP
	if g == nil {
		return
	}
	for _, vi := range cfg.VRRPInstances {
		for _, p := range vi.VirtualIPAddresses {
			for _, a := range g.Announces {
				if rng, ok := a.addrRange[p.Addr()]; ok {
					d.errorf(rng, "addresses: %s is also a VIP of vrrp_instance %q (line %d); a VIP is either VRRP's (one node of a pair holds it) or BGP's (every node announces it), not both",
						p.Addr(), vi.Name, vi.rng.at("virtual_ipaddress").Start.Line)
				}
			}
		}
	}
	for _, a := range g.Announces {
		for _, ad := range a.Addresses {
			if !servedByFrontend(cfg, ad) {
				d.errorf(a.addrRange[ad], "addresses: no frontend binds %s (or a wildcard of its family): its traffic would be refused", ad)
			}
		}
		for _, tb := range a.TrackBackends {
			if cfg.Backend(tb.Backend) == nil {
				d.errorf(tb.rng.block, "track_backend: unknown backend %q%s", tb.Backend, suggest(tb.Backend, backendNames(cfg)))
			}
		}
	}
	fams := map[bool]bool{}
	for _, n := range g.Neighbors {
		fams[n.Address.Is4()] = true
	}
	for _, a := range g.Announces {
		for _, ad := range a.Addresses {
			if !fams[ad.Is4()] && len(g.Neighbors) > 0 {
				fam := "IPv6"
				if ad.Is4() {
					fam = "IPv4"
				}
				d.errorf(a.addrRange[ad], "addresses: %s is %s but no neighbor is: IPv4 VIPs go to IPv4 neighbours, IPv6 VIPs to IPv6 ones", ad, fam)
			}
		}
	}
}

// servedByFrontend reports whether some frontend listens on a, by its
// address or a wildcard of its family (a "::" bind is dual stack).
func servedByFrontend(cfg *Config, a netip.Addr) bool {
	for _, f := range cfg.Frontends {
		for _, s := range f.Bind {
			ap, err := netip.ParseAddrPort(s)
			if err != nil {
				continue
			}
			b := ap.Addr()
			if b == a || b.IsUnspecified() && (b.Is4() == a.Is4() || b.Is6()) {
				return true
			}
		}
	}
	return false
}

// Announce returns the announce block of that name, or nil.
func (g *BGP) Announce(name string) *BGPAnnounce {
	for _, a := range g.Announces {
		if a.Name == name {
			return a
		}
	}
	return nil
}
