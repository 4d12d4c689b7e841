package proxyproto

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// FuzzParse: whatever the bytes, Parse returns a header no longer than
// its input, ErrIncomplete or an *Error, never panics; a header with
// addresses written back in its version reads back to the same addresses
// (the conversion from header bytes to the address every later decision
// trusts is one-to-one); and every proper prefix of an accepted header is
// incomplete, never refused.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n",
		"PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 1 65535\r\n",
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN a b c d\r\n",
		"PROXY TCP4 01.2.3.4 1.2.3.5 1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n",
		string(AppendV2(nil, ap("192.0.2.1:1"), ap("198.51.100.2:2"))),
		string(AppendV2(nil, ap("[2001:db8::1]:1"), ap("192.0.2.2:2"))),
		string(AppendV2Local(nil)),
		string(withCRC(AppendV2(nil, ap("192.0.2.1:1"), ap("198.51.100.2:2")))),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			var pe *Error
			if !errors.Is(err, ErrIncomplete) && !errors.As(err, &pe) {
				t.Fatalf("error of an unexpected kind: %v", err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		if h.Version != 1 && h.Version != 2 {
			t.Fatalf("version %d", h.Version)
		}
		if h.Src.IsValid() != h.Dst.IsValid() {
			t.Fatalf("one address without the other: %v %v", h.Src, h.Dst)
		}
		if h.HasAddrs() {
			if h.Src.Addr().Is4In6() || h.Dst.Addr().Is4In6() || h.Src.Addr().Zone() != "" {
				t.Fatalf("addresses not canonical: %v %v", h.Src, h.Dst)
			}
			var w []byte
			if h.Version == 1 {
				w = AppendV1(nil, h.Src, h.Dst)
			} else {
				w = AppendV2(nil, h.Src, h.Dst)
			}
			h2, n2, err := Parse(w)
			if err != nil || n2 != len(w) || h2.Src != h.Src || h2.Dst != h.Dst {
				t.Fatalf("%q read as %v -> %v, written as %q, read back as %v -> %v (%v)", b[:n], h.Src, h.Dst, w, h2.Src, h2.Dst, err)
			}
		}
		for k := 0; k < n; k++ {
			if _, _, err := Parse(b[:k]); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("prefix %q of accepted %q: %v", b[:k], b[:n], err)
			}
		}
	})
}

// FuzzAddrs: any pair of addresses written in either version reads back
// as the same pair (IPv4-mapped addresses as IPv4).
func FuzzAddrs(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, []byte{198, 51, 100, 2}, uint16(1), uint16(443), false)
	f.Add(netip.MustParseAddr("2001:db8::1").AsSlice(), []byte{192, 0, 2, 9}, uint16(0), uint16(65535), true)
	f.Fuzz(func(t *testing.T, s, d []byte, sp, dp uint16, v2 bool) {
		sa, ok1 := netip.AddrFromSlice(s)
		da, ok2 := netip.AddrFromSlice(d)
		if !ok1 || !ok2 {
			return
		}
		src, dst := netip.AddrPortFrom(sa, sp), netip.AddrPortFrom(da, dp)
		var w []byte
		if v2 {
			w = AppendV2(nil, src, dst)
		} else {
			w = AppendV1(nil, src, dst)
		}
		h, n, err := Parse(w)
		if err != nil || n != len(w) {
			t.Fatalf("%q: %v", w, err)
		}
		if h.Src != netip.AddrPortFrom(sa.Unmap(), sp) || h.Dst != netip.AddrPortFrom(da.Unmap(), dp) {
			t.Fatalf("%v -> %v written as %q read as %v -> %v", src, dst, w, h.Src, h.Dst)
		}
		if !bytes.HasSuffix(w, []byte("\r\n")) && !v2 {
			t.Fatalf("v1 without CRLF: %q", w)
		}
	})
}
