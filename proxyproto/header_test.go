package proxyproto

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"strings"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestParseV1(t *testing.T) {
	tests := []struct {
		in       string
		src, dst string // "" = no addresses
		n        int
		err      string // "" ok, "incomplete", else a substring of the reason
	}{
		{in: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /", src: "192.0.2.1:56324", dst: "198.51.100.2:443", n: 45},
		{in: "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", src: "[2001:db8::1]:1", dst: "[2001:db8::2]:65535", n: 44},
		{in: "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 2\r\n", src: "192.0.2.1:1", dst: "[2001:db8::2]:2", n: 45},
		{in: "PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n", src: "0.0.0.0:0", dst: "255.255.255.255:0", n: 40},
		{in: "PROXY UNKNOWN\r\n", n: 15},
		{in: "PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\nX", n: 43},
		{in: "PROXY UNKNOWN whatever is here\r\n", n: 32},
		// incomplete beginnings
		{in: "", err: "incomplete"},
		{in: "P", err: "incomplete"},
		{in: "PROXY", err: "incomplete"},
		{in: "PROXY TC", err: "incomplete"},
		{in: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443", err: "incomplete"},
		{in: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r", err: "incomplete"},
		{in: "PROXY UNKN", err: "incomplete"},
		// refused
		{in: "GET / HTTP/1.1\r\n", err: "not a PROXY"},
		{in: "PROXX", err: "not a PROXY"},
		{in: "proxy TCP4 1.2.3.4 1.2.3.5 1 2\r\n", err: "not a PROXY"},
		{in: "PROXY TCP5 1.2.3.4 1.2.3.5 1 2\r\n", err: "protocol"},
		{in: "PROXY TCP5", err: "protocol"},
		{in: "PROXY UDP4 ", err: "protocol"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n", err: "CRLF"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1 2\r\r\n", err: "CR"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1 2\rX", err: "CR not followed"},
		{in: "PROXY TCP4  1.2.3.4 1.2.3.5 1 2\r\n", err: "four fields"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1  2\r\n", err: "four fields"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1 2 \r\n", err: "four fields"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1\r\n", err: "four fields"},
		{in: "PROXY TCP4 01.2.3.4 1.2.3.5 1 2\r\n", err: "invalid address"},
		{in: "PROXY TCP4 1.2.3.256 1.2.3.5 1 2\r\n", err: "invalid address"},
		{in: "PROXY TCP4 2001:db8::1 1.2.3.5 1 2\r\n", err: "not IPv4"},
		{in: "PROXY TCP6 1.2.3.4 2001:db8::1 1 2\r\n", err: "not IPv6"},
		{in: "PROXY TCP6 fe80::1%eth0 2001:db8::1 1 2\r\n", err: "zone"},
		{in: "PROXY TCP6 fe80::1%eth0", err: "invalid character"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 01 2\r\n", err: "port"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n", err: "port"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 +1 2\r\n", err: "port"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 +", err: "invalid character"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1 \r\n", err: "port"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1 2x\r\n", err: "port"},
		{in: "PROXY TCP4 " + strings.Repeat("1", 100), err: "107 bytes"},
		{in: "PROXY UNKNOWN " + strings.Repeat("x", 100), err: "107 bytes"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1 2\x00\r\n", err: "port"},
		{in: "PROXY TCP4 1.2.3.4 1.2.3.5 1 2\x00", err: "invalid character"},
	}
	for _, tc := range tests {
		h, n, err := Parse([]byte(tc.in))
		switch {
		case tc.err == "incomplete":
			if !errors.Is(err, ErrIncomplete) {
				t.Errorf("%q: got %v, want incomplete", tc.in, err)
			}
		case tc.err != "":
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tc.err) {
				t.Errorf("%q: got %v, want an error with %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		default:
			if n != tc.n || h.Version != 1 {
				t.Errorf("%q: n=%d v=%d, want %d 1", tc.in, n, h.Version, tc.n)
			}
			if tc.src == "" {
				if h.HasAddrs() {
					t.Errorf("%q: addresses %v %v, want none", tc.in, h.Src, h.Dst)
				}
			} else if h.Src != ap(tc.src) || h.Dst != ap(tc.dst) {
				t.Errorf("%q: %v -> %v, want %s -> %s", tc.in, h.Src, h.Dst, tc.src, tc.dst)
			}
		}
	}
}

// v2 builds a v2 header by hand.
func v2(verCmd, fam byte, body []byte) []byte {
	b := append([]byte(nil), v2Sig...)
	b = append(b, verCmd, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func withCRC(h []byte) []byte {
	h = append(h, tlvCRC32C, 0, 4, 0, 0, 0, 0)
	binary.BigEndian.PutUint16(h[14:16], uint16(len(h)-16))
	c := crc32.Checksum(h, castagnoli)
	binary.BigEndian.PutUint32(h[len(h)-4:], c)
	return h
}

func TestParseV2(t *testing.T) {
	a4 := []byte{192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb}
	a6 := make([]byte, 36)
	copy(a6, netip.MustParseAddr("2001:db8::1").AsSlice())
	m := netip.MustParseAddr("::ffff:192.0.2.9").As16()
	copy(a6[16:], m[:])
	a6[33], a6[35] = 7, 8
	good := withCRC(v2(0x21, 0x11, a4))
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 1
	auth := v2(0x21, 0x11, append(append([]byte(nil), a4...), tlvAuthority, 0, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'))
	tests := []struct {
		name     string
		in       []byte
		src, dst string
		err      string
	}{
		{name: "tcp4", in: v2(0x21, 0x11, a4), src: "192.0.2.1:56324", dst: "198.51.100.2:443"},
		{name: "tcp6, mapped dst unmapped", in: v2(0x21, 0x21, a6), src: "[2001:db8::1]:7", dst: "192.0.2.9:8"},
		{name: "crc ok", in: good, src: "192.0.2.1:56324", dst: "198.51.100.2:443"},
		{name: "authority", in: auth, src: "192.0.2.1:56324", dst: "198.51.100.2:443"},
		{name: "local", in: v2(0x20, 0x00, nil)},
		{name: "local ignores family and body", in: v2(0x20, 0xff, []byte{1, 2, 3})},
		{name: "proxy unspec", in: v2(0x21, 0x00, nil)},
		{name: "proxy udp4 keeps real addresses", in: v2(0x21, 0x12, a4)},
		{name: "proxy unix", in: v2(0x21, 0x31, make([]byte, 216))},
		{name: "incomplete sig", in: v2Sig[:5], err: "incomplete"},
		{name: "incomplete body", in: v2(0x21, 0x11, a4)[:20], err: "incomplete"},
		{name: "bad sig", in: []byte("\r\n\r\n\x00\r\nQUIX\n"), err: "not a PROXY"},
		{name: "version 1 binary", in: v2(0x11, 0x11, a4), err: "version"},
		{name: "command 2", in: v2(0x22, 0x11, a4), err: "command"},
		{name: "family 4", in: v2(0x21, 0x41, a4), err: "family"},
		{name: "transport 3", in: v2(0x21, 0x13, a4), err: "family"},
		{name: "short tcp4", in: v2(0x21, 0x11, a4[:11]), err: "shorter"},
		{name: "short tcp6", in: v2(0x21, 0x21, a6[:35]), err: "shorter"},
		{name: "short unix", in: v2(0x21, 0x31, make([]byte, 100)), err: "shorter"},
		{name: "truncated tlv", in: v2(0x21, 0x11, append(append([]byte(nil), a4...), 1, 0)), err: "truncated"},
		{name: "tlv too long", in: v2(0x21, 0x11, append(append([]byte(nil), a4...), 1, 0, 5, 1)), err: "longer"},
		{name: "crc mismatch", in: badCRC, err: "CRC32C mismatch"},
		{name: "crc size", in: v2(0x21, 0x11, append(append([]byte(nil), a4...), tlvCRC32C, 0, 2, 0, 0)), err: "4 bytes"},
		{name: "too long", in: v2(0x21, 0x11, make([]byte, MaxV2)), err: "2048"},
	}
	for _, tc := range tests {
		h, n, err := Parse(tc.in)
		switch {
		case tc.err == "incomplete":
			if !errors.Is(err, ErrIncomplete) {
				t.Errorf("%s: got %v, want incomplete", tc.name, err)
			}
		case tc.err != "":
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tc.err) {
				t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		default:
			if n != len(tc.in) || h.Version != 2 {
				t.Errorf("%s: n=%d v=%d, want %d 2", tc.name, n, h.Version, len(tc.in))
			}
			if tc.src == "" {
				if h.HasAddrs() {
					t.Errorf("%s: addresses %v %v, want none", tc.name, h.Src, h.Dst)
				}
			} else if h.Src != ap(tc.src) || h.Dst != ap(tc.dst) {
				t.Errorf("%s: %v -> %v, want %s -> %s", tc.name, h.Src, h.Dst, tc.src, tc.dst)
			}
		}
	}
	h, _, _ := Parse(auth)
	if string(h.Authority) != "example.com" {
		t.Errorf("authority %q", h.Authority)
	}
}

func TestWriteReadBack(t *testing.T) {
	pairs := [][2]string{
		{"192.0.2.1:1234", "198.51.100.7:80"},
		{"[2001:db8::1]:1", "[2001:db8::2]:2"},
		{"192.0.2.1:1234", "[2001:db8::2]:443"},
		{"[2001:db8::1]:0", "192.0.2.3:65535"},
	}
	for _, p := range pairs {
		src, dst := ap(p[0]), ap(p[1])
		for _, v := range []int{1, 2} {
			var b []byte
			if v == 1 {
				b = AppendV1(nil, src, dst)
			} else {
				b = AppendV2(nil, src, dst)
			}
			h, n, err := Parse(append(b, "GET"...))
			if err != nil || n != len(b) || h.Version != v || h.Src != src || h.Dst != dst {
				t.Errorf("v%d %s -> %s: wrote %q, read %+v n=%d %v", v, src, dst, b, h, n, err)
			}
		}
	}
	if got := string(AppendV1(nil, netip.AddrPort{}, ap("1.2.3.4:5"))); got != "PROXY UNKNOWN\r\n" {
		t.Errorf("unknown: %q", got)
	}
	h, n, err := Parse(AppendV2Local(nil))
	if err != nil || n != 16 || h.Command != Local || h.HasAddrs() {
		t.Errorf("local: %+v %d %v", h, n, err)
	}
}

// TestPrefixesIncomplete: every proper prefix of a valid header is
// ErrIncomplete, never refused: a header cut by the network is waited
// for, however it is cut.
func TestPrefixesIncomplete(t *testing.T) {
	hdrs := [][]byte{
		AppendV1(nil, ap("192.0.2.1:1"), ap("192.0.2.2:2")),
		AppendV1(nil, ap("[2001:db8::1]:65535"), ap("[2001:db8::2]:10")),
		[]byte("PROXY UNKNOWN\r\n"),
		AppendV2(nil, ap("192.0.2.1:1"), ap("192.0.2.2:2")),
		AppendV2(nil, ap("[2001:db8::1]:1"), ap("[2001:db8::2]:2")),
		AppendV2Local(nil),
	}
	for _, h := range hdrs {
		for k := 0; k < len(h); k++ {
			if _, _, err := Parse(h[:k]); !errors.Is(err, ErrIncomplete) {
				t.Errorf("prefix %q of %q: %v", h[:k], h, err)
			}
		}
	}
}

func BenchmarkParseV2(b *testing.B) {
	h := AppendV2(nil, ap("192.0.2.1:1"), ap("192.0.2.2:2"))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseV1(b *testing.B) {
	h := AppendV1(nil, ap("192.0.2.1:1"), ap("192.0.2.2:2"))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(h); err != nil {
			b.Fatal(err)
		}
	}
}
