//go:build linux

package vrrp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
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

// linuxIO is one virtual router's sockets and links: the VRRP sockets
// (vrrpsock_linux.go), the announcer (arp_linux.go or nd_linux.go) and,
// with use_vmac, the macvlan the VIPs live on (vmac_linux.go).
type linuxIO struct {
	h    *linuxHost
	log  zerolog.Logger
	v6   bool
	link netlink.Link   // the instance's interface
	ifi  *net.Interface // the same
	// vipLink is where the VIPs go: the macvlan with use_vmac, else link;
	// mac is the MAC they live at. ours are every MAC of this node that
	// may announce them.
	vipLink netlink.Link
	mac     net.HardwareAddr
	ours    []net.HardwareAddr
	vmac    *vmac // nil without use_vmac

	sock   *vrrpSocket
	ann    announcer // nil when the interface has no Ethernet address
	puller *puller   // while pulling the clients of the previous master
	once   sync.Once
}

// announcer is the family-specific half of instanceIO: ARP or IPv6
// neighbour discovery on a packet socket of the interface.
type announcer interface {
	// announce sends one announcement per address: sender (link-layer
	// address) mac, from our own MAC src.
	announce(src, mac net.HardwareAddr, vips []netip.Prefix) error
	watch(vips []netip.Prefix) error
	probe(src netip.Addr, mac net.HardwareAddr, vips []netip.Prefix) error
	claimed(ours []net.HardwareAddr) (claims, error)
	close() error
}

// open creates the sockets of a virtual router, as RFC 3768 / RFC 5798
// section 5.1 and keepalived want them (vrrpsock_linux.go), its announcer,
// and with use_vmac its macvlan.
func (h *linuxHost) open(cfg *config.VRRPInstance, rx func(rxPacket)) (instanceIO, error) {
	l, err := h.nl.LinkByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("vrrp: interface %s: %w", cfg.Interface, err)
	}
	a := l.Attrs()
	io := &linuxIO{
		h:       h,
		log:     h.log.With().Str("instance", cfg.Name).Str("interface", a.Name).Logger(),
		v6:      cfg.IPv6(),
		link:    l,
		ifi:     &net.Interface{Index: a.Index, Name: a.Name, MTU: a.MTU, HardwareAddr: a.HardwareAddr},
		vipLink: l,
		mac:     a.HardwareAddr,
		ours:    []net.HardwareAddr{a.HardwareAddr},
	}
	fail := func(err error) (instanceIO, error) {
		io.close()
		return nil, err
	}
	txIfi := io.ifi
	if cfg.VMACInterface != "" {
		vm, err := h.openVMAC(cfg, l)
		if err != nil {
			return fail(err)
		}
		io.vmac, io.vipLink, io.mac = vm, vm.link, vm.mac
		io.ours = append(io.ours, vm.mac)
		if !cfg.VMACXmitBase {
			txIfi = vm.ifi
		}
	}
	err = h.inNS(func() error {
		var err error
		if io.sock, err = openVRRPSocket(cfg, io.ifi, txIfi); err != nil {
			return err
		}
		if len(a.HardwareAddr) != 6 {
			return nil
		}
		if io.v6 {
			io.ann, err = openND(io.ifi)
		} else {
			io.ann, err = openARP(io.ifi)
		}
		return err
	})
	if err != nil {
		return fail(err)
	}
	io.sock.start(io.log, rx)
	return io, nil
}

func (io *linuxIO) ifindex() int { return io.ifi.Index }

func (io *linuxIO) vipIfindex() int { return io.vipLink.Attrs().Index }

func (io *linuxIO) sendAdvert(src, dst netip.Addr, msg []byte) error {
	return io.sock.send(src, dst, msg)
}

func nlAddr(p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if p.Addr().Is6() {
		// Usable at once: no duplicate address detection (the adverts
		// decide who holds a VIP), as keepalived adds them.
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

func (io *linuxIO) addVIPs(vips []netip.Prefix) error {
	if io.vmac != nil {
		if err := io.h.vmacUp(io.vmac, io.v6, io.link); err != nil {
			return err
		}
	}
	var errs []error
	for _, p := range vips {
		if err := io.h.nl.AddrAdd(io.vipLink, nlAddr(p)); err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("adding %s to %s (needs CAP_NET_ADMIN): %w", p, io.vipLink.Attrs().Name, err))
		}
	}
	return errors.Join(errs...)
}

func (io *linuxIO) delVIPs(vips []netip.Prefix) error {
	var errs []error
	if io.vmac != nil {
		errs = append(errs, io.h.vmacDown(io.vmac))
	}
	for _, p := range vips {
		if err := io.h.nl.AddrDel(io.vipLink, nlAddr(p)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("removing %s from %s: %w", p, io.vipLink.Attrs().Name, err))
		}
	}
	return errors.Join(errs...)
}

func (io *linuxIO) family() int {
	if io.v6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

// addrs lists the instance's interface's addresses, then the macvlan's.
func (io *linuxIO) addrs() ([]ifAddr, error) {
	var out []ifAddr
	links := []netlink.Link{io.link}
	if io.vipLink != io.link {
		links = append(links, io.vipLink)
	}
	for _, l := range links {
		list, err := io.h.nl.AddrList(l, io.family())
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok || a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
				continue
			}
			ip = ip.Unmap()
			ones, _ := a.Mask.Size()
			out = append(out, ifAddr{prefix: netip.PrefixFrom(ip, ones), secondary: a.Flags&unix.IFA_F_SECONDARY != 0})
		}
	}
	if io.v6 {
		slices.SortStableFunc(out, func(a, b ifAddr) int {
			la, lb := a.prefix.Addr().IsLinkLocalUnicast(), b.prefix.Addr().IsLinkLocalUnicast()
			switch {
			case la && !lb:
				return -1
			case lb && !la:
				return 1
			}
			return 0
		})
	}
	return out, nil
}

// announce sends the announcements from the MAC the VIPs live at (the
// virtual MAC with use_vmac: the switches learn where it is from them).
func (io *linuxIO) announce(vips []netip.Prefix) error {
	if io.ann == nil {
		return nil
	}
	return io.ann.announce(io.mac, io.mac, vips)
}

// announceAs sends the announcements with mac as the link-layer address
// of the VIPs, from the interface's own MAC: a frame from another node's
// MAC (or from our virtual MAC, which the successor now uses) would make
// the switches learn that MAC on our port.
func (io *linuxIO) announceAs(mac net.HardwareAddr, vips []netip.Prefix) error {
	if io.ann == nil {
		return nil
	}
	return io.ann.announce(io.ifi.HardwareAddr, mac, vips)
}

func (io *linuxIO) watchClaims(vips []netip.Prefix) error {
	if io.ann == nil {
		return nil
	}
	return io.ann.watch(vips)
}

func (io *linuxIO) probe(src netip.Addr, vips []netip.Prefix) error {
	if io.ann == nil {
		return nil
	}
	return io.ann.probe(src, io.mac, vips)
}

func (io *linuxIO) claimed() (claims, error) {
	if io.ann == nil {
		return claims{}, nil
	}
	return io.ann.claimed(io.ours)
}

// close closes the sockets and deletes the macvlan.
func (io *linuxIO) close() error {
	var err error
	io.once.Do(func() {
		err = io.stopPull()
		if io.sock != nil {
			err = errors.Join(err, io.sock.close())
		}
		if io.ann != nil {
			err = errors.Join(err, io.ann.close())
		}
		if io.vmac != nil {
			err = errors.Join(err, io.h.closeVMAC(io.vmac))
		}
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
			ip, ok := netip.AddrFromSlice(u.LinkAddress.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			ones, _ := u.LinkAddress.Mask.Size()
			onAddr(addrEvent{ifindex: u.LinkIndex, addr: netip.PrefixFrom(ip, ones), added: u.NewAddr})
		}
	}
}

// add records one announcement of a watched address at mac, sent from
// the Ethernet source src.
func (c *claims) add(ours []net.HardwareAddr, mac, src net.HardwareAddr) {
	isOurs := func(m net.HardwareAddr) bool {
		return slices.ContainsFunc(ours, func(o net.HardwareAddr) bool { return bytes.Equal(o, m) })
	}
	switch {
	case !isOurs(mac):
		c.other = true
	case !isOurs(src):
		c.forUs = true
	}
}

// neighbor reads addr's entry in the kernel's neighbour table. Without
// one (or with one still resolving), resolve asks the kernel to resolve
// it now: RTM_NEWNEIGH with NTF_USE, what `ip neigh replace ADDR dev DEV
// use` sends, which resolves it as outgoing traffic would (ARP, or a
// neighbour solicitation).
func (io *linuxIO) neighbor(addr netip.Addr, resolve bool) (net.HardwareAddr, error) {
	list, err := io.h.nl.NeighList(io.ifi.Index, io.family())
	if err != nil {
		return nil, fmt.Errorf("neighbour table of %s: %w", io.ifi.Name, err)
	}
	const usable = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY | netlink.NUD_PROBE | netlink.NUD_PERMANENT
	for _, n := range list {
		if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == addr && n.State&usable != 0 && len(n.HardwareAddr) == 6 {
			return n.HardwareAddr, nil
		}
	}
	if !resolve {
		return nil, nil
	}
	err = io.h.nl.NeighSet(&netlink.Neigh{
		LinkIndex: io.ifi.Index,
		Family:    io.family(),
		IP:        net.IP(addr.AsSlice()),
		Flags:     netlink.NTF_USE,
	})
	if err != nil {
		return nil, fmt.Errorf("resolving %s on %s: %w", addr, io.ifi.Name, err)
	}
	return nil, nil
}
