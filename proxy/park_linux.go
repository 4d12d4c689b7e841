//go:build linux

package proxy

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// parker holds keep-alive connections that have been idle for a while
// without a goroutine: their descriptors wait in an epoll set of their
// own, and a goroutine is started for a connection only when bytes arrive
// (or its keep-alive time is up). An idle connection then costs its
// session record and the kernel's socket, not a goroutine stack.
//
// The epoll descriptor is itself waited on through Go's netpoller (an
// epoll set is readable when one of its descriptors is ready): no thread
// ever blocks in epoll_wait holding the scheduler, which would stall every
// other connection until the runtime noticed.
type parker struct {
	epfd   int
	f      *os.File
	rc     syscall.RawConn
	events []unix.EpollEvent
	n      int
	err    error
	waitFn func(uintptr) bool

	mu    sync.Mutex
	conns map[int32]*session
}

// parkScan is how often keep-alive deadlines of parked connections are
// checked.
const parkScan = 250 * time.Millisecond

func newParker() *parker {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil // connections then wait on their goroutine
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil
	}
	f := os.NewFile(uintptr(fd), "lbd-parker")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	p := &parker{epfd: fd, f: f, rc: rc, events: make([]unix.EpollEvent, 256), conns: map[int32]*session{}}
	p.waitFn = p.collect
	go p.loop()
	return p
}

// collect takes the ready events without blocking; false makes the
// netpoller wait until the epoll set is readable.
func (p *parker) collect(fd uintptr) bool {
	for {
		p.n, p.err = unix.EpollWait(int(fd), p.events, 0)
		if p.err == syscall.EINTR {
			continue
		}
		return p.n > 0 || p.err != nil
	}
}

// park hands an idle session to the parker until bytes arrive or deadline;
// false means the caller must keep waiting itself.
func (p *parker) park(s *session, deadline int64) bool {
	if p == nil {
		return false
	}
	fd := s.detach()
	if fd < 0 {
		return false
	}
	s.parkFD, s.parkDeadline = fd, deadline
	if s.killed.Load() {
		// Killed while it was let go of: nobody else ends it now.
		go s.end()
		return true
	}
	served := s.reqs > 0 // read now: once registered, it is another goroutine's
	// Under the lock: the loop only sees the session once registered, and
	// a kick that catches it parked waits on the lock before unparking.
	p.mu.Lock()
	s.state.Store(sParked)
	p.conns[fd] = s
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: fd}
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	if err != nil {
		delete(p.conns, fd)
		if !s.state.CompareAndSwap(sParked, sActive) {
			// Kicked in between: the kicker ends the session.
			p.mu.Unlock()
			return true
		}
	}
	p.mu.Unlock()
	if err != nil {
		if s.reattach() != nil {
			go s.end()
			return true
		}
		return false
	}
	// A kill, a stop or a drain that came while the session was active
	// and being parked found nothing to close or kick: end it here (a
	// connection waiting for its first request is served, with a close,
	// whatever drains but a stop: setIdle).
	missed := s.killed.Load() || s.e.stopping.Load() || served && s.draining()
	if missed && s.state.CompareAndSwap(sParked, sKicked) {
		p.unpark(s)
		go s.end()
	}
	return true
}

// A parked connection gives up its net.Conn: Go's poll descriptor, the
// netFD and its two addresses (about 0.7 KiB a connection, measured) go,
// and only a descriptor of its own waits in the parker's epoll set, so
// that ten thousand idle keep-alive clients cost their session records
// and the kernel's sockets. The connection is wrapped again when bytes
// arrive or it must be closed (reattach), a few system calls for a
// connection that has been idle for idleHandoff at least.

// detach takes a descriptor of the client socket for the parker and
// closes the net.Conn; -1 when it cannot (the connection then stays as it
// is).
func (s *session) detach() int32 {
	fd := -1
	if err := s.cli.sys.rc.Control(func(f uintptr) { fd, _ = dupCloexec(int(f)) }); err != nil || fd < 0 {
		return -1
	}
	s.kmu.Lock()
	c := s.cli.c
	s.cli.c = nil
	s.kmu.Unlock()
	c.Close() // the socket stays open through fd
	s.cli.sys.rc = nil
	if t := s.cli.sys.tls; t != nil {
		t.tr.c, t.tr.raw.rc = nil, nil
	}
	s.detached = true
	return int32(fd)
}

// reattach wraps the parked descriptor again: in an *os.File, which Go's
// poller serves with deadlines as it does a net.Conn, for two system
// calls (fcntl, epoll_ctl) where net.FileConn makes ten (a dup, three
// socket queries, the wrapping file's own registration and close): 30
// against 11 µs a park and resume on this machine, and a parked
// connection is resumed for every first request after a failover.
func (s *session) reattach() error {
	if !s.detached {
		return nil
	}
	s.detached = false
	f := os.NewFile(uintptr(s.parkFD), "client")
	s.parkFD = -1
	if f == nil {
		return errors.New("parked connection has no descriptor")
	}
	c := resumedConn{f}
	s.kmu.Lock()
	s.cli.c = c
	s.kmu.Unlock()
	if err := s.cli.sys.init(c); err != nil {
		return err
	}
	if t := s.cli.sys.tls; t != nil {
		t.tr.c = c
		t.tr.raw.init(c)
	}
	return nil
}

// resumedConn is a parked client connection wrapped again (reattach): the
// file does the I/O and deadlines; what a net.Conn has more, rarely
// asked, is asked of the socket.
type resumedConn struct{ *os.File }

func (c resumedConn) CloseWrite() error {
	return c.control(func(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) })
}

func (c resumedConn) LocalAddr() net.Addr  { return c.addr(unix.Getsockname) }
func (c resumedConn) RemoteAddr() net.Addr { return c.addr(unix.Getpeername) }

// addr is the socket's address as get (getsockname, getpeername) tells it.
func (c resumedConn) addr(get func(fd int) (unix.Sockaddr, error)) net.Addr {
	var a net.Addr
	c.control(func(fd int) error {
		sa, err := get(fd)
		a = tcpAddrOf(sa)
		return err
	})
	return a
}

func (c resumedConn) control(fn func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// tcpAddrOf is the *net.TCPAddr of a socket address; a nil net.Addr for
// anything else.
func tcpAddrOf(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return nil
}

// unpark takes a session out of the parker (kick, kill).
func (p *parker) unpark(s *session) {
	p.mu.Lock()
	if p.conns[s.parkFD] == s {
		delete(p.conns, s.parkFD)
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(s.parkFD), nil)
	}
	p.mu.Unlock()
}

func (p *parker) loop() {
	var ready []*session
	next := nanotime() + int64(parkScan)
	for {
		p.f.SetReadDeadline(time.Unix(0, next))
		p.n, p.err = 0, nil
		err := p.rc.Read(p.waitFn)
		if err != nil && !isTimeout(err) {
			return // closed
		}
		if p.err != nil {
			return
		}
		now := nanotime()
		ready = ready[:0]
		p.mu.Lock()
		for i := 0; i < p.n; i++ {
			fd := p.events[i].Fd
			if s := p.conns[fd]; s != nil {
				delete(p.conns, fd)
				unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
				ready = append(ready, s)
			}
		}
		if now >= next {
			next = now + int64(parkScan)
			for fd, s := range p.conns {
				if s.parkDeadline <= now {
					delete(p.conns, fd)
					unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
					ready = append(ready, s)
				}
			}
		}
		p.mu.Unlock()
		for i, s := range ready {
			if s.state.CompareAndSwap(sParked, sActive) {
				sessionWorkers.run(s.resume)
			}
			ready[i] = nil
		}
	}
}

func (p *parker) close() {
	if p == nil {
		return
	}
	p.f.Close()
}

// count is the number of parked connections.
func (p *parker) count() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}
