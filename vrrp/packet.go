package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Wire constants of VRRPv2 (RFC 3768 section 5) and VRRPv3 (RFC 5798
// section 5).
const (
	// IPProtocol is the IPv4 protocol and IPv6 next header of VRRP (RFC
	// 3768 section 5.2.4, RFC 5798 sections 5.1.1.4 and 5.1.2.4).
	IPProtocol = 112
	// Version2 is RFC 3768's VRRP, IPv4 only, whole-second intervals.
	Version2 = 2
	// Version3 is RFC 5798's VRRP, IPv4 or IPv6, centisecond intervals,
	// no authentication (section 5.2.1).
	Version3 = 3
	// TypeAdvertisement is the only VRRP packet type (RFC 3768 section
	// 5.3.2, RFC 5798 section 5.2.2).
	TypeAdvertisement = 1
	// TTL is the IPv4 TTL (IPv6 hop limit) of every advert; receivers
	// drop others (RFC 3768 sections 5.2.3 and 7.1, RFC 5798 sections
	// 5.1.1.3, 5.1.2.3 and 7.1).
	TTL = 255
	// TOS is the IPv4 type of service (IPv6 traffic class) keepalived
	// sends adverts with (internetwork control, precedence 6).
	TOS = 0xc0

	// AuthNone carries no authentication (RFC 3768 section 5.3.6).
	AuthNone = 0
	// AuthPass is RFC 2338's simple text password (section 5.3.6.1 of
	// RFC 2338). RFC 3768 reserved the value, keepalived still speaks it
	// as auth_pass, and so do we for interoperability (VRRPv2 only).
	AuthPass = 1

	// PriorityStop is the priority a master sends when it stops being
	// master, so that a backup takes over after Skew_Time only
	// (RFC 3768 section 5.3.4, RFC 5798 section 5.2.4).
	PriorityStop = 0
	// PriorityOwner is the priority of the router that owns the addresses
	// (RFC 3768 section 5.3.4, RFC 5798 section 5.2.4).
	PriorityOwner = 255

	headerLen = 8 // version/type, VRID, priority, count, then v2: auth type, adver int; v3: rsvd + max adver int; checksum
	authLen   = 8 // VRRPv2 authentication data (RFC 3768 section 5.3.10)

	// MaxAdvertIntV3 is the largest VRRPv3 interval, 12 bits of
	// centiseconds (RFC 5798 section 5.2.7).
	MaxAdvertIntV3 = 0x0fff
)

var (
	// MulticastGroup is the IPv4 multicast address adverts are sent to
	// (RFC 3768 section 5.2.2, RFC 5798 section 5.1.1.2).
	MulticastGroup = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	// MulticastGroup6 is the IPv6 one (RFC 5798 section 5.1.2.2).
	MulticastGroup6 = netip.MustParseAddr("ff02::12")
)

// Group is the multicast group of a family's adverts.
func Group(ipv6 bool) netip.Addr {
	if ipv6 {
		return MulticastGroup6
	}
	return MulticastGroup
}

// Advert is one VRRP advertisement, version 2 (RFC 3768 section 5.1) or 3
// (RFC 5798 section 5.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	v2: |   Auth Type   |   Adver Int   |          Checksum             |
//	v3: |(rsvd) |     Max Adver Int     |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  IPv4 (4 bytes) or IPv6 (16 bytes)            |
//	|                         Address (1..n)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	v2 only: |        Authentication Data (8 bytes)                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Advert struct {
	// Version is 2 or 3; Type is filled by ParseAdvert, Marshal always
	// writes 1 (advertisement).
	Version uint8
	Type    uint8
	// VRID is the virtual router identifier, 1..255.
	VRID uint8
	// Priority is the sender's priority; 0 means it stops being master,
	// 255 that it owns the addresses.
	Priority uint8
	// AuthType is AuthNone or AuthPass (VRRPv2 only).
	AuthType uint8
	// AdvertInt is the advertisement interval in the version's unit:
	// seconds (v2, 8 bits), centiseconds (v3, 12 bits). See Interval.
	AdvertInt uint16
	// Checksum is the received checksum; Marshal computes it.
	Checksum uint16
	// Addrs are the virtual addresses, in the sender's configured order,
	// all of the family of the IP packet that carries the advert.
	Addrs []netip.Addr
	// AuthData is the zero-padded password for AuthPass, zero otherwise
	// (VRRPv2 only).
	AuthData [authLen]byte
}

// Pseudo is what the VRRPv3 checksum covers besides the message: the IP
// source and destination of the packet (RFC 5798 section 5.2.8, the
// pseudo-header of RFC 2460 section 8.1, and its IPv4 analogue). Its
// family is the family of the advert's addresses, for both versions.
type Pseudo struct{ Src, Dst netip.Addr }

// Interval is the advertisement interval as a duration.
func (a *Advert) Interval() time.Duration {
	if a.Version == Version3 {
		return time.Duration(a.AdvertInt) * 10 * time.Millisecond
	}
	return time.Duration(a.AdvertInt) * time.Second
}

// addrLen is the size of one address of the packet's family.
func (ph Pseudo) addrLen() int {
	if ph.Src.Is6() {
		return 16
	}
	return 4
}

// Len is the encoded length of the advert.
func (a *Advert) Len(ph Pseudo) int {
	n := headerLen + ph.addrLen()*len(a.Addrs)
	if a.Version == Version2 {
		n += authLen
	}
	return n
}

// Marshal encodes the advert with its checksum (RFC 3768 sections 5.1
// and 5.3.8, RFC 5798 sections 5.1 and 5.2.8) for an IP packet from
// ph.Src to ph.Dst.
func (a *Advert) Marshal(ph Pseudo) ([]byte, error) {
	if err := a.check(ph); err != nil {
		return nil, err
	}
	b := make([]byte, a.Len(ph))
	b[0] = a.Version<<4 | TypeAdvertisement
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addrs))
	if a.Version == Version3 {
		binary.BigEndian.PutUint16(b[4:6], a.AdvertInt)
	} else {
		b[4] = a.AuthType
		b[5] = uint8(a.AdvertInt)
	}
	// b[6:8], the checksum, is zero while it is computed.
	off := headerLen
	for _, ip := range a.Addrs {
		off += copy(b[off:], ip.AsSlice())
	}
	if a.Version == Version2 {
		copy(b[off:], a.AuthData[:])
	}
	binary.BigEndian.PutUint16(b[6:8], a.checksum(b, ph))
	return b, nil
}

func (a *Advert) check(ph Pseudo) error {
	v6 := ph.Src.Is6()
	switch {
	case a.Version != Version2 && a.Version != Version3:
		return fmt.Errorf("vrrp: version %d is neither 2 nor 3", a.Version)
	case !ph.Src.IsValid() || !ph.Dst.IsValid() || ph.Dst.Is6() != v6 || ph.Src.Is4In6() || ph.Dst.Is4In6():
		return fmt.Errorf("vrrp: source %s and destination %s are not of one family", ph.Src, ph.Dst)
	case a.Version == Version2 && v6:
		return errors.New("vrrp: VRRPv2 is IPv4 only")
	case a.Version == Version2 && a.AdvertInt > 0xff:
		return fmt.Errorf("vrrp: a VRRPv2 interval of %ds does not fit in 8 bits", a.AdvertInt)
	case a.Version == Version3 && a.AdvertInt > MaxAdvertIntV3:
		return fmt.Errorf("vrrp: a VRRPv3 interval of %dcs does not fit in 12 bits", a.AdvertInt)
	case len(a.Addrs) > 255:
		return fmt.Errorf("vrrp: %d addresses do not fit in an advert (at most 255)", len(a.Addrs))
	}
	for _, ip := range a.Addrs {
		if ip.Is6() != v6 || ip.Is4In6() {
			return fmt.Errorf("vrrp: %s is not of the family of the packet (%s)", ip, ph.Src)
		}
	}
	return nil
}

// checksum is the Internet checksum (RFC 1071) of the message b, over the
// pseudo-header first for VRRPv3. Over a message whose checksum field is
// filled in it is 0.
func (a *Advert) checksum(b []byte, ph Pseudo) uint16 {
	if a.Version != Version3 {
		return checksum(b)
	}
	var sum uint32
	sum = sumBytes(sum, ph.Src.AsSlice())
	sum = sumBytes(sum, ph.Dst.AsSlice())
	// IPv4: zero, protocol, length (16 bits); IPv6: length (32 bits),
	// three zero bytes, next header. Both add up to protocol + length.
	sum += IPProtocol + uint32(len(b))
	return fold(sumBytes(sum, b))
}

// ParseError says why bytes are not a VRRP advert. Reason is one of the
// receive-validation reasons, so that the caller counts it as such.
type ParseError struct {
	Reason Reason
	Detail string
}

func (e *ParseError) Error() string { return "vrrp: " + string(e.Reason) + ": " + e.Detail }

// ParseAdvert decodes a VRRP message (the IP payload) received in a
// packet from ph.Src to ph.Dst. It checks what can be checked without
// configuration, in the order of RFC 3768 and RFC 5798 section 7.1: the
// version (2 or 3; 2 over IPv4 only), that the message is complete (and no
// longer than its address count says), and the checksum. The type and
// every check against the virtual router's configuration, its version
// included, are left to the receiver (validate).
func ParseAdvert(b []byte, ph Pseudo) (*Advert, error) {
	if len(b) < 1 {
		return nil, &ParseError{ReasonLength, "empty message"}
	}
	v := b[0] >> 4
	switch {
	case v != Version2 && v != Version3:
		return nil, &ParseError{ReasonVersion, fmt.Sprintf("version %d, want 2 or 3", v)}
	case v == Version2 && ph.Src.Is6():
		return nil, &ParseError{ReasonVersion, "VRRPv2 over IPv6"}
	}
	if len(b) < headerLen {
		return nil, &ParseError{ReasonLength, fmt.Sprintf("%d bytes is shorter than the %d-byte header", len(b), headerLen)}
	}
	a := &Advert{Version: v, Type: b[0] & 0x0f, VRID: b[1], Priority: b[2], Checksum: binary.BigEndian.Uint16(b[6:8])}
	n, al := int(b[3]), ph.addrLen()
	want := headerLen + al*n
	if v == Version2 {
		want += authLen
	}
	if len(b) != want {
		return nil, &ParseError{ReasonLength, fmt.Sprintf("%d bytes for %d addresses, want %d", len(b), n, want)}
	}
	if c := a.checksum(b, ph); c != 0 {
		return nil, &ParseError{ReasonChecksum, fmt.Sprintf("checksum 0x%04x does not verify", a.Checksum)}
	}
	if v == Version3 {
		// The 4 reserved bits are ignored on reception.
		a.AdvertInt = binary.BigEndian.Uint16(b[4:6]) & MaxAdvertIntV3
	} else {
		a.AuthType, a.AdvertInt = b[4], uint16(b[5])
		copy(a.AuthData[:], b[headerLen+al*n:])
	}
	a.Addrs = make([]netip.Addr, n)
	for i := range n {
		a.Addrs[i], _ = netip.AddrFromSlice(b[headerLen+al*i : headerLen+al*(i+1)])
	}
	return a, nil
}

// checksum is the 16-bit one's complement of the one's complement sum of
// b (RFC 1071), the VRRPv2 checksum (RFC 3768 section 5.3.8).
func checksum(b []byte) uint16 { return fold(sumBytes(0, b)) }

// sumBytes adds b to a one's complement sum as 16-bit words, an odd
// trailing byte padded with zero on the right.
func sumBytes(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
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
