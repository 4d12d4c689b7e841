package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Wire constants of VRRPv2 (RFC 3768 section 5).
const (
	// IPProtocol is the IPv4 protocol number of VRRP (RFC 3768 section 5.2.4).
	IPProtocol = 112
	// Version is the only VRRP version this package speaks (section 5.3.1).
	Version = 2
	// TypeAdvertisement is the only VRRPv2 packet type (section 5.3.2).
	TypeAdvertisement = 1
	// TTL is the IPv4 TTL of every advert; receivers drop others
	// (sections 5.2.3 and 7.1).
	TTL = 255
	// TOS is the IPv4 type of service keepalived sends adverts with
	// (internetwork control, precedence 6).
	TOS = 0xc0

	// AuthNone carries no authentication (RFC 3768 section 5.3.6).
	AuthNone = 0
	// AuthPass is RFC 2338's simple text password (section 5.3.6.1 of
	// RFC 2338). RFC 3768 reserved the value, keepalived still speaks it
	// as auth_pass, and so do we for interoperability.
	AuthPass = 1

	// PriorityStop is the priority a master sends when it stops being
	// master, so that a backup takes over after Skew_Time only
	// (section 5.3.4).
	PriorityStop = 0
	// PriorityOwner is the priority of the router that owns the addresses
	// (section 5.3.4).
	PriorityOwner = 255

	headerLen = 8 // version/type, VRID, priority, count, auth type, adver int, checksum
	authLen   = 8 // authentication data (section 5.3.10)
)

// MulticastGroup is the IPv4 multicast address adverts are sent to
// (RFC 3768 section 5.2.2).
var MulticastGroup = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// Advert is one VRRPv2 advertisement (RFC 3768 section 5.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Auth Type   |   Adver Int   |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         IP Address (1)                        |
//	|                            .....                              |
//	|                         IP Address (n)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Authentication Data (1)                   |
//	|                     Authentication Data (2)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Advert struct {
	// Version and Type are filled by ParseAdvert; Marshal always writes
	// version 2, type 1.
	Version uint8
	Type    uint8
	// VRID is the virtual router identifier, 1..255 (section 5.3.3).
	VRID uint8
	// Priority is the sender's priority; 0 means it stops being master,
	// 255 that it owns the addresses (section 5.3.4).
	Priority uint8
	// AuthType is AuthNone or AuthPass (section 5.3.6).
	AuthType uint8
	// AdvertInt is the advertisement interval in seconds (section 5.3.7).
	AdvertInt uint8
	// Checksum is the received checksum; Marshal computes it.
	Checksum uint16
	// Addrs are the virtual IPv4 addresses, in the sender's configured
	// order (section 5.3.9).
	Addrs []netip.Addr
	// AuthData is the zero-padded password for AuthPass, zero otherwise
	// (section 5.3.10).
	AuthData [authLen]byte
}

// Len is the encoded length of the advert.
func (a *Advert) Len() int { return headerLen + 4*len(a.Addrs) + authLen }

// Marshal encodes the advert with its checksum (RFC 3768 sections 5.1
// and 5.3.8).
func (a *Advert) Marshal() ([]byte, error) {
	if len(a.Addrs) > 255 {
		return nil, fmt.Errorf("vrrp: %d addresses do not fit in an advert (at most 255)", len(a.Addrs))
	}
	b := make([]byte, a.Len())
	b[0] = Version<<4 | TypeAdvertisement
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addrs))
	b[4] = a.AuthType
	b[5] = a.AdvertInt
	// b[6:8], the checksum, is zero while it is computed.
	off := headerLen
	for _, ip := range a.Addrs {
		if !ip.Is4() {
			return nil, fmt.Errorf("vrrp: %s is not an IPv4 address", ip)
		}
		v4 := ip.As4()
		copy(b[off:], v4[:])
		off += 4
	}
	copy(b[off:], a.AuthData[:])
	binary.BigEndian.PutUint16(b[6:8], checksum(b))
	return b, nil
}

// ParseError says why bytes are not a VRRPv2 advert. Reason is one of the
// receive-validation reasons, so that the caller counts it as such.
type ParseError struct {
	Reason Reason
	Detail string
}

func (e *ParseError) Error() string { return "vrrp: " + string(e.Reason) + ": " + e.Detail }

// ParseAdvert decodes a VRRP message (the IP payload). It checks what can
// be checked without configuration, in the order of RFC 3768 section 7.1:
// the version, that the message is complete (and no longer than its
// address count says), and the checksum. The type and every check against
// the virtual router's configuration are left to the receiver (validate).
func ParseAdvert(b []byte) (*Advert, error) {
	if len(b) < 1 {
		return nil, &ParseError{ReasonLength, "empty message"}
	}
	if v := b[0] >> 4; v != Version {
		return nil, &ParseError{ReasonVersion, fmt.Sprintf("version %d, want %d", v, Version)}
	}
	if len(b) < headerLen {
		return nil, &ParseError{ReasonLength, fmt.Sprintf("%d bytes is shorter than the %d-byte header", len(b), headerLen)}
	}
	n := int(b[3])
	want := headerLen + 4*n + authLen
	if len(b) != want {
		return nil, &ParseError{ReasonLength, fmt.Sprintf("%d bytes for %d addresses, want %d", len(b), n, want)}
	}
	if c := checksum(b); c != 0 {
		return nil, &ParseError{ReasonChecksum, fmt.Sprintf("checksum 0x%04x does not verify", binary.BigEndian.Uint16(b[6:8]))}
	}
	a := &Advert{
		Version:   b[0] >> 4,
		Type:      b[0] & 0x0f,
		VRID:      b[1],
		Priority:  b[2],
		AuthType:  b[4],
		AdvertInt: b[5],
		Checksum:  binary.BigEndian.Uint16(b[6:8]),
		Addrs:     make([]netip.Addr, n),
	}
	for i := range n {
		a.Addrs[i] = netip.AddrFrom4([4]byte(b[headerLen+4*i : headerLen+4*i+4]))
	}
	copy(a.AuthData[:], b[headerLen+4*n:])
	return a, nil
}

// checksum is the 16-bit one's complement of the one's complement sum of
// the whole VRRP message (RFC 3768 section 5.3.8, the Internet checksum of
// RFC 1071). Over a message whose checksum field is filled in it is 0.
func checksum(b []byte) uint16 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// authData is the authentication data field for a password: the password
// zero padded to 8 bytes (RFC 2338 section 5.3.10).
func authData(pass string) (d [authLen]byte) {
	copy(d[:], pass)
	return d
}
