package proxyproto

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// v2 header fields (§2.2).
const (
	v2HeaderLen = 16
	v2Version   = 0x20
	cmdLocal    = 0x0
	cmdProxy    = 0x1

	famUnspec = 0x00
	famTCP4   = 0x11
	famTCP6   = 0x21

	addrLen4 = 12 // two IPv4 addresses and two ports
	addrLen6 = 36

	tlvAuthority = 0x02
	tlvCRC32C    = 0x03
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// parseV2 reads a binary header (§2.2); b starts with a prefix of the
// signature.
func parseV2(b []byte) (Header, int, error) {
	if len(b) > 12 && b[12]&0xf0 != v2Version {
		return Header{}, 0, bad("v2: version is not 2")
	}
	if len(b) > 12 && b[12]&0x0f != cmdLocal && b[12]&0x0f != cmdProxy {
		return Header{}, 0, bad("v2: command is neither LOCAL nor PROXY")
	}
	proxy := len(b) > 12 && b[12]&0x0f == cmdProxy
	if proxy && len(b) > 13 && (b[13]>>4 > 3 || b[13]&0x0f > 2) {
		// Unknown values must make the receiver drop the connection
		// (§2.2); with LOCAL the family is ignored.
		return Header{}, 0, bad("v2: unknown address family or transport protocol")
	}
	if len(b) < v2HeaderLen {
		return Header{}, 0, ErrIncomplete
	}
	fam := b[13]
	total := v2HeaderLen + int(binary.BigEndian.Uint16(b[14:16]))
	if total > MaxV2 {
		return Header{}, 0, bad("v2: header longer than 2048 bytes")
	}
	if len(b) < total {
		return Header{}, 0, ErrIncomplete
	}
	h := Header{Version: 2, Command: Local}
	if !proxy {
		// The addresses are to be ignored; TLVs are not read (§2.2).
		return h, total, nil
	}
	h.Command = Proxy
	body := b[v2HeaderLen:total]
	off := 0
	switch fam {
	case famTCP4:
		if len(body) < addrLen4 {
			return Header{}, 0, bad("v2: length shorter than the IPv4 address block")
		}
		s := netip.AddrFrom4([4]byte(body[0:4]))
		d := netip.AddrFrom4([4]byte(body[4:8]))
		h.Src = netip.AddrPortFrom(s, binary.BigEndian.Uint16(body[8:10]))
		h.Dst = netip.AddrPortFrom(d, binary.BigEndian.Uint16(body[10:12]))
		off = addrLen4
	case famTCP6:
		if len(body) < addrLen6 {
			return Header{}, 0, bad("v2: length shorter than the IPv6 address block")
		}
		s := netip.AddrFrom16([16]byte(body[0:16])).Unmap()
		d := netip.AddrFrom16([16]byte(body[16:32])).Unmap()
		h.Src = netip.AddrPortFrom(s, binary.BigEndian.Uint16(body[32:34]))
		h.Dst = netip.AddrPortFrom(d, binary.BigEndian.Uint16(body[34:36]))
		off = addrLen6
	default:
		// UNSPEC, UDP, UNIX: the real connection's addresses apply, as in
		// HAProxy. The TLVs, if any, follow an address block whose size
		// the family gives.
		switch fam >> 4 {
		case 1:
			off = addrLen4
		case 2:
			off = addrLen6
		case 3:
			off = 216 // two 108-byte UNIX paths
		}
		if off > len(body) {
			return Header{}, 0, bad("v2: length shorter than the address block")
		}
	}
	if err := h.readTLVs(b[:total], v2HeaderLen+off); err != nil {
		return Header{}, 0, err
	}
	return h, total, nil
}

// readTLVs checks the TLVs of hdr from off: each fits, they end exactly
// at the end, a CRC32C matches, an authority is at most 255 bytes.
func (h *Header) readTLVs(hdr []byte, off int) error {
	for off < len(hdr) {
		if off+3 > len(hdr) {
			return bad("v2: truncated TLV")
		}
		typ := hdr[off]
		n := int(binary.BigEndian.Uint16(hdr[off+1 : off+3]))
		v := off + 3
		if v+n > len(hdr) {
			return bad("v2: TLV longer than the header")
		}
		switch typ {
		case tlvCRC32C:
			if n != 4 {
				return bad("v2: CRC32C TLV is not 4 bytes")
			}
			want := binary.BigEndian.Uint32(hdr[v : v+4])
			c := crc32.Update(0, castagnoli, hdr[:v])
			c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
			c = crc32.Update(c, castagnoli, hdr[v+4:])
			if c != want {
				return bad("v2: CRC32C mismatch")
			}
		case tlvAuthority:
			if n > 255 {
				return bad("v2: authority TLV longer than 255 bytes")
			}
			h.Authority = hdr[v : v+n]
		}
		off = v + n
	}
	return nil
}

// AppendV2 appends a v2 PROXY header for a connection from src to dst
// (IPv4 when both are, else IPv6 with IPv4 mapped, as HAProxy writes it).
// With an invalid src or dst it writes a LOCAL header.
func AppendV2(b []byte, src, dst netip.AddrPort) []byte {
	if !src.IsValid() || !dst.IsValid() {
		return AppendV2Local(b)
	}
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	b = append(b, v2Sig...)
	if s.Is4() && d.Is4() {
		b = append(b, v2Version|cmdProxy, famTCP4, 0, addrLen4)
		b = append(b, s.AsSlice()...)
		b = append(b, d.AsSlice()...)
	} else {
		b = append(b, v2Version|cmdProxy, famTCP6, 0, addrLen6)
		s16, d16 := s.As16(), d.As16()
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

// AppendV2Local appends a v2 LOCAL header: the connection is the
// sender's own (a health check, §2.2).
func AppendV2Local(b []byte) []byte {
	b = append(b, v2Sig...)
	return append(b, v2Version|cmdLocal, famUnspec, 0, 0)
}
