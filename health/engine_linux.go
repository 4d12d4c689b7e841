//go:build linux

package health

import (
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
	sent   int     // bytes of out written
	out    []byte  // what the check writes: pr.send, after a PROXY header if any
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

// unlockAndWake releases e.mu after work was queued for the loop, and
// wakes the loop if it is waiting (an expired read deadline on the epoll
// file ends its wait).
func (e *engine) unlockAndWake() {
	kick := e.idle
	e.idle = false
	e.mu.Unlock()
	if kick {
		_ = e.f.SetReadDeadline(aLongTimeAgo)
	}
}

func (e *engine) submit(o *op) {
	e.mu.Lock()
	o.active, o.aborted = true, false
	e.queue = append(e.queue, o)
	e.unlockAndWake()
}

func (e *engine) abort(o *op) {
	e.mu.Lock()
	if !o.active || o.aborted {
		e.mu.Unlock()
		return
	}
	o.aborted = true
	e.aborts = append(e.aborts, o)
	e.unlockAndWake()
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
