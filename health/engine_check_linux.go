//go:build linux

package health

// One check's way through the engine's loop: connect, send, read, finish;
// and the heap of the checks in progress by deadline.

import (
	"container/heap"

	"golang.org/x/sys/unix"
)

// begin starts a submitted check: connect, and send at once what there
// is to send. On loopback the connect is over when the call returns, so
// the request is written right away; if it is not (EAGAIN), the loop
// waits for the socket to be writable.
func (e *engine) begin(o *op) {
	o.gen++
	o.sent, o.up = 0, false
	o.pr.x.begin()
	heap.Push(&e.timers, o)
	o.unread = false
	fd, errno := openSocket(o.t, false) // see finish for the RST
	if fd < 0 {
		e.finish(o, failed(codeL4CON, errText(errno)))
		return
	}
	o.fd = fd
	e.track(o)
	o.out = o.pr.proxyOut(rawLocalAddr(fd), o.t.ap)
	switch errno {
	case 0:
		o.up = true
	case unix.EINPROGRESS:
		if len(o.out) == 0 {
			// Nothing to write that would tell whether the connect
			// is over: the sweep asks the socket (on loopback it is
			// over already).
			o.phase = opConnecting
			e.fresh = append(e.fresh, freshOp{o: o, gen: o.gen, at: e.now()})
			return
		}
	default:
		e.finish(o, ioFailure(errno, false, ""))
		return
	}
	e.send(o)
}

// track files the op under its descriptor.
func (e *engine) track(o *op) {
	for o.fd >= len(e.byFD) {
		e.byFD = append(e.byFD, make([]*op, len(e.byFD))...)
	}
	e.byFD[o.fd] = o
}

// connected runs when a pending connect has ended.
func (e *engine) connected(o *op) {
	v, errno := rawSockError(o.fd)
	switch {
	case errno != 0:
		e.finish(o, failed(codeL4CON, errText(errno)))
		return
	case v != 0:
		e.finish(o, ioFailure(unix.Errno(v), false, ""))
		return
	}
	o.up = true
	e.send(o)
}

// send writes what is left of the check's bytes, then waits for the
// answer, if one is expected.
func (e *engine) send(o *op) {
	p := o.pr
	for o.sent < len(o.out) {
		n, errno := rawSend(o.fd, o.out[o.sent:])
		switch errno {
		case 0:
			o.sent += n
			o.up = true
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			// Not connected yet, or (connected) a full send buffer.
			if o.up {
				e.watch(o, opSending, unix.EPOLLOUT)
			} else {
				e.watch(o, opConnecting, unix.EPOLLOUT)
			}
			return
		}
		// Before the connection is known up, the write reports the
		// connect's failure (refused, unreachable); a reset or a
		// broken pipe come from a connection that was up.
		if !o.up && errno != unix.ECONNRESET && errno != unix.EPIPE {
			e.finish(o, ioFailure(errno, false, ""))
		} else {
			e.finish(o, p.x.sendError(errno))
		}
		return
	}
	if r, ok := p.x.sent(); ok {
		e.finish(o, r)
		return
	}
	if o.events != 0 { // registered to wait for the connect or the send
		e.watch(o, opReading, unix.EPOLLIN|unix.EPOLLRDHUP)
		return
	}
	o.phase = opReading
	e.fresh = append(e.fresh, freshOp{o: o, gen: o.gen, at: e.now()})
}

// read judges what arrived. The bytes are peeked, not taken: when they
// complete the answer they are left in the socket, and closing a socket
// with unread data resets the connection (RFC 2525 section 2.17, Linux's
// tcp_close), which spares the SO_LINGER call on the common path. An
// answer that needs more bytes has the peeked ones taken out first.
// Registrations are level-triggered: bytes not yet peeked are reported
// again.
func (e *engine) read(o *op) {
	for {
		n, errno := rawPeek(o.fd, e.buf)
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			return
		case errno != 0:
			e.finish(o, o.pr.x.readError(errno))
			return
		case n == 0:
			e.finish(o, o.pr.x.eof())
			return
		}
		if r, ok := o.pr.x.data(e.buf[:n]); ok {
			o.unread = true
			e.finish(o, r)
			return
		}
		for got := 0; got < n; {
			m, errno := rawRead(o.fd, e.buf[got:n])
			switch {
			case errno == unix.EINTR:
				continue
			case errno != 0:
				e.finish(o, o.pr.x.readError(errno))
				return
			case m == 0: // cannot be: the bytes were there
				e.finish(o, o.pr.x.eof())
				return
			}
			got += m
		}
		return
	}
}

// watch sets what the loop waits for on o's socket.
func (e *engine) watch(o *op, phase opPhase, events uint32) {
	o.phase = phase
	if o.events == events {
		return
	}
	ctl := unix.EPOLL_CTL_MOD
	if o.events == 0 {
		ctl = unix.EPOLL_CTL_ADD
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(o.fd), Pad: int32(o.gen)}
	if errno := rawEpollCtl(e.epfd, ctl, o.fd, &ev); errno != 0 {
		e.finish(o, failed(codeSOCKERR, errText(errno)))
		return
	}
	o.events = events
}

// finish ends a check: its socket is closed with a RST, as HAProxy
// closes checks (no TIME_WAIT left on either side): because the answer is
// left unread in it, or else by SO_LINGER 0. The close also takes the
// socket out of the epoll set. Then its result is reported.
func (e *engine) finish(o *op, r result) {
	if o.fd >= 0 {
		e.byFD[o.fd] = nil
		if !o.unread {
			_ = setLinger0(o.fd)
		}
		rawClose(o.fd)
		o.fd = -1
	}
	if o.hidx >= 0 {
		heap.Remove(&e.timers, o.hidx)
	}
	o.phase, o.events, o.up = opIdle, 0, false
	done := o.done
	o.done = nil
	e.mu.Lock()
	o.active = false
	e.mu.Unlock()
	done(r)
}

// opHeap orders the checks in progress by deadline.
type opHeap []*op

func (h opHeap) Len() int           { return len(h) }
func (h opHeap) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h opHeap) Swap(i, j int)      { heapSwap(h, i, j) }
func (h *opHeap) Push(x any)        { heapPush((*[]*op)(h), x.(*op)) }
func (h *opHeap) Pop() any          { return heapPop((*[]*op)(h)) }

func (o *op) setHeapIndex(i int) { o.hidx = i }

// heapIndexed is an element of a heap that keeps its own position, so
// that it can be removed (heap.Remove) when its check ends early.
type heapIndexed interface{ setHeapIndex(int) }

// heapSwap, heapPush and heapPop are the container/heap methods shared
// by the engine's heaps; they keep each element's index current.
func heapSwap[T heapIndexed](h []T, i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].setHeapIndex(i)
	h[j].setHeapIndex(j)
}

func heapPush[T heapIndexed](h *[]T, x T) {
	x.setHeapIndex(len(*h))
	*h = append(*h, x)
}

func heapPop[T heapIndexed](h *[]T) T {
	old := *h
	var zero T
	x := old[len(old)-1]
	old[len(old)-1] = zero
	*h = old[:len(old)-1]
	x.setHeapIndex(-1)
	return x
}
