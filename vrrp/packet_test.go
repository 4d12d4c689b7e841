package vrrp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden adverts: the first computed by hand from RFC 3768 section 5.1,
// the others as keepalived 2.2.7 sent them (tcpdump of Debian's
// keepalived): VRRPv2 with auth_pass "s3cret" and two VIPs; VRRPv3
// (vrrp_version 3) over IPv4, advert_int 0.1, two VIPs, checksum over the
// IPv4 pseudo-header; VRRPv3 over IPv6, advert_int 0.15, from the
// interface's link-local address to ff02::12.
var goldens = []struct {
	name string
	hex  string
	ph   Pseudo
	want Advert
}{
	{
		name: "no auth, one address",
		hex:  "21336401" + "0001b865" + "c0000264" + "0000000000000000",
		ph:   ph4,
		want: Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, AdvertInt: 1, Checksum: 0xb865,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}},
	},
	{
		name: "keepalived auth_pass, two addresses",
		hex:  "21336402" + "0101" + "b8e4" + "c0000264" + "c0000265" + "7333637265740000",
		ph:   ph4,
		want: Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, AuthType: AuthPass, AdvertInt: 1, Checksum: 0xb8e4,
			Addrs:    []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")},
			AuthData: authData("s3cret")},
	},
	{
		name: "keepalived VRRPv3 IPv4, 10cs",
		hex:  "31336402" + "000a" + "4361" + "c0000264" + "c0000265",
		ph:   Pseudo{Src: netip.MustParseAddr("192.0.2.1"), Dst: MulticastGroup},
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 100, AdvertInt: 10, Checksum: 0x4361,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}},
	},
	{
		name: "keepalived VRRPv3 IPv6, 15cs",
		hex:  "31346401" + "000f" + "2a1c" + "20010db8000000000000000000000100",
		ph:   Pseudo{Src: netip.MustParseAddr("fe80::70af:63ff:fec4:4054"), Dst: MulticastGroup6},
		want: Advert{Version: 3, Type: 1, VRID: 52, Priority: 100, AdvertInt: 15, Checksum: 0x2a1c,
			Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::100")}},
	},
}

func TestParseGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			b := mustHex(t, g.hex)
			a, err := ParseAdvert(b, g.ph)
			if err != nil {
				t.Fatal(err)
			}
			if a.VRID != g.want.VRID || a.Priority != g.want.Priority || a.AuthType != g.want.AuthType ||
				a.AdvertInt != g.want.AdvertInt || a.Checksum != g.want.Checksum || a.Version != g.want.Version || a.Type != 1 ||
				a.AuthData != g.want.AuthData || len(a.Addrs) != len(g.want.Addrs) {
				t.Fatalf("parsed %+v, want %+v", a, g.want)
			}
			for i := range a.Addrs {
				if a.Addrs[i] != g.want.Addrs[i] {
					t.Errorf("address %d: %s, want %s", i, a.Addrs[i], g.want.Addrs[i])
				}
			}
			// Marshal reproduces the bytes, checksum included.
			out, err := g.want.Marshal(g.ph)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, b) {
				t.Errorf("marshal:\n got %x\nwant %x", out, b)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	good := mustHex(t, goldens[0].hex)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name string
		b    []byte
		want Reason
	}{
		{"empty", nil, ReasonLength},
		{"version 1", mod(func(b []byte) []byte { b[0] = 0x11; return b }), ReasonVersion},
		{"version 4", mod(func(b []byte) []byte { b[0] = 0x41; return b }), ReasonVersion},
		{"a VRRPv2 advert read as v3 is too long", mod(func(b []byte) []byte { b[0] = 0x31; return b }), ReasonLength},
		{"short header", good[:7], ReasonLength},
		{"truncated auth", good[:len(good)-1], ReasonLength},
		{"trailing byte", append(bytes.Clone(good), 0), ReasonLength},
		{"count says two", mod(func(b []byte) []byte { b[3] = 2; return b }), ReasonLength},
		{"bad checksum", mod(func(b []byte) []byte { b[7] ^= 1; return b }), ReasonChecksum},
		{"flipped priority", mod(func(b []byte) []byte { b[2] = 101; return b }), ReasonChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAdvert(tc.b, ph4)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason != tc.want {
				t.Fatalf("err %v, want reason %s", err, tc.want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 3, 255} {
		a := Advert{Version: 2, VRID: 7, Priority: 254, AuthType: AuthPass, AdvertInt: 255, AuthData: authData("12345678")}
		for i := range n {
			a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		}
		b, err := a.Marshal(ph4)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 16+4*n {
			t.Errorf("%d addresses: %d bytes", n, len(b))
		}
		got, err := ParseAdvert(b, ph4)
		if err != nil {
			t.Fatalf("%d addresses: %v", n, err)
		}
		if got.VRID != 7 || got.Priority != 254 || len(got.Addrs) != n || got.AuthData != a.AuthData {
			t.Errorf("round trip: %+v", got)
		}
	}
	ph6 := Pseudo{Src: netip.MustParseAddr("fe80::1"), Dst: MulticastGroup6}
	for _, tc := range []struct {
		name string
		a    Advert
		ph   Pseudo
	}{
		{"an IPv6 address in an IPv4 packet", Advert{Version: 3, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, ph4},
		{"an IPv4 address in an IPv6 packet", Advert{Version: 3, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}, ph6},
		{"VRRPv2 over IPv6", Advert{Version: 2, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, ph6},
		{"256 addresses", Advert{Version: 2, Addrs: make([]netip.Addr, 256)}, ph4},
		{"no version", Advert{}, ph4},
		{"v2 interval over 8 bits", Advert{Version: 2, AdvertInt: 256}, ph4},
		{"v3 interval over 12 bits", Advert{Version: 3, AdvertInt: 4096}, ph4},
		{"families mixed in the pseudo-header", Advert{Version: 3}, Pseudo{Src: netip.MustParseAddr("192.0.2.1"), Dst: MulticastGroup6}},
	} {
		if _, err := tc.a.Marshal(tc.ph); err == nil {
			t.Errorf("%s: marshalled", tc.name)
		}
	}
}

// TestV3 covers what only VRRPv3 has: the 12-bit centisecond interval
// with its reserved bits ignored on reception, no authentication field,
// IPv6 addresses, and a checksum that covers the IP addresses.
func TestV3(t *testing.T) {
	ph6 := Pseudo{Src: netip.MustParseAddr("fe80::1"), Dst: MulticastGroup6}
	for _, n := range []int{0, 1, 255} {
		a := Advert{Version: 3, VRID: 9, Priority: 200, AdvertInt: MaxAdvertIntV3}
		for i := range n {
			a.Addrs = append(a.Addrs, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}))
		}
		b, err := a.Marshal(ph6)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 8+16*n {
			t.Errorf("%d addresses: %d bytes", n, len(b))
		}
		got, err := ParseAdvert(b, ph6)
		if err != nil {
			t.Fatalf("%d addresses: %v", n, err)
		}
		if got.Interval() != 40950*time.Millisecond || len(got.Addrs) != n || got.Version != 3 {
			t.Errorf("round trip: %+v", got)
		}
	}
	g := goldens[2]
	b := mustHex(t, g.hex)
	// The pseudo-header counts: the same bytes from another source, or
	// to a unicast address, do not verify.
	for _, ph := range []Pseudo{
		{Src: netip.MustParseAddr("192.0.2.2"), Dst: MulticastGroup},
		{Src: g.ph.Src, Dst: netip.MustParseAddr("192.0.2.2")},
	} {
		var pe *ParseError
		if _, err := ParseAdvert(b, ph); !errors.As(err, &pe) || pe.Reason != ReasonChecksum {
			t.Errorf("%v: %v, want a checksum error", ph, err)
		}
	}
	// Reserved bits set: ignored.
	r := bytes.Clone(b)
	r[4] |= 0xf0
	r[6], r[7] = 0, 0
	c := (&Advert{Version: 3}).checksum(r, g.ph)
	r[6], r[7] = byte(c>>8), byte(c)
	a, err := ParseAdvert(r, g.ph)
	if err != nil || a.AdvertInt != 10 || a.Interval() != 100*time.Millisecond {
		t.Errorf("reserved bits: %+v %v", a, err)
	}
	// A VRRPv2 advert over IPv6 is refused.
	var pe *ParseError
	if _, err := ParseAdvert(mustHex(t, goldens[0].hex), ph6); !errors.As(err, &pe) || pe.Reason != ReasonVersion {
		t.Errorf("VRRPv2 over IPv6: %v", err)
	}
}

// TestValidateVersions: VRRPv2 and VRRPv3 routers on one VRID refuse each
// other's adverts (as keepalived does), a VRRPv3 backup takes any interval
// (it learns the master's), and IPv6 adverts go to ff02::12.
func TestValidateVersions(t *testing.T) {
	vip4 := []netip.Addr{netip.MustParseAddr("192.0.2.100")}
	v2 := Advert{Version: 2, VRID: 51, Priority: 100, AdvertInt: 1, Addrs: vip4}
	v3 := Advert{Version: 3, VRID: 51, Priority: 100, AdvertInt: 25, Addrs: vip4}
	v6 := Advert{Version: 3, VRID: 51, Priority: 100, AdvertInt: 10, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::100")}}
	src4, src6 := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("fe80::2")
	pkt := func(a Advert, src, dst netip.Addr) rxPacket {
		b, err := a.Marshal(Pseudo{Src: src, Dst: dst})
		if err != nil {
			t.Fatal(err)
		}
		return rxPacket{Src: src, Dst: dst, TTL: 255, Payload: b}
	}
	pol2 := rxPolicy{version: 2, vrid: 51, advertInt: 1, vips: vip4}
	pol3 := rxPolicy{version: 3, vrid: 51, advertInt: 10, vips: vip4}
	pol6 := rxPolicy{version: 3, ipv6: true, vrid: 51, advertInt: 10, vips: v6.Addrs}
	for _, tc := range []struct {
		name string
		pol  rxPolicy
		pkt  rxPacket
		want Reason
	}{
		{"v2 hears v2", pol2, pkt(v2, src4, MulticastGroup), ""},
		{"v3 hears v3 with another interval", pol3, pkt(v3, src4, MulticastGroup), ""},
		{"v2 refuses v3", pol2, pkt(v3, src4, MulticastGroup), ReasonVersion},
		{"v3 refuses v2", pol3, pkt(v2, src4, MulticastGroup), ReasonVersion},
		{"IPv6 hears IPv6", pol6, pkt(v6, src6, MulticastGroup6), ""},
		{"IPv6 to the IPv4 group", pol6, pkt(v6, src6, netip.MustParseAddr("ff02::1")), ReasonDestination},
		{"IPv4 packet for an IPv6 router", pol6, pkt(v3, src4, MulticastGroup), ReasonDestination},
		{"IPv6 hop limit", pol6, func() rxPacket { p := pkt(v6, src6, MulticastGroup6); p.TTL = 1; return p }(), ReasonTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, perr := tc.pol.check(tc.pkt)
			switch {
			case tc.want == "" && perr != nil:
				t.Fatalf("rejected: %v", perr)
			case tc.want != "" && (perr == nil || perr.Reason != tc.want):
				t.Fatalf("got %v, want reason %s", perr, tc.want)
			}
		})
	}
}

func TestChecksumOddLength(t *testing.T) {
	// RFC 1071: an odd trailing byte is padded with zero on the right.
	if got, want := checksum([]byte{0x01, 0x02, 0x03}), ^uint16(0x0102+0x0300); got != want {
		t.Errorf("checksum %04x, want %04x", got, want)
	}
}

func TestValidateOrder(t *testing.T) {
	pol := rxPolicy{version: 2, vrid: 51, advertInt: 1, vips: []netip.Addr{netip.MustParseAddr("192.0.2.100")},
		self: netip.MustParseAddr("192.0.2.1")}
	good := Advert{Version: 2, VRID: 51, Priority: 100, AdvertInt: 1, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	enc := func(a Advert) []byte { b, _ := a.Marshal(ph4); return b }
	peer := netip.MustParseAddr("192.0.2.2")
	pkt := func(a Advert) rxPacket { return rxPacket{Src: peer, Dst: MulticastGroup, TTL: 255, Payload: enc(a)} }
	with := func(f func(*Advert)) rxPacket { a := good; f(&a); return pkt(a) }

	owner := good
	owner.Priority = 255
	owner.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.200")}
	twoVIPs := rxPolicy{version: 2, vrid: 51, advertInt: 1, vips: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}}
	reordered := good
	reordered.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.101"), netip.MustParseAddr("192.0.2.100")}
	uni := rxPolicy{version: 2, vrid: 51, advertInt: 1, vips: pol.vips, unicast: true, peers: []netip.Addr{peer}}

	for _, tc := range []struct {
		name string
		pol  rxPolicy
		pkt  rxPacket
		want Reason // "" = accepted
	}{
		{"good", pol, pkt(good), ""},
		{"own address", pol, rxPacket{Src: pol.self, Dst: MulticastGroup, TTL: 255, Payload: enc(good)}, ReasonOwnAddress},
		{"ttl", pol, rxPacket{Src: peer, Dst: MulticastGroup, TTL: 254, Payload: enc(good)}, ReasonTTL},
		{"ttl checked before version", pol, rxPacket{Src: peer, Dst: MulticastGroup, TTL: 1, Payload: []byte{0x31}}, ReasonTTL},
		{"type", pol, rxPacket{Src: peer, Dst: MulticastGroup, TTL: 255, Payload: func() []byte {
			b := enc(good)
			b[0] = 0x22
			b[6], b[7] = 0, 0
			c := checksum(b)
			b[6], b[7] = byte(c>>8), byte(c)
			return b
		}()}, ReasonType},
		{"vrid", pol, with(func(a *Advert) { a.VRID = 52 }), ReasonVRID},
		{"auth type", pol, with(func(a *Advert) { a.AuthType = AuthPass }), ReasonAuthType},
		{"advert interval", pol, with(func(a *Advert) { a.AdvertInt = 2 }), ReasonAdvertInt},
		{"address count", pol, with(func(a *Advert) { a.Addrs = append(a.Addrs, netip.MustParseAddr("192.0.2.101")) }), ReasonAddrList},
		{"address set", pol, with(func(a *Advert) { a.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.99")} }), ReasonAddrList},
		{"owner may differ", pol, pkt(owner), ""},
		{"order does not matter", twoVIPs, pkt(reordered), ""},
		{"unicast to multicast", uni, pkt(good), ReasonDestination},
		{"unicast from peer", uni, rxPacket{Src: peer, Dst: netip.MustParseAddr("192.0.2.1"), TTL: 64, Payload: enc(good)}, ""},
		{"unicast from stranger", uni, rxPacket{Src: netip.MustParseAddr("192.0.2.3"), Dst: netip.MustParseAddr("192.0.2.1"), TTL: 255, Payload: enc(good)}, ReasonUnknownPeer},
		{"multicast mode, unicast packet", pol, rxPacket{Src: peer, Dst: netip.MustParseAddr("192.0.2.1"), TTL: 255, Payload: enc(good)}, ReasonDestination},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, perr := tc.pol.check(tc.pkt)
			switch {
			case tc.want == "" && perr != nil:
				t.Fatalf("rejected: %v", perr)
			case tc.want == "" && a == nil:
				t.Fatal("no advert")
			case tc.want != "" && (perr == nil || perr.Reason != tc.want):
				t.Fatalf("got %v, want reason %s", perr, tc.want)
			}
		})
	}
	pass := rxPolicy{version: 2, vrid: 51, advertInt: 1, vips: pol.vips, authType: AuthPass, authData: authData("s3cret")}
	ok := good
	ok.AuthType, ok.AuthData = AuthPass, authData("s3cret")
	if _, perr := pass.check(pkt(ok)); perr != nil {
		t.Errorf("right password rejected: %v", perr)
	}
	ok.AuthData = authData("s3cre")
	if _, perr := pass.check(pkt(ok)); perr == nil || perr.Reason != ReasonAuthPass {
		t.Errorf("wrong password: %v", perr)
	}
}
