package proxyproto

import (
	"bytes"
	"net/netip"
	"strconv"
)

// parseV1 reads a text header (§2.1); b starts with a prefix of "PROXY ".
func parseV1(b []byte) (Header, int, error) {
	end := bytes.IndexByte(b[:min(len(b), MaxV1)], '\n')
	if end < 0 {
		if len(b) >= MaxV1 {
			return Header{}, 0, bad("v1: no CRLF within 107 bytes")
		}
		if bytes.IndexByte(b, '\r') >= 0 && b[len(b)-1] != '\r' {
			return Header{}, 0, bad("v1: CR not followed by LF")
		}
		if err := v1Prefixes(b); err != nil {
			return Header{}, 0, err
		}
		return Header{}, 0, ErrIncomplete
	}
	if end == 0 || b[end-1] != '\r' {
		return Header{}, 0, bad("v1: line not ended by CRLF")
	}
	line := b[:end-1]
	n := end + 1
	if bytes.IndexByte(line, '\r') >= 0 {
		return Header{}, 0, bad("v1: CR inside the line")
	}
	rest := line[len(v1Prefix):]
	proto, rest, _ := bytes.Cut(rest, []byte(" "))
	h := Header{Version: 1, Command: Proxy}
	switch string(proto) {
	case "UNKNOWN":
		// The receiver must ignore anything before the CRLF (§2.1).
		return h, n, nil
	case "TCP4", "TCP6":
	default:
		return Header{}, 0, bad("v1: protocol is not TCP4, TCP6 or UNKNOWN")
	}
	var f [4][]byte
	for i := range f {
		var ok bool
		f[i], rest, ok = bytes.Cut(rest, []byte(" "))
		if ok != (i < 3) {
			return Header{}, 0, bad("v1: not exactly four fields after the protocol, separated by one space")
		}
	}
	src, err := v1Addr(f[0], proto[3] == '4')
	if err != nil {
		return Header{}, 0, err
	}
	dst, err := v1Addr(f[1], proto[3] == '4')
	if err != nil {
		return Header{}, 0, err
	}
	sp, ok1 := v1Port(f[2])
	dp, ok2 := v1Port(f[3])
	if !ok1 || !ok2 {
		return Header{}, 0, bad("v1: port is not a decimal 0..65535 without leading zeros")
	}
	h.Src, h.Dst = netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	return h, n, nil
}

// v1Prefixes refuses an incomplete line whose beginning already cannot
// become valid: an unknown protocol, or characters no field may hold.
func v1Prefixes(b []byte) error {
	if len(b) <= len(v1Prefix) {
		return nil
	}
	rest := bytes.TrimSuffix(b[len(v1Prefix):], []byte("\r"))
	proto, after, done := bytes.Cut(rest, []byte(" "))
	ok := false
	for _, p := range []string{"TCP4", "TCP6", "UNKNOWN"} {
		if done && string(proto) == p || !done && len(proto) <= len(p) && p[:len(proto)] == string(proto) ||
			!done && len(rest) < len(b)-len(v1Prefix) && string(proto) == p {
			ok = true
		}
	}
	if !ok {
		return bad("v1: protocol is not TCP4, TCP6 or UNKNOWN")
	}
	if done && string(proto) != "UNKNOWN" {
		for _, c := range after {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':' || c == ' ' || c == '\r') {
				return bad("v1: invalid character in the addresses or ports")
			}
		}
	}
	return nil
}

// v1Addr parses an address of the announced family. netip refuses IPv4
// with leading zeros, and so must we (§2.1: no octal confusion).
func v1Addr(s []byte, v4 bool) (netip.Addr, error) {
	a, err := netip.ParseAddr(string(s))
	switch {
	case err != nil:
		return netip.Addr{}, bad("v1: invalid address")
	case a.Zone() != "":
		return netip.Addr{}, bad("v1: address with a zone")
	case v4 && !a.Is4():
		return netip.Addr{}, bad("v1: TCP4 with an address that is not IPv4")
	case !v4 && !a.Is6():
		return netip.Addr{}, bad("v1: TCP6 with an address that is not IPv6")
	}
	return a.Unmap(), nil
}

// v1Port parses a decimal port without sign or leading zeros.
func v1Port(s []byte) (uint16, bool) {
	if len(s) == 0 || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// AppendV1 appends a v1 header for a connection from src to dst. Both
// IPv4: TCP4; otherwise TCP6 with IPv4 addresses mapped into IPv6. With
// an invalid src or dst it writes "PROXY UNKNOWN\r\n".
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	if !src.IsValid() || !dst.IsValid() {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if s.Is4() && d.Is4() {
		b = append(b, "PROXY TCP4 "...)
	} else {
		b = append(b, "PROXY TCP6 "...)
		s, d = as6(s), as6(d)
	}
	b = s.AppendTo(b)
	b = append(b, ' ')
	b = d.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, "\r\n"...)
}

// as6 maps an IPv4 address into IPv6; IPv6 ones lose their zone.
func as6(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	return a.WithZone("")
}
