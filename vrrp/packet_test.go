package vrrp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
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
// the second as keepalived 2.2.7 sent it (tcpdump of Debian's keepalived, vrid 51,
// priority 100, auth_pass "s3cret", two VIPs).
var goldens = []struct {
	name string
	hex  string
	want Advert
}{
	{
		name: "no auth, one address",
		hex:  "21336401" + "0001b865" + "c0000264" + "0000000000000000",
		want: Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, AdvertInt: 1, Checksum: 0xb865,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}},
	},
	{
		name: "keepalived auth_pass, two addresses",
		hex:  "21336402" + "0101" + "b8e4" + "c0000264" + "c0000265" + "7333637265740000",
		want: Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, AuthType: AuthPass, AdvertInt: 1, Checksum: 0xb8e4,
			Addrs:    []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")},
			AuthData: authData("s3cret")},
	},
}

func TestParseGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			b := mustHex(t, g.hex)
			a, err := ParseAdvert(b)
			if err != nil {
				t.Fatal(err)
			}
			if a.VRID != g.want.VRID || a.Priority != g.want.Priority || a.AuthType != g.want.AuthType ||
				a.AdvertInt != g.want.AdvertInt || a.Checksum != g.want.Checksum || a.Version != 2 || a.Type != 1 ||
				a.AuthData != g.want.AuthData || len(a.Addrs) != len(g.want.Addrs) {
				t.Fatalf("parsed %+v, want %+v", a, g.want)
			}
			for i := range a.Addrs {
				if a.Addrs[i] != g.want.Addrs[i] {
					t.Errorf("address %d: %s, want %s", i, a.Addrs[i], g.want.Addrs[i])
				}
			}
			// Marshal reproduces the bytes, checksum included.
			out, err := g.want.Marshal()
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
		{"version 3", mod(func(b []byte) []byte { b[0] = 0x31; return b }), ReasonVersion},
		{"version 1", mod(func(b []byte) []byte { b[0] = 0x11; return b }), ReasonVersion},
		{"short header", good[:7], ReasonLength},
		{"truncated auth", good[:len(good)-1], ReasonLength},
		{"trailing byte", append(bytes.Clone(good), 0), ReasonLength},
		{"count says two", mod(func(b []byte) []byte { b[3] = 2; return b }), ReasonLength},
		{"bad checksum", mod(func(b []byte) []byte { b[7] ^= 1; return b }), ReasonChecksum},
		{"flipped priority", mod(func(b []byte) []byte { b[2] = 101; return b }), ReasonChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAdvert(tc.b)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason != tc.want {
				t.Fatalf("err %v, want reason %s", err, tc.want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for n := range []int{0, 1, 3, 255} {
		a := Advert{VRID: 7, Priority: 254, AuthType: AuthPass, AdvertInt: 255, AuthData: authData("12345678")}
		for i := range n {
			a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		}
		b, err := a.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 16+4*n {
			t.Errorf("%d addresses: %d bytes", n, len(b))
		}
		got, err := ParseAdvert(b)
		if err != nil {
			t.Fatalf("%d addresses: %v", n, err)
		}
		if got.VRID != 7 || got.Priority != 254 || len(got.Addrs) != n || got.AuthData != a.AuthData {
			t.Errorf("round trip: %+v", got)
		}
	}
	if _, err := (&Advert{Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}).Marshal(); err == nil {
		t.Error("IPv6 address marshalled")
	}
	if _, err := (&Advert{Addrs: make([]netip.Addr, 256)}).Marshal(); err == nil {
		t.Error("256 addresses marshalled")
	}
}

func TestChecksumOddLength(t *testing.T) {
	// RFC 1071: an odd trailing byte is padded with zero on the right.
	if got, want := checksum([]byte{0x01, 0x02, 0x03}), ^uint16(0x0102+0x0300); got != want {
		t.Errorf("checksum %04x, want %04x", got, want)
	}
}

func TestValidateOrder(t *testing.T) {
	pol := rxPolicy{vrid: 51, advertInt: 1, vips: []netip.Addr{netip.MustParseAddr("192.0.2.100")},
		self: netip.MustParseAddr("192.0.2.1")}
	good := Advert{VRID: 51, Priority: 100, AdvertInt: 1, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	enc := func(a Advert) []byte { b, _ := a.Marshal(); return b }
	peer := netip.MustParseAddr("192.0.2.2")
	pkt := func(a Advert) rxPacket { return rxPacket{Src: peer, Dst: MulticastGroup, TTL: 255, Payload: enc(a)} }
	with := func(f func(*Advert)) rxPacket { a := good; f(&a); return pkt(a) }

	owner := good
	owner.Priority = 255
	owner.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.200")}
	twoVIPs := rxPolicy{vrid: 51, advertInt: 1, vips: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}}
	reordered := good
	reordered.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.101"), netip.MustParseAddr("192.0.2.100")}
	uni := rxPolicy{vrid: 51, advertInt: 1, vips: pol.vips, unicast: true, peers: []netip.Addr{peer}}

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
	pass := rxPolicy{vrid: 51, advertInt: 1, vips: pol.vips, authType: AuthPass, authData: authData("s3cret")}
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
