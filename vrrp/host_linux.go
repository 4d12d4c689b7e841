//go:build linux

package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"lbd/config"
)

// linuxHost works in one network namespace: the process's own in the
// daemon, one created by a test otherwise. Sockets belong to the namespace
// of the thread that creates them, so they are created on a thread that
// switched into it (inNS); netlink goes through a handle opened there.
type linuxHost struct {
	ns  netns.NsHandle // closed (-1) means the caller's namespace
	nl  *netlink.Handle
	log zerolog.Logger
}

func newHost(log zerolog.Logger) (host, error) { return newLinuxHost(netns.None(), log) }

func newLinuxHost(ns netns.NsHandle, log zerolog.Logger) (*linuxHost, error) {
	var (
		h   *netlink.Handle
		err error
	)
	if ns.IsOpen() {
		h, err = netlink.NewHandleAt(ns)
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		return nil, fmt.Errorf("vrrp: netlink: %w", err)
	}
	return &linuxHost{ns: ns, nl: h, log: log}, nil
}

// inNS runs fn on a thread inside the host's namespace.
func (h *linuxHost) inNS(fn func() error) error {
	if !h.ns.IsOpen() {
		return fn()
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := netns.Set(h.ns); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked and dies with this goroutine rather
		// than run other goroutines in the wrong namespace.
		return errors.Join(ferr, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

func (h *linuxHost) close() error {
	h.nl.Close()
	return nil
}

func toLinkInfo(l netlink.Link) linkInfo {
	a := l.Attrs()
	return linkInfo{
		name:  a.Name,
		index: a.Index,
		up:    a.RawFlags&unix.IFF_UP != 0 && a.RawFlags&unix.IFF_RUNNING != 0,
	}
}

func (h *linuxHost) link(name string) (linkInfo, bool, error) {
	l, err := h.nl.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return linkInfo{}, false, nil
		}
		return linkInfo{}, false, fmt.Errorf("vrrp: interface %s: %w", name, err)
	}
	return toLinkInfo(l), true, nil
}

// linuxIO is one virtual router's sockets: a raw IPv4 socket for protocol
// 112 and, on Ethernet, a packet socket for gratuitous ARP.
type linuxIO struct {
	h       *linuxHost
	log     zerolog.Logger
	link    netlink.Link
	ifi     *net.Interface
	rc      *ipv4.RawConn
	arp     *packet.Conn // nil when the interface has no Ethernet address
	peers   []netip.Addr
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
	arpBuf  []byte
}

// open creates the sockets of a virtual router, as RFC 3768 section 5.2
// and keepalived want them: raw IPv4 protocol 112 with our own header
// (TTL 255, TOS 0xc0), bound to the interface, member of 224.0.0.18 on that
// interface only, multicast loopback off so we never hear ourselves, and a
// socket filter that only lets our VRID through.
func (h *linuxHost) open(cfg *config.VRRPInstance, rx func(rxPacket)) (instanceIO, error) {
	l, err := h.nl.LinkByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("vrrp: interface %s: %w", cfg.Interface, err)
	}
	a := l.Attrs()
	io := &linuxIO{
		h:       h,
		log:     h.log.With().Str("instance", cfg.Name).Str("interface", a.Name).Logger(),
		link:    l,
		ifi:     &net.Interface{Index: a.Index, Name: a.Name, MTU: a.MTU, HardwareAddr: a.HardwareAddr},
		peers:   cfg.UnicastPeers,
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	multicast := len(cfg.UnicastPeers) == 0
	err = h.inNS(func() error {
		rc, err := openVRRPSocket(io.ifi, multicast, uint8(cfg.VirtualRouterID))
		if err != nil {
			return err
		}
		io.rc = rc
		if len(a.HardwareAddr) == 6 {
			// Bound to ARP's EtherType, with a filter that keeps every
			// frame out of the receive queue, except ARP replies while
			// probing (probe, probeAnswered).
			pc, err := packet.Listen(io.ifi, packet.Raw, int(ethernet.EtherTypeARP), &packet.Config{Filter: dropAllFilter})
			if err != nil {
				rc.Close()
				return fmt.Errorf("vrrp: ARP socket on %s: %w", a.Name, err)
			}
			io.arp = pc
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	go io.readLoop(rx)
	return io, nil
}

var (
	// dropAllFilter keeps every frame out of the ARP socket's queue.
	dropAllFilter = mustAssemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	// arpReplyFilter keeps ARP replies (operation 2, at offset 20 of the
	// Ethernet frame).
	arpReplyFilter = mustAssemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 20, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(arp.OperationReply), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
)

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(fmt.Sprintf("vrrp: assembling a socket filter: %v", err))
	}
	return raw
}

func openVRRPSocket(ifi *net.Interface, multicast bool, vrid uint8) (*ipv4.RawConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
			if serr == nil {
				// Only the groups this socket joined, not every group
				// joined on the host.
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
			}
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(context.Background(), fmt.Sprintf("ip4:%d", IPProtocol), "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("vrrp: raw socket on %s (needs CAP_NET_RAW): %w", ifi.Name, err)
	}
	rc, err := ipv4.NewRawConn(pc)
	if err != nil {
		pc.Close()
		return nil, err
	}
	fail := func(what string, err error) (*ipv4.RawConn, error) {
		rc.Close()
		return nil, fmt.Errorf("vrrp: %s on %s: %w", what, ifi.Name, err)
	}
	if err := rc.SetMulticastLoopback(false); err != nil {
		return fail("multicast loopback", err)
	}
	if err := rc.SetMulticastInterface(ifi); err != nil {
		return fail("multicast interface", err)
	}
	if multicast {
		if err := rc.JoinGroup(ifi, &net.IPAddr{IP: net.IP(MulticastGroup.AsSlice())}); err != nil {
			return fail("joining 224.0.0.18", err)
		}
	}
	// The filter sees the IP header: X = header length, then the VRID
	// is the second byte of the VRRP message.
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadMemShift{Off: 0},
		bpf.LoadIndirect{Off: 1, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(vrid), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		return fail("assembling the VRID filter", err)
	}
	if err := rc.SetBPF(prog); err != nil {
		return fail("VRID filter", err)
	}
	return rc, nil
}

func (io *linuxIO) ifindex() int { return io.ifi.Index }

func (io *linuxIO) setPeers(peers []netip.Addr) { io.peers = peers }

func (io *linuxIO) readLoop(rx func(rxPacket)) {
	defer close(io.done)
	buf := make([]byte, 4096)
	var lastErr time.Time
	for {
		hdr, payload, _, err := io.rc.ReadFrom(buf)
		if err != nil {
			select {
			case <-io.closing:
				return
			default:
			}
			if time.Since(lastErr) > 10*time.Second {
				io.log.Warn().Err(err).Msg("reading VRRP socket")
				lastErr = time.Now()
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		// Ethernet padding beyond the IP total length is not ours.
		if n := hdr.TotalLen - hdr.Len; n >= 0 && n < len(payload) {
			payload = payload[:n]
		}
		src, _ := netip.AddrFromSlice(hdr.Src.To4())
		dst, _ := netip.AddrFromSlice(hdr.Dst.To4())
		rx(rxPacket{Src: src, Dst: dst, TTL: hdr.TTL, Payload: payload})
	}
}

// sendAdvert writes our own IP header: TTL 255 (RFC 3768 section 5.2.3),
// TOS 0xc0 and protocol 112 as keepalived; the kernel fills the ID and the
// header checksum.
func (io *linuxIO) sendAdvert(src netip.Addr, msg []byte) error {
	h := &ipv4.Header{
		Version:  4,
		Len:      ipv4.HeaderLen,
		TOS:      TOS,
		TotalLen: ipv4.HeaderLen + len(msg),
		TTL:      TTL,
		Protocol: IPProtocol,
		Src:      net.IP(src.AsSlice()),
	}
	if len(io.peers) == 0 {
		h.Dst = net.IP(MulticastGroup.AsSlice())
		return io.rc.WriteTo(h, msg, nil)
	}
	var errs []error
	for _, p := range io.peers {
		h.Dst = net.IP(p.AsSlice())
		if err := io.rc.WriteTo(h, msg, nil); err != nil {
			errs = append(errs, fmt.Errorf("to %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func nlAddr(p netip.Prefix) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}}
}

func (io *linuxIO) addVIPs(vips []netip.Prefix) error {
	var errs []error
	for _, p := range vips {
		if err := io.h.nl.AddrAdd(io.link, nlAddr(p)); err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("adding %s to %s (needs CAP_NET_ADMIN): %w", p, io.ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (io *linuxIO) delVIPs(vips []netip.Prefix) error {
	var errs []error
	for _, p := range vips {
		if err := io.h.nl.AddrDel(io.link, nlAddr(p)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("removing %s from %s: %w", p, io.ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (io *linuxIO) addrs() ([]ifAddr, error) {
	list, err := io.h.nl.AddrList(io.link, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	out := make([]ifAddr, 0, len(list))
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, ifAddr{prefix: netip.PrefixFrom(ip, ones), secondary: a.Flags&unix.IFA_F_SECONDARY != 0})
	}
	return out, nil
}

func (io *linuxIO) close() error {
	var err error
	io.once.Do(func() {
		close(io.closing)
		err = io.rc.Close()
		if io.arp != nil {
			err = errors.Join(err, io.arp.Close())
		}
		<-io.done
	})
	return err
}

// watch follows link and address changes through netlink, re-subscribing
// (and reporting every link again) if the kernel drops the subscription.
func (h *linuxHost) watch(onLink func(linkInfo), onAddr func(addrEvent)) (func(), error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var nsOpt *netns.NsHandle
	if h.ns.IsOpen() {
		nsOpt = &h.ns
	}
	var stopping atomic.Bool
	subscribe := func() (chan netlink.LinkUpdate, chan netlink.AddrUpdate, chan struct{}, error) {
		done := make(chan struct{})
		lch := make(chan netlink.LinkUpdate, 64)
		ach := make(chan netlink.AddrUpdate, 64)
		errf := func(err error) {
			if !stopping.Load() {
				h.log.Warn().Err(err).Msg("netlink subscription")
			}
		}
		if err := netlink.LinkSubscribeWithOptions(lch, done, netlink.LinkSubscribeOptions{Namespace: nsOpt, ErrorCallback: errf}); err != nil {
			close(done)
			return nil, nil, nil, fmt.Errorf("vrrp: link events: %w", err)
		}
		if err := netlink.AddrSubscribeWithOptions(ach, done, netlink.AddrSubscribeOptions{Namespace: nsOpt, ErrorCallback: errf}); err != nil {
			close(done)
			return nil, nil, nil, fmt.Errorf("vrrp: address events: %w", err)
		}
		return lch, ach, done, nil
	}
	lch, ach, done, err := subscribe()
	if err != nil {
		return nil, err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			ok := h.pump(stop, lch, ach, onLink, onAddr)
			close(done)
			for range lch {
			}
			for range ach {
			}
			if !ok {
				return
			}
			// The subscription broke: subscribe again, then report every
			// link so that nothing missed stays stale.
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
				if lch, ach, done, err = subscribe(); err == nil {
					break
				}
			}
			if links, err := h.nl.LinkList(); err == nil {
				for _, l := range links {
					onLink(toLinkInfo(l))
				}
			}
			onAddr(addrEvent{ifindex: -1})
		}
	}()
	return func() {
		stopping.Store(true)
		close(stop)
		wg.Wait()
	}, nil
}

// pump dispatches events until stop (false) or a closed channel (true).
func (h *linuxHost) pump(stop chan struct{}, lch chan netlink.LinkUpdate, ach chan netlink.AddrUpdate, onLink func(linkInfo), onAddr func(addrEvent)) bool {
	for {
		select {
		case <-stop:
			return false
		case u, ok := <-lch:
			if !ok {
				return true
			}
			li := toLinkInfo(u.Link)
			if u.Header.Type == unix.RTM_DELLINK {
				li.deleted, li.up = true, false
			}
			onLink(li)
		case u, ok := <-ach:
			if !ok {
				return true
			}
			ip, ok4 := netip.AddrFromSlice(u.LinkAddress.IP.To4())
			if !ok4 {
				continue
			}
			ones, _ := u.LinkAddress.Mask.Size()
			onAddr(addrEvent{ifindex: u.LinkIndex, addr: netip.PrefixFrom(ip, ones), added: u.NewAddr})
		}
	}
}
