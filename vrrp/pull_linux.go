//go:build linux

package vrrp

// Pulling the clients of a master that drops its VIPs at once (keepalived,
// FRR) before taking them: see vipsPulling (pull.go). While the clients
// already send to our MAC and the VIPs are not ours yet, the frames that
// reach us for the VIPs are passed on, unchanged but for the Ethernet
// addresses, to the previous master, which still serves them. The
// connections seen in them tell when nothing is in flight: the VIPs are
// taken then, by the goroutine that passes the frames on, right after the
// last connection ends (a client that just finished a request is the
// least likely to start another at once).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// pktHost is the link-layer packet type of a frame addressed to us.
const pktHost = 0

const (
	// flowIdle is how long a connection seen without its end stays in
	// flight: a client that stopped talking long ago (an idle keep-alive
	// connection) does not hold the switch back forever.
	flowIdle = 5 * time.Second
	// pullMin is the least a pull lasts: what the previous master had in
	// flight when the clients came to us (a request a client sent it just
	// before our announcements reached the client, its response still on
	// its way, with nothing from the client to show for it) has that long
	// to end. It was 20 ms: on a loaded machine (CI, labs in parallel) a
	// stand-in server's answer took longer in 2 preemptions of 10, the
	// VIPs were taken, keepalived dropped them, and the answer was lost
	// (the client timed out waiting for it). The clients are served
	// through us meanwhile, so a longer pull costs no service, only a
	// later move (bounded by switchBound all the same).
	pullMin = 60 * time.Millisecond
	// pullQuiet is how long the line must be silent, with no connection
	// open, to take the VIPs when no connection ends to show the moment.
	pullQuiet = 2 * time.Millisecond
)

// flow is a TCP connection seen through a pull: open from its first
// segment (its SYN, or a later one when it began before the clients came
// to us) to the client's FIN or RST; kept closed a while, so that the
// client's last ACK does not open it again.
type flow struct {
	open bool
	at   time.Time
}

// puller passes frames for the VIPs on to the previous master, and takes
// the VIPs at the first quiet moment.
type puller struct {
	c     *packet.Conn
	to    net.HardwareAddr
	from  net.HardwareAddr
	take  func() error // adds the VIPs
	since time.Time
	force chan struct{} // take now
	taken chan struct{} // closed once take ran
	done  chan struct{}
	err   error // take's, valid once taken is closed

	stopped atomic.Bool
	mu      sync.Mutex
	flows   map[string]flow // TCP connections seen, by client address and ports
	last    time.Time       // last frame passed on
}

// pullFilter keeps the frames addressed to us (packet type HOST) whose IP
// destination is one of vips.
func pullFilter(vips []netip.Prefix, v6 bool) []bpf.RawInstruction {
	prog := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: pktHost, SkipTrue: 100},
	}
	for _, p := range vips {
		if !v6 {
			prog = append(prog,
				bpf.LoadAbsolute{Off: ethernetHeaderLen + 16, Size: 4},
				bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: binary.BigEndian.Uint32(p.Addr().AsSlice()), SkipTrue: 1},
				bpf.RetConstant{Val: 0xffff})
			continue
		}
		b := p.Addr().As16()
		for w := range 4 {
			prog = append(prog,
				bpf.LoadAbsolute{Off: uint32(ethernetHeaderLen + 24 + 4*w), Size: 4},
				bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: binary.BigEndian.Uint32(b[4*w:]), SkipTrue: uint8(7 - 2*w)})
		}
		prog = append(prog, bpf.RetConstant{Val: 0xffff})
	}
	return withDrop(prog)
}

// pull starts passing on to `to` the frames that reach us for vips, and
// takes them at the first quiet moment. The kernel must not forward them
// itself (ip_forward): it would pass them on too, and tell the clients to
// go elsewhere.
func (io *linuxIO) pull(vips []netip.Prefix, to net.HardwareAddr) error {
	if io.puller != nil {
		return errors.New("already pulling")
	}
	proto := unix.ETH_P_IP
	if io.v6 {
		proto = unix.ETH_P_IPV6
	}
	var pl *puller
	err := io.h.inNS(func() error {
		key := "/proc/sys/net/ipv4/conf/" + io.ifi.Name + "/forwarding"
		if io.v6 {
			key = "/proc/sys/net/ipv6/conf/" + io.ifi.Name + "/forwarding"
		}
		if fwd, _ := os.ReadFile(key); strings.TrimSpace(string(fwd)) == "1" {
			return fmt.Errorf("%s forwards packets: the kernel would pass them on itself", io.ifi.Name)
		}
		c, err := packet.Listen(io.ifi, packet.Raw, proto, &packet.Config{Filter: pullFilter(vips, io.v6)})
		if err != nil {
			return fmt.Errorf("packet socket on %s: %w", io.ifi.Name, err)
		}
		pl = &puller{c: c, to: to, from: io.ifi.HardwareAddr, since: time.Now(),
			take:  func() error { return io.addVIPs(vips) },
			force: make(chan struct{}, 1), taken: make(chan struct{}), done: make(chan struct{}),
			flows: map[string]flow{}}
		return nil
	})
	if err != nil {
		return err
	}
	io.puller = pl
	go pl.run(io.v6)
	return nil
}

func (pl *puller) run(v6 bool) {
	defer close(pl.done)
	buf := make([]byte, 65536)
	for !pl.stopped.Load() {
		_ = pl.c.SetReadDeadline(time.Now().Add(time.Millisecond))
		n, _, err := pl.c.ReadFrom(buf)
		if err == nil {
			if ended := pl.pass(buf[:n], v6); ended && pl.quiet(0) {
				pl.takeNow()
				return
			}
		}
		select {
		case <-pl.force:
			pl.takeNow()
			return
		default:
		}
		if pl.quiet(pullQuiet) {
			pl.takeNow()
			return
		}
	}
}

// takeNow stops passing frames on and takes the VIPs. A frame that comes
// while they are being added finds neither us nor the previous master
// (passed on, it would open a connection the switch breaks).
func (pl *puller) takeNow() {
	pl.stopped.Store(true)
	pl.err = pl.take()
	close(pl.taken)
}

// quiet reports whether the VIPs may be taken: pullMin has passed, no
// connection is open, and nothing came for idle.
func (pl *puller) quiet(idle time.Duration) bool {
	now := time.Now()
	if now.Sub(pl.since) < pullMin {
		return false
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for k, f := range pl.flows {
		switch {
		case now.Sub(f.at) > flowIdle:
			delete(pl.flows, k)
		case f.open:
			return false
		}
	}
	return now.Sub(pl.last) >= idle
}

// pass sends one frame on to the previous master and reports whether it
// ended a connection.
func (pl *puller) pass(f []byte, v6 bool) bool {
	if len(f) < ethernetHeaderLen {
		return false
	}
	copy(f[0:6], pl.to)
	copy(f[6:12], pl.from)
	fixChecksum(f[ethernetHeaderLen:], v6)
	if _, err := pl.c.WriteTo(f, &packet.Addr{HardwareAddr: pl.to}); err != nil {
		return false
	}
	return pl.track(f[ethernetHeaderLen:], v6)
}

// track notes the TCP connections the frame opens or closes, as the
// client sends them, and reports whether it closed one.
func (pl *puller) track(ip []byte, v6 bool) bool {
	now := time.Now()
	var src, tcp []byte
	switch {
	case !v6 && len(ip) >= ipv4.HeaderLen && ip[9] == 6:
		if hl := int(ip[0]&0x0f) * 4; len(ip) >= hl+14 {
			src, tcp = ip[12:16], ip[hl:]
		}
	case v6 && len(ip) >= ipv6.HeaderLen+14 && ip[6] == 6:
		src, tcp = ip[8:24], ip[ipv6.HeaderLen:]
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.last = now
	if tcp == nil {
		return false
	}
	key := string(src) + string(tcp[0:4])
	f, known := pl.flows[key]
	switch {
	case tcp[13]&0x05 != 0: // FIN or RST
		pl.flows[key] = flow{open: false, at: now}
		return known && f.open
	case tcp[13]&0x02 != 0: // SYN: a new connection on these ports
		pl.flows[key] = flow{open: true, at: now}
	case !known || f.open:
		pl.flows[key] = flow{open: true, at: now}
	}
	return false
}

// fixChecksum writes the TCP or UDP checksum of an IP packet anew: a
// frame read off the interface may carry one the sender left for its
// hardware to compute (a virtual interface hands such frames on as they
// are), which the previous master would take for corrupt.
func fixChecksum(ip []byte, v6 bool) {
	var src, dst, l4 []byte
	var proto byte
	switch {
	case !v6 && len(ip) >= ipv4.HeaderLen:
		hl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:4]))
		if hl < ipv4.HeaderLen || total > len(ip) || total < hl || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
			return
		}
		src, dst, proto, l4 = ip[12:16], ip[16:20], ip[9], ip[hl:total]
	case v6 && len(ip) >= ipv6.HeaderLen:
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if ipv6.HeaderLen+plen > len(ip) {
			return
		}
		src, dst, proto, l4 = ip[8:24], ip[24:40], ip[6], ip[ipv6.HeaderLen:ipv6.HeaderLen+plen]
	default:
		return
	}
	off := -1
	switch {
	case proto == 6 && len(l4) >= 20:
		off = 16
	case proto == 17 && len(l4) >= 8 && (v6 || binary.BigEndian.Uint16(l4[6:8]) != 0):
		off = 6
	}
	if off < 0 {
		return
	}
	l4[off], l4[off+1] = 0, 0
	sum := sumBytes(sumBytes(0, src), dst) + uint32(proto) + uint32(len(l4))
	c := fold(sumBytes(sum, l4))
	if proto == 17 && c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(l4[off:], c)
}

// pullTaken reports whether the pull has taken the VIPs, and how adding
// them went.
func (io *linuxIO) pullTaken() (bool, error) {
	pl := io.puller
	if pl == nil {
		return false, nil
	}
	select {
	case <-pl.taken:
		return true, pl.err
	default:
		return false, nil
	}
}

// pullForce takes the VIPs now, and waits until they are ours.
func (io *linuxIO) pullForce() error {
	pl := io.puller
	if pl == nil {
		return nil
	}
	select {
	case pl.force <- struct{}{}:
	default:
	}
	select {
	case <-pl.taken:
		return pl.err
	case <-pl.done:
		return errors.New("the pull ended without taking the VIPs")
	}
}

// stopPull stops passing frames on, at once, and closes the socket.
func (io *linuxIO) stopPull() error {
	pl := io.puller
	if pl == nil {
		return nil
	}
	io.puller = nil
	pl.stopped.Store(true)
	<-pl.done
	return pl.c.Close()
}
