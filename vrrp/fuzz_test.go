package vrrp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// FuzzParseAdvert feeds arbitrary bytes to the decoder and the receive
// validation. Whatever arrives on the wire must either be rejected with a
// known Reason or decode to an advert that re-encodes to the same bytes.
func FuzzParseAdvert(f *testing.F) {
	for _, g := range goldens {
		f.Add(mustHex(f, g.hex))
	}
	f.Add([]byte{})
	f.Add([]byte{0x31, 0x33, 0x64, 0x01})
	f.Add(bytes.Repeat([]byte{0xff}, 1036))

	pol := rxPolicy{vrid: 51, advertInt: 1, vips: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	known := map[Reason]bool{}
	for _, r := range Reasons {
		known[r] = true
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAdvert(b)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !known[pe.Reason] {
				t.Fatalf("error without a known reason: %v", err)
			}
			return
		}
		if a.Version != Version || len(a.Addrs) != int(b[3]) {
			t.Fatalf("decoded %+v from %x", a, b)
		}
		// Re-encoding gives the same bytes when the type is 1 (Marshal
		// always writes an advertisement).
		if a.Type == TypeAdvertisement {
			out, err := a.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("re-encoded %x, received %x", out, b)
			}
		}
		_, perr := pol.check(rxPacket{Src: netip.MustParseAddr("192.0.2.2"), Dst: MulticastGroup, TTL: 255, Payload: b})
		if perr != nil && !known[perr.Reason] {
			t.Fatalf("validation reason %q unknown", perr.Reason)
		}
	})
}
