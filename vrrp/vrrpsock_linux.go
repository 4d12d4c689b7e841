//go:build linux

package vrrp

// The sockets that carry VRRP: a raw IP socket to send (and to join the
// multicast group), a packet socket to receive. Adverts are read off the
// link rather than the IP socket so that the state machine knows the
// Ethernet source of each one: the MAC the sender's clients reach it at
// (its own, or its virtual MAC), which a leaving master points the
// clients at.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/rs/zerolog"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"lbd/config"
)

// vrrpSocket is one virtual router's transport.
type vrrpSocket struct {
	v6   bool
	rc4  *ipv4.RawConn    // IPv4: header written by us
	pc6  *ipv6.PacketConn // IPv6: the kernel writes the header
	tx   *net.Interface   // where adverts leave (the macvlan with use_vmac)
	rx   *packet.Conn     // adverts of our VRID, as received on the instance's interface
	done chan struct{}    // closed when readLoop returns (at once if it never ran)
	stop chan struct{}
}

// Link-layer packet types (linux/if_packet.h) the receive filters drop:
// our own frames, and frames for another host that a bridge flooded.
const (
	pktOtherHost = 3
	pktOutgoing  = 4
)

// openVRRPSocket opens the transport of cfg. Adverts leave from tx with
// TTL (hop limit) 255 and TOS (traffic class) 0xc0, multicast loopback
// off; the IP socket joins the group on ifi in multicast mode and keeps
// nothing of what it receives; the packet socket on ifi keeps, by a socket
// filter, the VRRP packets of our VRID that the host received.
func openVRRPSocket(cfg *config.VRRPInstance, ifi, tx *net.Interface) (*vrrpSocket, error) {
	s := &vrrpSocket{v6: cfg.IPv6(), tx: tx, stop: make(chan struct{})}
	multicast := len(cfg.UnicastPeers) == 0
	var err error
	if s.v6 {
		err = s.openIPv6(ifi, multicast)
	} else {
		err = s.openIPv4(ifi, multicast)
	}
	if err != nil {
		return nil, err
	}
	proto, filter := unix.ETH_P_IP, rxFilter4(uint8(cfg.VirtualRouterID))
	if s.v6 {
		proto, filter = unix.ETH_P_IPV6, rxFilter6(uint8(cfg.VirtualRouterID))
	}
	s.rx, err = packet.Listen(ifi, packet.Raw, proto, &packet.Config{Filter: filter})
	if err != nil {
		s.closeIP()
		return nil, fmt.Errorf("vrrp: packet socket on %s (needs CAP_NET_RAW): %w", ifi.Name, err)
	}
	return s, nil
}

// rawControl binds a raw socket to its interface and, for IPv4, limits
// its multicast groups to the ones it joined.
func rawControl(ifname string, v6 bool) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname)
			if serr == nil && !v6 {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
			}
		})
		return errors.Join(err, serr)
	}
}

func (s *vrrpSocket) openIPv4(ifi *net.Interface, multicast bool) error {
	lc := net.ListenConfig{Control: rawControl(s.tx.Name, false)}
	pc, err := lc.ListenPacket(context.Background(), fmt.Sprintf("ip4:%d", IPProtocol), "0.0.0.0")
	if err != nil {
		return fmt.Errorf("vrrp: raw socket on %s (needs CAP_NET_RAW): %w", s.tx.Name, err)
	}
	rc, err := ipv4.NewRawConn(pc)
	if err != nil {
		pc.Close()
		return err
	}
	s.rc4 = rc
	fail := func(what string, err error) error {
		rc.Close()
		return fmt.Errorf("vrrp: %s on %s: %w", what, ifi.Name, err)
	}
	if err := rc.SetMulticastLoopback(false); err != nil {
		return fail("multicast loopback", err)
	}
	if err := rc.SetMulticastInterface(s.tx); err != nil {
		return fail("multicast interface", err)
	}
	if err := rc.SetBPF(dropAllFilter); err != nil {
		return fail("socket filter", err)
	}
	if multicast {
		if err := rc.JoinGroup(ifi, &net.IPAddr{IP: net.IP(MulticastGroup.AsSlice())}); err != nil {
			return fail("joining 224.0.0.18", err)
		}
	}
	return nil
}

func (s *vrrpSocket) openIPv6(ifi *net.Interface, multicast bool) error {
	lc := net.ListenConfig{Control: rawControl(s.tx.Name, true)}
	c, err := lc.ListenPacket(context.Background(), fmt.Sprintf("ip6:%d", IPProtocol), "::")
	if err != nil {
		return fmt.Errorf("vrrp: raw IPv6 socket on %s (needs CAP_NET_RAW): %w", s.tx.Name, err)
	}
	pc := ipv6.NewPacketConn(c)
	s.pc6 = pc
	fail := func(what string, err error) error {
		pc.Close()
		return fmt.Errorf("vrrp: %s on %s: %w", what, ifi.Name, err)
	}
	for _, step := range []struct {
		what string
		err  error
	}{
		{"multicast loopback", pc.SetMulticastLoopback(false)},
		{"multicast interface", pc.SetMulticastInterface(s.tx)},
		{"multicast hop limit", pc.SetMulticastHopLimit(TTL)},
		{"hop limit", pc.SetHopLimit(TTL)},
		{"traffic class", pc.SetTrafficClass(TOS)},
		{"socket filter", pc.SetBPF(dropAllFilter)},
	} {
		if step.err != nil {
			return fail(step.what, step.err)
		}
	}
	if multicast {
		if err := pc.JoinGroup(ifi, &net.IPAddr{IP: net.IP(MulticastGroup6.AsSlice())}); err != nil {
			return fail("joining ff02::12", err)
		}
	}
	return nil
}

var dropAllFilter = mustAssemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(fmt.Sprintf("vrrp: assembling a socket filter: %v", err))
	}
	return raw
}

// dropForeign starts a filter: frames we sent and frames for another
// host are dropped (the next instruction is at index 3).
func dropForeign() []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: pktOutgoing, SkipTrue: 100},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: pktOtherHost, SkipTrue: 100},
	}
}

// withDrop resolves the "SkipTrue: 100" jumps of dropForeign, and of any
// other instruction, to a final drop.
func withDrop(prog []bpf.Instruction) []bpf.RawInstruction {
	prog = append(prog, bpf.RetConstant{Val: 0})
	last := len(prog) - 1
	for i, ins := range prog {
		if j, ok := ins.(bpf.JumpIf); ok {
			if j.SkipTrue == 100 {
				j.SkipTrue = uint8(last - i - 1)
			}
			if j.SkipFalse == 100 {
				j.SkipFalse = uint8(last - i - 1)
			}
			prog[i] = j
		}
	}
	return mustAssemble(prog)
}

// rxFilter4 keeps IPv4 VRRP packets (protocol at frame offset 23) whose
// VRID (the second byte after the IP header, of variable length) is vrid.
func rxFilter4(vrid uint8) []bpf.RawInstruction {
	return withDrop(append(dropForeign(),
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: IPProtocol, SkipTrue: 100},
		bpf.LoadMemShift{Off: ethernetHeaderLen},
		bpf.LoadIndirect{Off: ethernetHeaderLen + 1, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(vrid), SkipTrue: 100},
		bpf.RetConstant{Val: 0xffff},
	))
}

// rxFilter6 keeps IPv6 VRRP packets (next header at frame offset 20; no
// extension headers) whose VRID is vrid.
func rxFilter6(vrid uint8) []bpf.RawInstruction {
	return withDrop(append(dropForeign(),
		bpf.LoadAbsolute{Off: 20, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: IPProtocol, SkipTrue: 100},
		bpf.LoadAbsolute{Off: ethernetHeaderLen + ipv6.HeaderLen + 1, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(vrid), SkipTrue: 100},
		bpf.RetConstant{Val: 0xffff},
	))
}

const ethernetHeaderLen = 14

// send writes one advert from src to dst. IPv4: our own header, TTL 255
// (RFC 3768 section 5.2.3, RFC 5798 section 5.1.1.3), TOS 0xc0 and
// protocol 112 as keepalived; the kernel fills the ID and the header
// checksum. IPv6: the kernel writes the header with the socket's hop
// limit 255 and traffic class; src, a link-local address of the
// interface (RFC 5798 section 5.1.2.1), goes in IPV6_PKTINFO.
func (s *vrrpSocket) send(src, dst netip.Addr, msg []byte) error {
	if s.v6 {
		cm := &ipv6.ControlMessage{Src: net.IP(src.AsSlice()), IfIndex: s.tx.Index, HopLimit: TTL}
		// The zone by index: a name would be looked up in the namespace
		// of whatever thread writes.
		_, err := s.pc6.WriteTo(msg, cm, &net.IPAddr{IP: net.IP(dst.AsSlice()), Zone: strconv.Itoa(s.tx.Index)})
		return err
	}
	h := &ipv4.Header{
		Version:  4,
		Len:      ipv4.HeaderLen,
		TOS:      TOS,
		TotalLen: ipv4.HeaderLen + len(msg),
		TTL:      TTL,
		Protocol: IPProtocol,
		Src:      net.IP(src.AsSlice()),
		Dst:      net.IP(dst.AsSlice()),
	}
	return s.rc4.WriteTo(h, msg, nil)
}

// start runs readLoop.
func (s *vrrpSocket) start(log zerolog.Logger, rx func(rxPacket)) {
	s.done = make(chan struct{})
	go s.readLoop(log, rx)
}

// readLoop hands every received advert to rx, one at a time, until close.
func (s *vrrpSocket) readLoop(log zerolog.Logger, rx func(rxPacket)) {
	defer close(s.done)
	buf := make([]byte, 4096)
	var lastErr time.Time
	for {
		n, _, err := s.rx.ReadFrom(buf)
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			if time.Since(lastErr) > 10*time.Second {
				log.Warn().Err(err).Msg("reading VRRP socket")
				lastErr = time.Now()
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if pkt, ok := parseFrame(buf[:n]); ok {
			rx(pkt)
		}
	}
}

// parseFrame takes the Ethernet and IP headers off a received frame. What
// the filter let through but is not a whole, unfragmented IP packet is
// dropped, as the IP layer would.
func parseFrame(f []byte) (rxPacket, bool) {
	if len(f) < ethernetHeaderLen {
		return rxPacket{}, false
	}
	var pkt rxPacket
	pkt.SrcMAC = net.HardwareAddr(append([]byte(nil), f[6:12]...))
	ip := f[ethernetHeaderLen:]
	switch ethernet.EtherType(binary.BigEndian.Uint16(f[12:14])) {
	case ethernet.EtherTypeIPv4:
		if len(ip) < ipv4.HeaderLen || ip[0]>>4 != 4 {
			return rxPacket{}, false
		}
		hl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:4]))
		if hl < ipv4.HeaderLen || total < hl || total > len(ip) || checksum(ip[:hl]) != 0 ||
			binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 { // MF or a fragment offset
			return rxPacket{}, false
		}
		pkt.TTL = int(ip[8])
		pkt.Src = netip.AddrFrom4([4]byte(ip[12:16]))
		pkt.Dst = netip.AddrFrom4([4]byte(ip[16:20]))
		pkt.Payload = ip[hl:total]
	case ethernet.EtherTypeIPv6:
		if len(ip) < ipv6.HeaderLen || ip[0]>>4 != 6 {
			return rxPacket{}, false
		}
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if ipv6.HeaderLen+plen > len(ip) {
			return rxPacket{}, false
		}
		pkt.TTL = int(ip[7])
		pkt.Src = netip.AddrFrom16([16]byte(ip[8:24]))
		pkt.Dst = netip.AddrFrom16([16]byte(ip[24:40]))
		pkt.Payload = ip[ipv6.HeaderLen : ipv6.HeaderLen+plen]
	default:
		return rxPacket{}, false
	}
	return pkt, true
}

func (s *vrrpSocket) closeIP() error {
	if s.rc4 != nil {
		return s.rc4.Close()
	}
	if s.pc6 != nil {
		return s.pc6.Close()
	}
	return nil
}

// close ends readLoop and closes the sockets.
func (s *vrrpSocket) close() error {
	close(s.stop)
	err := errors.Join(s.closeIP(), s.rx.Close())
	if s.done != nil {
		<-s.done
	}
	return err
}
