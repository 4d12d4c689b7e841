package vrrp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// FuzzParseAdvert feeds arbitrary bytes, as an IPv4 or an IPv6 payload, to
// the decoder and the receive validation. Whatever arrives on the wire must
// either be rejected with a known Reason or decode to an advert that
// re-encodes to the same bytes.
func FuzzParseAdvert(f *testing.F) {
	for _, g := range goldens {
		f.Add(mustHex(f, g.hex), g.ph.Src.Is6())
	}
	f.Add([]byte{}, false)
	f.Add([]byte{0x31, 0x33, 0x64, 0x01}, true)
	f.Add(bytes.Repeat([]byte{0xff}, 1036), false)

	known := map[Reason]bool{}
	for _, r := range Reasons {
		known[r] = true
	}
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		ph := ph4
		if v6 {
			ph = Pseudo{Src: netip.MustParseAddr("fe80::9"), Dst: MulticastGroup6}
		}
		a, err := ParseAdvert(b, ph)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !known[pe.Reason] {
				t.Fatalf("error without a known reason: %v", err)
			}
			return
		}
		if (a.Version != Version2 && a.Version != Version3) || (v6 && a.Version == Version2) || len(a.Addrs) != int(b[3]) {
			t.Fatalf("decoded %+v from %x", a, b)
		}
		for _, ip := range a.Addrs {
			if ip.Is6() != v6 {
				t.Fatalf("address %s in an IPv6=%v packet", ip, v6)
			}
		}
		// Re-encoding gives the same bytes when the type is 1 (Marshal
		// always writes an advertisement) and, for VRRPv3, the reserved
		// bits are zero (ignored on reception).
		if a.Type == TypeAdvertisement && (a.Version == Version2 || b[4]&0xf0 == 0) {
			out, err := a.Marshal(ph)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("re-encoded %x, received %x", out, b)
			}
		}
		for _, pol := range []rxPolicy{
			{version: 2, vrid: 51, advertInt: 1, vips: []netip.Addr{netip.MustParseAddr("192.0.2.100")}},
			{version: 3, vrid: 51, vips: []netip.Addr{netip.MustParseAddr("192.0.2.100")}},
			{version: 3, ipv6: true, vrid: 51, vips: []netip.Addr{netip.MustParseAddr("2001:db8::100")}},
		} {
			_, perr := pol.check(rxPacket{Src: ph.Src, Dst: ph.Dst, TTL: 255, Payload: b})
			if perr != nil && !known[perr.Reason] {
				t.Fatalf("validation reason %q unknown", perr.Reason)
			}
		}
	})
}
