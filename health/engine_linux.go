//go:build linux

package health

import (
	"container/heap"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// engine runs the checks of every type from one goroutine, over
// non-blocking sockets in an epoll set of its own, as HAProxy does. With
// a goroutine per check, every check paid for a goroutine, a runtime
// timer for its deadline, its socket's registration with the runtime
// poller and several thread switches to wake its goroutine; with a
// thousand checks a second that cost more than the checks. Here a batch
// of checks due together is started in one go (socket, connect, request)
// and their answers are collected together: one wake-up serves many
// checks, and a wake-up of a thread costs more than a check on a virtual
// machine.
//
// A socket is not registered with epoll when its request has been sent
// (or, with nothing to send, its connect started): on loopback or a LAN
// the answer is usually back soon after the batch has been started, so
// the loop looks at the fresh sockets of the batch with one ppoll right
// after it, and once more sweepDelay after the last request; only the
// sockets still silent then are registered. That saves an epoll_ctl per
// check (and for a check that sends nothing, the second connect call
// that would tell whether the connect is over) and the wake-ups of
// answers trickling in one by one: a batch costs two wake-ups of the
// loop.
//
// The epoll descriptor is itself waited on through Go's netpoller (an
// epoll set is readable when one of its descriptors is ready), with the
// earliest check deadline as its read deadline: no thread ever blocks in
// epoll_wait holding the scheduler.
//
// Only the loop touches a check's socket once submitted: stop asks the
// loop to abort a check (op.Close), it never closes the descriptor under
// the loop's feet. The loop never stops; it costs nothing while idle.
type engine struct {
	epfd    int
	tfd     int      // timerfd in the epoll set: the loop's deadlines
	f       *os.File // the epoll descriptor, for the netpoller
	rc      syscall.RawConn
	base    time.Time // deadlines are nanoseconds since base (monotonic)
	collect func(uintptr) bool
	events  []unix.EpollEvent
	nev     int    // events collected by the last wait or poll
	buf     []byte // read buffer, shared by all checks

	mu        sync.Mutex
	queue     []*op          // submitted, to start
	aborts    []*op          // to abort
	newTimers []*engineTimer // set by AfterFunc, to file
	idle      bool           // the loop is (about to be) waiting: a submit must kick it

	// Owned by the loop.
	byFD           []*op
	timers         opHeap
	armed          int64 // deadline set on tfd: 0 none, -1 unknown
	spareQ, spareA []*op
	fresh, spareF  []freshOp     // request sent, socket not registered
	pfds           []unix.PollFd // for sweep
	tq             timerHeap     // AfterFunc timers
	tseq           uint64
	spareT         []*engineTimer
}

// freshOp is a check whose request is sent (or, with nothing to send,
// whose connect was started) and whose socket is not registered with
// epoll yet.
type freshOp struct {
	o   *op
	gen uint32 // the op's gen when it was filed: a later check is not this one
	at  int64  // when the request was sent
}

func (f freshOp) waiting() bool {
	return f.o.gen == f.gen && (f.o.phase == opReading || f.o.phase == opConnecting) && f.o.events == 0
}

// sweepDelay is how long after the last request of a batch its fresh
// sockets are looked at again, the silent ones then registered with
// epoll. It adds at most that much to the duration of a check.
const sweepDelay = int64(2 * time.Millisecond)

// op is one check in the event loop. Each prober owns one and reuses it
// check after check.
type op struct {
	pr       *netProber
	t        *sockTarget
	done     func(result)
	deadline int64 // nanoseconds since engine.base

	// Owned by the loop once submitted.
	fd     int     // -1 when none
	gen    uint32  // tags epoll events, so that a stale event is ignored
	phase  opPhase // what the check waits for
	up     bool    // the connection is known established
	unread bool    // the answer is still in the socket (peeked)
	events uint32  // registered epoll events; 0 when not registered
	sent   int     // bytes of pr.send written
	hidx   int     // index in engine.timers; -1 when not there

	// Under engine.mu.
	active  bool // submitted and not finished
	aborted bool
}

type opPhase uint8

const (
	opIdle       opPhase = iota
	opConnecting         // waiting for the connect
	opSending            // waiting to write the rest of pr.send
	opReading            // waiting for the answer
)

// aLongTimeAgo as a read deadline wakes the loop at once.
var aLongTimeAgo = time.Unix(1, 0)

var (
	engineOnce sync.Once
	engineInst *engine
)

// theEngine returns the process's check loop, started on first use; nil
// if epoll is not available, in which case checks run on goroutines.
func theEngine() *engine {
	engineOnce.Do(func() { engineInst = newEngine() })
	return engineInst
}

func newEngine() *engine {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil
	}
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, tfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(tfd)}); err != nil {
		unix.Close(tfd)
		unix.Close(fd)
		return nil
	}
	f := os.NewFile(uintptr(fd), "lbd-health-checks")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		unix.Close(tfd)
		return nil
	}
	e := &engine{
		epfd: fd, tfd: tfd, f: f, rc: rc, base: time.Now(),
		events: make([]unix.EpollEvent, 256),
		buf:    make([]byte, 64<<10),
		byFD:   make([]*op, 1024),
	}
	e.collect = e.poll
	go e.loop()
	return e
}

// launch starts a check of t: see prober.start.
func (p *netProber) launch(t *sockTarget, deadline time.Time, track func(io.Closer) bool, done func(result)) (result, bool) {
	e := theEngine()
	if e == nil {
		go func() { done(p.runBlocking(t, deadline, track)) }()
		return result{}, false
	}
	o := &p.o
	if o.pr == nil {
		o.pr, o.fd, o.hidx = p, -1, -1
	}
	if !track(o) {
		return failed(codeL4CON, errCheckStopped.Error()), true
	}
	o.t, o.done = t, done
	o.deadline = int64(deadline.Sub(e.base))
	e.submit(o)
	return result{}, false
}

// Close aborts the check if it is still running (checker.stop).
func (o *op) Close() error {
	if e := theEngine(); e != nil {
		e.abort(o)
	}
	return nil
}

func (e *engine) submit(o *op) {
	e.mu.Lock()
	o.active, o.aborted = true, false
	e.queue = append(e.queue, o)
	kick := e.idle
	e.idle = false
	e.mu.Unlock()
	if kick {
		_ = e.f.SetReadDeadline(aLongTimeAgo)
	}
}

func (e *engine) abort(o *op) {
	e.mu.Lock()
	if !o.active || o.aborted {
		e.mu.Unlock()
		return
	}
	o.aborted = true
	e.aborts = append(e.aborts, o)
	kick := e.idle
	e.idle = false
	e.mu.Unlock()
	if kick {
		_ = e.f.SetReadDeadline(aLongTimeAgo)
	}
}

func (e *engine) now() int64 { return int64(time.Since(e.base)) }

func (e *engine) loop() {
	for {
		e.runTimers() // a batch of checks due: they are submitted
		if e.takeWork() {
			e.sweep(false)
		} else if e.sweepDue() {
			e.sweep(true)
		}
		e.expire()
		if !e.wait() {
			return
		}
		e.handle()
	}
}

// takeWork starts the submitted checks and aborts those asked to; true
// when it started some.
func (e *engine) takeWork() bool {
	e.mu.Lock()
	q, ab := e.queue, e.aborts
	e.queue, e.aborts = e.spareQ[:0], e.spareA[:0]
	e.mu.Unlock()
	for i, o := range q {
		e.begin(o)
		q[i] = nil
	}
	// An abort may come after its check ended: then the op is idle.
	for i, o := range ab {
		if o.phase != opIdle {
			e.finish(o, failed(codeL4CON, errCheckStopped.Error()))
		}
		ab[i] = nil
	}
	e.spareQ, e.spareA = q[:0], ab[:0]
	return len(q) > 0
}

// sweepAt is when the fresh sockets are due for their last look (0: no
// fresh socket).
func (e *engine) sweepAt() int64 {
	if len(e.fresh) == 0 {
		return 0
	}
	return e.fresh[len(e.fresh)-1].at + sweepDelay
}

func (e *engine) sweepDue() bool {
	at := e.sweepAt()
	return at != 0 && e.now() >= at
}

// sweep looks at the fresh sockets with one ppoll: the connected or
// answered ones go on; the silent ones are kept for the next sweep, or,
// with last, registered with epoll.
func (e *engine) sweep(last bool) {
	if len(e.fresh) == 0 {
		return
	}
	e.pfds = e.pfds[:0]
	for _, f := range e.fresh {
		pfd := unix.PollFd{Fd: -1} // ignored by ppoll
		if f.waiting() {
			pfd.Fd, pfd.Events = int32(f.o.fd), unix.POLLIN|unix.POLLRDHUP
			if f.o.phase == opConnecting {
				pfd.Events = unix.POLLOUT
			}
		}
		e.pfds = append(e.pfds, pfd)
	}
	if errno := rawPoll(e.pfds); errno != 0 {
		for i := range e.pfds {
			e.pfds[i].Revents = 0 // all of them through epoll
		}
	}
	// Checks that go on to wait for an answer are filed anew, in the
	// list that replaces this one.
	old := e.fresh
	e.fresh = e.spareF[:0]
	for i, f := range old {
		switch rev := e.pfds[i].Revents; {
		case !f.waiting():
		case rev != 0 && f.o.phase == opConnecting:
			e.connected(f.o)
			if rev&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 && f.o.phase == opReading && f.o.events == 0 {
				e.read(f.o) // an agent that spoke first
			}
		case rev != 0:
			e.read(f.o)
			if f.waiting() { // part of the answer: the rest through epoll
				e.watch(f.o, opReading, unix.EPOLLIN|unix.EPOLLRDHUP)
			}
		case last && f.o.phase == opConnecting:
			e.watch(f.o, opConnecting, unix.EPOLLOUT)
		case last:
			e.watch(f.o, opReading, unix.EPOLLIN|unix.EPOLLRDHUP)
		default:
			e.fresh = append(e.fresh, f)
		}
	}
	clear(old)
	e.spareF = old[:0]
}

// wait blocks until events are ready (collected into e.events), the
// earliest deadline passes, or a submit kicks it. false: the loop ends.
func (e *engine) wait() bool {
	e.nev = 0
	var dl int64
	if len(e.timers) > 0 {
		dl = e.timers[0].deadline
	}
	if at := e.sweepAt(); at != 0 && (dl == 0 || at < dl) {
		dl = at
	}
	if t := e.nextTimer(); t != 0 && (dl == 0 || t < dl) {
		dl = t
	}
	if dl != e.armed {
		// Re-arming also clears an expiry: the timerfd is no longer
		// readable.
		var its unix.ItimerSpec
		if dl != 0 {
			its.Value = unix.NsecToTimespec(max(dl-e.now(), 1))
		}
		_ = rawTimerfdSettime(e.tfd, &its)
		e.armed = dl
	}
	e.mu.Lock()
	if len(e.queue) > 0 || len(e.aborts) > 0 || len(e.newTimers) > 0 {
		e.mu.Unlock()
		return true
	}
	e.idle = true
	e.mu.Unlock()
	err := e.rc.Read(e.collect)
	e.mu.Lock()
	e.idle = false
	e.mu.Unlock()
	if err != nil {
		if os.IsTimeout(err) { // a kick
			_ = e.f.SetReadDeadline(time.Time{})
			return true
		}
		return false
	}
	return true
}

// poll collects the ready events without blocking; false makes the
// netpoller wait until the epoll set is readable.
func (e *engine) poll(fd uintptr) bool {
	for {
		n, errno := rawEpollWait(int(fd), e.events)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			n = 0
		}
		e.nev = n
		return n > 0
	}
}

// handle runs the events collected.
func (e *engine) handle() {
	for i := 0; i < e.nev; i++ {
		ev := &e.events[i]
		fd := int(ev.Fd)
		if fd == e.tfd {
			e.armed = -1 // expired: re-armed (and so cleared) before the next wait
			continue
		}
		if fd < 0 || fd >= len(e.byFD) {
			continue
		}
		o := e.byFD[fd]
		if o == nil || uint32(ev.Pad) != o.gen {
			continue // its check ended earlier in this batch
		}
		switch o.phase {
		case opConnecting:
			e.connected(o)
		case opSending:
			e.send(o)
		case opReading:
			e.read(o)
		}
	}
	e.nev = 0
}

// expire ends the checks whose deadline has passed, after a last look at
// what arrived: an answer that came in time counts.
func (e *engine) expire() {
	if len(e.timers) == 0 {
		return
	}
	now := e.now()
	if e.timers[0].deadline > now {
		return
	}
	for e.poll(uintptr(e.epfd)) {
		full := e.nev == len(e.events)
		e.handle()
		if !full {
			break
		}
	}
	e.sweep(false)
	for len(e.timers) > 0 && e.timers[0].deadline <= now {
		o := e.timers[0]
		var r result
		switch {
		case !o.up:
			r = ioFailure(os.ErrDeadlineExceeded, false, "") // L4TOUT
		case o.phase == opSending:
			r = o.pr.x.sendError(os.ErrDeadlineExceeded)
		default:
			r = o.pr.x.readError(os.ErrDeadlineExceeded)
		}
		e.finish(o, r)
	}
}

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
	switch errno {
	case 0:
		o.up = true
	case unix.EINPROGRESS:
		if len(o.pr.send) == 0 {
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
	for o.sent < len(p.send) {
		n, errno := rawSend(o.fd, p.send[o.sent:])
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
