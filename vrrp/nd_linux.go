//go:build linux

package vrrp

// The IPv6 announcer: unsolicited neighbour advertisements (RFC 5798
// section 6.4.1: "for each IPv6 address associated with the Virtual
// Router, send an Unsolicited ND Neighbor Advertisement", RFC 4861 section
// 7.2.6), built as keepalived builds them; the neighbour solicitation that
// tells whether another node still answers for a VIP; and the watch for
// other nodes advertising our VIPs.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ICMPv6 neighbour discovery (RFC 4861 section 4).
const (
	icmp6NS         = 135
	icmp6NA         = 136
	ndOptSourceLL   = 1
	ndOptTargetLL   = 2
	naFlagRouter    = 0x80
	naFlagOverride  = 0x20
	icmp6Header     = 4  // type, code, checksum
	ndBodyLen       = 20 // flags or reserved (4), target (16)
	ndOptLinkLayer  = 8  // type, length (in units of 8 bytes), MAC
	icmp6Protocol   = 58
	ndTargetOffset  = ethernetHeaderLen + ipv6.HeaderLen + 8 // in the frame
	ndICMPTypeField = ethernetHeaderLen + ipv6.HeaderLen
)

var allNodes = netip.MustParseAddr("ff02::1")

// ndAnnouncer is a packet socket bound to IPv6's EtherType. Its filter
// keeps every frame out of the receive queue, except, while VIPs are
// watched, the neighbour advertisements whose target is one of them.
type ndAnnouncer struct {
	ifi    *net.Interface
	c      *packet.Conn
	router bool // the interface forwards: the R flag, as keepalived sets it
	mu     sync.Mutex
	vips   []netip.Prefix
	buf    []byte
	seen   claims
}

// openND opens the socket; it runs in the interface's namespace, where
// /proc/sys/net is that namespace's.
func openND(ifi *net.Interface) (announcer, error) {
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_IPV6, &packet.Config{Filter: dropAllFilter})
	if err != nil {
		return nil, fmt.Errorf("vrrp: IPv6 packet socket on %s: %w", ifi.Name, err)
	}
	fwd, _ := os.ReadFile("/proc/sys/net/ipv6/conf/" + ifi.Name + "/forwarding")
	return &ndAnnouncer{ifi: ifi, c: c, router: strings.TrimSpace(string(fwd)) == "1", buf: make([]byte, 1500)}, nil
}

// claimFilter6 keeps the neighbour advertisements others sent whose
// target is one of vips (no extension headers: hop limit 255 and ND do
// without them).
func claimFilter6(vips []netip.Prefix) []bpf.RawInstruction {
	prog := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: pktOutgoing, SkipTrue: 100},
		bpf.LoadAbsolute{Off: 20, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: icmp6Protocol, SkipTrue: 100},
		bpf.LoadAbsolute{Off: ndICMPTypeField, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: icmp6NA, SkipTrue: 100},
	}
	for _, p := range vips {
		b := p.Addr().As16()
		for w := range 4 {
			prog = append(prog,
				bpf.LoadAbsolute{Off: uint32(ndTargetOffset + 4*w), Size: 4},
				bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: binary.BigEndian.Uint32(b[4*w:]), SkipTrue: uint8(7 - 2*w)})
		}
		prog = append(prog, bpf.RetConstant{Val: 0xffff})
	}
	return withDrop(prog)
}

// announce sends, per address, the unsolicited neighbour advertisement
// keepalived sends: from the VIP to all nodes (ff02::1), hop limit 255,
// Override set, Solicited clear, Router as the interface forwards, the
// target link-layer address mac; from src on Ethernet.
func (n *ndAnnouncer) announce(src, mac net.HardwareAddr, vips []netip.Prefix) error {
	for _, p := range vips {
		flags := byte(naFlagOverride)
		if n.router {
			flags |= naFlagRouter
		}
		if err := n.send(src, p.Addr(), allNodes, icmp6NA, flags, p.Addr(), ndOptTargetLL, mac); err != nil {
			return fmt.Errorf("neighbour advertisement for %s on %s: %w", p.Addr(), n.ifi.Name, err)
		}
	}
	return nil
}

func (n *ndAnnouncer) watch(vips []netip.Prefix) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	f := dropAllFilter
	if len(vips) > 0 {
		f = claimFilter6(vips)
	}
	if err := n.c.SetBPF(f); err != nil {
		return fmt.Errorf("IPv6 packet socket filter on %s: %w", n.ifi.Name, err)
	}
	n.vips = slices.Clone(vips)
	return nil
}

// probe sends a neighbour solicitation for each address, from src (our
// link-local address) to the address's solicited-node group (RFC 4291
// section 2.7.1), with our link-layer address: a holder answers with a
// neighbour advertisement. What was kept before is dropped.
func (n *ndAnnouncer) probe(src netip.Addr, mac net.HardwareAddr, vips []netip.Prefix) error {
	n.mu.Lock()
	_, err := n.drain(nil)
	n.seen = claims{}
	n.mu.Unlock()
	if err != nil {
		return err
	}
	for _, p := range vips {
		t := p.Addr().As16()
		group := netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 1, 12: 0xff, 13: t[13], 14: t[14], 15: t[15]})
		if err := n.send(mac, src, group, icmp6NS, 0, p.Addr(), ndOptSourceLL, mac); err != nil {
			return fmt.Errorf("neighbour solicitation for %s on %s: %w", p.Addr(), n.ifi.Name, err)
		}
	}
	return nil
}

func (n *ndAnnouncer) claimed(ours []net.HardwareAddr) (claims, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.drain(ours)
	c.other, c.forUs = c.other || n.seen.other, c.forUs || n.seen.forUs
	n.seen = claims{}
	return c, err
}

// drain reads the socket until it is empty and reports the claims in the
// advertisements for watched addresses (the MAC is their target
// link-layer address, else their Ethernet source).
func (n *ndAnnouncer) drain(ours []net.HardwareAddr) (c claims, err error) {
	rc, err := n.c.SyscallConn()
	if err != nil {
		return claims{}, err
	}
	cerr := rc.Control(func(fd uintptr) {
		for {
			k, _, rerr := unix.Recvfrom(int(fd), n.buf, unix.MSG_DONTWAIT)
			if rerr == unix.EINTR {
				continue
			}
			if rerr != nil {
				if rerr != unix.EAGAIN {
					err = fmt.Errorf("reading the IPv6 packet socket of %s: %w", n.ifi.Name, rerr)
				}
				return
			}
			if ours == nil {
				continue
			}
			target, mac, ok := parseNA(n.buf[:k])
			if !ok || !slices.ContainsFunc(n.vips, func(v netip.Prefix) bool { return v.Addr() == target }) {
				continue
			}
			c.add(ours, mac, net.HardwareAddr(n.buf[6:12]))
		}
	})
	return c, errors.Join(cerr, err)
}

// parseNA reads a neighbour advertisement frame: its target and the
// link-layer address it gives (the target link-layer address option, or
// the Ethernet source without one).
func parseNA(f []byte) (target netip.Addr, mac net.HardwareAddr, ok bool) {
	const body = ndTargetOffset + 16
	if len(f) < body || f[20] != icmp6Protocol || f[ndICMPTypeField] != icmp6NA {
		return netip.Addr{}, nil, false
	}
	target = netip.AddrFrom16([16]byte(f[ndTargetOffset:body]))
	mac = net.HardwareAddr(f[6:12])
	for opts := f[body:]; len(opts) >= 8 && opts[1] > 0; {
		l := int(opts[1]) * 8
		if l > len(opts) {
			break
		}
		if opts[0] == ndOptTargetLL && l >= 8 {
			mac = net.HardwareAddr(opts[2:8])
		}
		opts = opts[l:]
	}
	return target, slices.Clone(mac), true
}

// send writes one neighbour discovery message with one link-layer
// address option: Ethernet from src to the IPv6 multicast MAC of dst
// (RFC 2464 section 7), IPv6 from from to dst, hop limit 255.
func (n *ndAnnouncer) send(src net.HardwareAddr, from, dst netip.Addr, typ, flags byte, target netip.Addr, opt byte, mac net.HardwareAddr) error {
	msg := make([]byte, icmp6Header+ndBodyLen+ndOptLinkLayer)
	msg[0] = typ
	msg[4] = flags
	copy(msg[8:24], target.AsSlice())
	msg[24], msg[25] = opt, 1
	copy(msg[26:32], mac)
	var sum uint32
	sum = sumBytes(sum, from.AsSlice())
	sum = sumBytes(sum, dst.AsSlice())
	sum += icmp6Protocol + uint32(len(msg))
	binary.BigEndian.PutUint16(msg[2:4], fold(sumBytes(sum, msg)))

	ip := make([]byte, ipv6.HeaderLen, ipv6.HeaderLen+len(msg))
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(msg)))
	ip[6], ip[7] = icmp6Protocol, 255
	copy(ip[8:24], from.AsSlice())
	copy(ip[24:40], dst.AsSlice())
	ip = append(ip, msg...)

	d := dst.As16()
	dmac := net.HardwareAddr{0x33, 0x33, d[12], d[13], d[14], d[15]}
	fr := ethernet.Frame{Destination: dmac, Source: src, EtherType: ethernet.EtherTypeIPv6, Payload: ip}
	fb, err := fr.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = n.c.WriteTo(fb, &packet.Addr{HardwareAddr: dmac})
	return err
}

func (n *ndAnnouncer) close() error { return n.c.Close() }
