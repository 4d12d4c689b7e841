//go:build linux

package vrrp

// Gratuitous ARP (sent on becoming master, RFC 3768 section 6.4.2, as
// keepalived sends it), the ARP probe that tells whether another node
// still answers for a VIP during a handover, and neighbour lookups.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// garp sends, per address, the gratuitous ARP keepalived sends: an ARP
// request broadcast on Ethernet, sender and target IP the VIP, sender MAC
// ours, target MAC ff:ff:ff:ff:ff:ff.
func (io *linuxIO) garp(vips []netip.Prefix) error { return io.garpAs(io.ifi.HardwareAddr, vips) }

// garpAs is garp with mac as the ARP sender address. The Ethernet source
// stays ours: a frame from another node's MAC would make the switches
// learn that MAC on our port.
func (io *linuxIO) garpAs(mac net.HardwareAddr, vips []netip.Prefix) error {
	if io.arp == nil {
		return nil
	}
	for _, p := range vips {
		if err := io.sendARP(mac, p.Addr(), p.Addr()); err != nil {
			return fmt.Errorf("gratuitous ARP for %s on %s: %w", p.Addr(), io.ifi.Name, err)
		}
	}
	return nil
}

// probe asks who holds each address: an ARP request broadcast from src,
// our own address (a gratuitous ARP would move the clients). The replies
// queue on the ARP socket until probeAnswered reads them; the socket
// lets them in from now (what was queued before is dropped).
func (io *linuxIO) probe(src netip.Addr, vips []netip.Prefix) error {
	if io.arp == nil {
		return nil
	}
	if err := io.arp.SetBPF(arpReplyFilter); err != nil {
		return fmt.Errorf("ARP socket filter on %s: %w", io.ifi.Name, err)
	}
	if _, err := io.drainARP(nil); err != nil {
		return err
	}
	for _, p := range vips {
		if err := io.sendARP(io.ifi.HardwareAddr, src, p.Addr()); err != nil {
			return fmt.Errorf("ARP request for %s on %s: %w", p.Addr(), io.ifi.Name, err)
		}
	}
	return nil
}

// probeAnswered reads the replies queued since probe, without waiting,
// and closes the socket to ARP replies again.
func (io *linuxIO) probeAnswered(vips []netip.Prefix) (bool, error) {
	if io.arp == nil {
		return false, nil
	}
	held, err := io.drainARP(vips)
	if ferr := io.arp.SetBPF(dropAllFilter); err == nil && ferr != nil {
		err = fmt.Errorf("ARP socket filter on %s: %w", io.ifi.Name, ferr)
	}
	return held, err
}

// drainARP reads the ARP socket until it is empty (non-blocking reads, so
// that a late goroutine of ours never hides an answer that has arrived)
// and reports whether another node's reply announces one of vips.
func (io *linuxIO) drainARP(vips []netip.Prefix) (held bool, err error) {
	rc, err := io.arp.SyscallConn()
	if err != nil {
		return false, err
	}
	if io.arpBuf == nil {
		io.arpBuf = make([]byte, 1500)
	}
	cerr := rc.Control(func(fd uintptr) {
		for {
			n, _, rerr := unix.Recvfrom(int(fd), io.arpBuf, unix.MSG_DONTWAIT)
			if rerr == unix.EINTR {
				continue
			}
			if rerr != nil {
				if rerr != unix.EAGAIN {
					err = fmt.Errorf("reading the ARP socket of %s: %w", io.ifi.Name, rerr)
				}
				return
			}
			var f ethernet.Frame
			var p arp.Packet
			if f.UnmarshalBinary(io.arpBuf[:n]) != nil || f.EtherType != ethernet.EtherTypeARP ||
				p.UnmarshalBinary(f.Payload) != nil || p.Operation != arp.OperationReply ||
				bytes.Equal(p.SenderHardwareAddr, io.ifi.HardwareAddr) {
				continue
			}
			ip := p.SenderIP.Unmap()
			if slices.ContainsFunc(vips, func(v netip.Prefix) bool { return v.Addr() == ip }) {
				held = true
			}
		}
	})
	return held, errors.Join(cerr, err)
}

// sendARP broadcasts an ARP request: sender (senderMAC, senderIP), target
// (ff:ff:ff:ff:ff:ff, target) as keepalived fills it.
func (io *linuxIO) sendARP(senderMAC net.HardwareAddr, senderIP, target netip.Addr) error {
	pkt, err := arp.NewPacket(arp.OperationRequest, senderMAC, senderIP, ethernet.Broadcast, target)
	if err != nil {
		return err
	}
	pb, err := pkt.MarshalBinary()
	if err != nil {
		return err
	}
	f := ethernet.Frame{Destination: ethernet.Broadcast, Source: io.ifi.HardwareAddr, EtherType: ethernet.EtherTypeARP, Payload: pb}
	fb, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = io.arp.WriteTo(fb, &packet.Addr{HardwareAddr: ethernet.Broadcast})
	return err
}

// neighbor reads addr's entry in the kernel's neighbour table. Without
// one (or with one still resolving), resolve asks the kernel to resolve
// it now: RTM_NEWNEIGH with NTF_USE, what `ip neigh replace ADDR dev DEV
// use` sends, which ARPs for it as outgoing traffic would.
func (io *linuxIO) neighbor(addr netip.Addr, resolve bool) (net.HardwareAddr, error) {
	list, err := io.h.nl.NeighList(io.ifi.Index, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("neighbour table of %s: %w", io.ifi.Name, err)
	}
	const usable = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY | netlink.NUD_PROBE | netlink.NUD_PERMANENT
	for _, n := range list {
		if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && ip == addr && n.State&usable != 0 && len(n.HardwareAddr) == 6 {
			return n.HardwareAddr, nil
		}
	}
	if !resolve {
		return nil, nil
	}
	err = io.h.nl.NeighSet(&netlink.Neigh{
		LinkIndex: io.ifi.Index,
		Family:    netlink.FAMILY_V4,
		IP:        net.IP(addr.AsSlice()),
		Flags:     netlink.NTF_USE,
	})
	if err != nil {
		return nil, fmt.Errorf("resolving %s on %s: %w", addr, io.ifi.Name, err)
	}
	return nil, nil
}
