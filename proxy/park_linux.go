//go:build linux

package proxy

import (
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
type parker struct {
	epfd  int
	mu    sync.Mutex
	conns map[int32]*session
	done  chan struct{}
}

// parkScan is how often keep-alive deadlines of parked connections are
// checked.
const parkScan = 250 * time.Millisecond

func newParker() *parker {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil // connections then wait on their goroutine
	}
	p := &parker{epfd: fd, conns: map[int32]*session{}, done: make(chan struct{})}
	go p.loop()
	return p
}

// park hands an idle session to the parker until bytes arrive or deadline;
// false means the caller must keep waiting itself.
func (p *parker) park(s *session, deadline int64) bool {
	if p == nil {
		return false
	}
	var fd int32 = -1
	if err := s.cli.sys.rc.Control(func(f uintptr) { fd = int32(f) }); err != nil || fd < 0 {
		return false
	}
	s.parkFD, s.parkDeadline = fd, deadline
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
	return err == nil
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
	events := make([]unix.EpollEvent, 256)
	var ready []*session
	next := nanotime() + int64(parkScan)
	for {
		n, err := unix.EpollWait(p.epfd, events, int(parkScan/time.Millisecond))
		if err != nil && err != syscall.EINTR {
			return // closed
		}
		now := nanotime()
		ready = ready[:0]
		p.mu.Lock()
		for i := 0; i < n; i++ {
			fd := events[i].Fd
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
				go s.resume()
			}
			ready[i] = nil
		}
		select {
		case <-p.done:
			return
		default:
		}
	}
}

func (p *parker) close() {
	if p == nil {
		return
	}
	close(p.done)
	unix.Close(p.epfd)
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
