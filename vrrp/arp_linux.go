//go:build linux

package vrrp

// The IPv4 announcer: gratuitous ARP (sent on becoming master, RFC 3768
// section 6.4.2 / RFC 5798 section 6.4.1, as keepalived sends it), the ARP
// probe that tells whether another node still answers for a VIP, and the
// watch for other nodes announcing our VIPs.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// arpAnnouncer is a packet socket bound to ARP's EtherType. Its filter
// keeps every frame out of the receive queue, except, while VIPs are
// watched, the ARP packets whose sender address is one of them.
type arpAnnouncer struct {
	ifi  *net.Interface
	c    *packet.Conn
	mu   sync.Mutex // the fields below
	vips []netip.Prefix
	buf  []byte
	seen claims // read and not yet reported
}

func openARP(ifi *net.Interface) (announcer, error) {
	c, err := packet.Listen(ifi, packet.Raw, int(ethernet.EtherTypeARP), &packet.Config{Filter: dropAllFilter})
	if err != nil {
		return nil, fmt.Errorf("vrrp: ARP socket on %s: %w", ifi.Name, err)
	}
	return &arpAnnouncer{ifi: ifi, c: c, buf: make([]byte, 1500)}, nil
}

// claimFilter4 keeps the ARP packets, requests or replies, that others
// sent (not our outgoing frames) whose sender protocol address (frame
// offset 28) is one of vips.
func claimFilter4(vips []netip.Prefix) []bpf.RawInstruction {
	prog := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: pktOutgoing, SkipTrue: 100},
		bpf.LoadAbsolute{Off: 28, Size: 4},
	}
	for _, p := range vips {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: binary.BigEndian.Uint32(p.Addr().AsSlice()), SkipTrue: 1},
			bpf.RetConstant{Val: 0xffff})
	}
	return withDrop(prog)
}

// announce sends, per address, the gratuitous ARP keepalived sends: an
// ARP request broadcast on Ethernet, sender and target IP the VIP, sender
// MAC mac, target MAC ff:ff:ff:ff:ff:ff, from src.
func (a *arpAnnouncer) announce(src, mac net.HardwareAddr, vips []netip.Prefix) error {
	for _, p := range vips {
		if err := a.send(src, mac, p.Addr(), p.Addr()); err != nil {
			return fmt.Errorf("gratuitous ARP for %s on %s: %w", p.Addr(), a.ifi.Name, err)
		}
	}
	return nil
}

// watch sets the filter to the claims on vips (none: nothing kept).
func (a *arpAnnouncer) watch(vips []netip.Prefix) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := dropAllFilter
	if len(vips) > 0 {
		f = claimFilter4(vips)
	}
	if err := a.c.SetBPF(f); err != nil {
		return fmt.Errorf("ARP socket filter on %s: %w", a.ifi.Name, err)
	}
	a.vips = slices.Clone(vips)
	return nil
}

// probe asks who holds each address: an ARP request broadcast from src,
// our own address (a gratuitous ARP would move the clients). What was
// kept before is dropped.
func (a *arpAnnouncer) probe(src netip.Addr, mac net.HardwareAddr, vips []netip.Prefix) error {
	a.mu.Lock()
	_, err := a.drain(nil)
	a.seen = claims{}
	a.mu.Unlock()
	if err != nil {
		return err
	}
	for _, p := range vips {
		if err := a.send(mac, mac, src, p.Addr()); err != nil {
			return fmt.Errorf("ARP request for %s on %s: %w", p.Addr(), a.ifi.Name, err)
		}
	}
	return nil
}

// claimed reads what arrived since the last call and reports whether a
// MAC not in ours announced or answered for a watched address.
func (a *arpAnnouncer) claimed(ours []net.HardwareAddr) (claims, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := a.drain(ours)
	c.other, c.forUs = c.other || a.seen.other, c.forUs || a.seen.forUs
	a.seen = claims{}
	return c, err
}

// drain reads the socket until it is empty (non-blocking reads, so that a
// late goroutine of ours never hides a claim that has arrived) and reports
// the claims in it: at a MAC not in ours, or at ours from another node
// (nil: none counts).
func (a *arpAnnouncer) drain(ours []net.HardwareAddr) (c claims, err error) {
	rc, err := a.c.SyscallConn()
	if err != nil {
		return claims{}, err
	}
	cerr := rc.Control(func(fd uintptr) {
		for {
			n, _, rerr := unix.Recvfrom(int(fd), a.buf, unix.MSG_DONTWAIT)
			if rerr == unix.EINTR {
				continue
			}
			if rerr != nil {
				if rerr != unix.EAGAIN {
					err = fmt.Errorf("reading the ARP socket of %s: %w", a.ifi.Name, rerr)
				}
				return
			}
			var f ethernet.Frame
			var p arp.Packet
			if ours == nil || f.UnmarshalBinary(a.buf[:n]) != nil || f.EtherType != ethernet.EtherTypeARP ||
				p.UnmarshalBinary(f.Payload) != nil {
				continue
			}
			ip := p.SenderIP.Unmap()
			if !slices.ContainsFunc(a.vips, func(v netip.Prefix) bool { return v.Addr() == ip }) {
				continue
			}
			c.add(ours, p.SenderHardwareAddr, f.Source)
		}
	})
	return c, errors.Join(cerr, err)
}

// send broadcasts an ARP request: sender (senderMAC, senderIP), target
// (ff:ff:ff:ff:ff:ff, target) as keepalived fills it, from src.
func (a *arpAnnouncer) send(src, senderMAC net.HardwareAddr, senderIP, target netip.Addr) error {
	pkt, err := arp.NewPacket(arp.OperationRequest, senderMAC, senderIP, ethernet.Broadcast, target)
	if err != nil {
		return err
	}
	pb, err := pkt.MarshalBinary()
	if err != nil {
		return err
	}
	f := ethernet.Frame{Destination: ethernet.Broadcast, Source: src, EtherType: ethernet.EtherTypeARP, Payload: pb}
	fb, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = a.c.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast})
	return err
}

func (a *arpAnnouncer) close() error { return a.c.Close() }
