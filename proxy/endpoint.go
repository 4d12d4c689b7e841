package proxy

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"lbd/h2"
)

// errBufferFull means a head did not fit in a buffer.
var errBufferFull = errors.New("buffer full")

// errWouldBlock: a read that must not wait found nothing.
var errWouldBlock = errors.New("no data")

// readMode says what a read does when nothing is there yet.
type readMode uint8

const (
	readTry    readMode = iota // try, then wait for readability (Go's usual read)
	readWait                   // wait for readability first, then read
	readNoWait                 // try once, never wait: errWouldBlock
	readSend                   // write a request first, then wait for readability (sendFill)
)

// sockConn is a connected TCP socket as an endpoint uses it: a
// *net.TCPConn as accepted or dialled, or a parked client connection
// wrapped again (resumedConn, park_linux.go).
type sockConn interface {
	net.Conn
	CloseWrite() error
	SyscallConn() (syscall.RawConn, error)
}

// endpoint is one connection of a session with its read buffer. Deadlines
// are refreshed lazily: an inactivity timeout T is implemented by a
// deadline pushed forward only once less than T/2 of it is left, so that a
// stream of reads costs one timer update per T/2 instead of one per read.
type endpoint struct {
	c    sockConn
	buf  *[]byte // nil while not held
	r, w int     // unread bytes are (*buf)[r:w]
	rdl  int64   // read deadline in force, unix nanoseconds; 0 = none
	wdl  int64
	sys  sysio // raw non-blocking I/O on the socket (see endpoint_linux.go)
	// busy: the last read filled all the room it had, so more bytes may
	// be waiting; false after a partial read (the socket is drained) and
	// on a new connection.
	busy bool
	// noSkip: a readiness was lost on this socket once (bytes came while
	// it was not being waited on): always try reads first from now on.
	noSkip bool
	// wroteAt: when the last write to the socket began (unix nanoseconds),
	// until the answer's first bytes are read; turn: the shortest time the
	// peer took to answer a write. Both kept with several Ps only
	// (skipAfterWrite); atomic, as an upload copier writes a server
	// connection while its response is read.
	wroteAt, turn atomic.Int64
	// pipe, when set, is the endpoint's transport instead of the socket
	// (c is nil then): an HTTP/2 stream (h2_stream.go).
	pipe pipe
}

// pipe is the transport of an endpoint that is not a socket. Its reads and
// writes wait as a socket's would, until the deadlines set.
type pipe interface {
	read(b []byte, mode readMode) (int, error)
	write(b []byte) error
	setReadDeadline(at int64) // unix nanoseconds, 0: none
	setWriteDeadline(at int64)
	interrupt() // wake a blocked read now (with a timeout)
	// writeFramed is write for body bytes that lie after bodyRoom bytes
	// of the buffer the pipe may overwrite (f is the buffer from there
	// on): it frames them in place instead of copying them.
	writeFramed(f []byte) error
}

// bodyRoom is the room a pipe's writeFramed needs in front of the bytes:
// an HTTP/2 frame's header.
const bodyRoom = h2.FrameHeaderLen

// read reads into b from the socket or the pipe.
func (ep *endpoint) read(b []byte, mode readMode) (int, error) {
	if ep.pipe != nil {
		return ep.pipe.read(b, mode)
	}
	return ep.sys.read(ep.c, b, mode)
}

// interrupt wakes a read blocked on the endpoint: it fails with a timeout.
func (ep *endpoint) interrupt() {
	if ep.pipe != nil {
		ep.pipe.interrupt()
		return
	}
	ep.c.SetReadDeadline(time.Unix(1, 0))
}

// skipReads enables waiting for readability before reading (fillWait),
// saving the read that would find nothing. The risk is a readiness lost:
// the runtime's poller is edge-triggered, and arming a wait forgets a
// readiness it already noted (internal/poll's prepareRead), so bytes that
// came, and were noted by a poll, between the proxy's last look at a
// socket and its wait, are not waited for; each loss costs a safety wait
// (safeWait). It is set once from GOMAXPROCS:
//
//   - one P (a proxy pinned to one CPU): nothing polls the network while
//     the proxy's goroutine runs, except rarely (sysmon): every read may
//     wait first;
//   - several: another P's poll notes readiness at once, so a read waits
//     first only when no bytes can have come since the proxy's last look:
//     what the read expects is the peer's answer to the last write, and
//     less time has passed since that write began than half the shortest
//     time this peer ever took to answer (turn, learnt from the reads that
//     followed writes: an answer cannot come sooner than the peer can
//     answer). This is the usual case of a keep-alive exchange, the
//     request written, the response awaited, the response written, the
//     next request awaited, on a connection that has answered once. The
//     write's own time counts: the peer it wakes may run first on this
//     CPU and answer before the write returns.
var skipReads atomic.Int32

const (
	skipNever      = iota // always try first (no raw socket reads here)
	skipAfterWrite        // several Ps: wait first right after a write
	skipAlways            // one P: wait first unless the socket is busy
)

func init() {
	switch {
	case !canSkipRead:
		skipReads.Store(skipNever)
	case runtime.GOMAXPROCS(0) == 1:
		skipReads.Store(skipAlways)
	default:
		skipReads.Store(skipAfterWrite)
	}
}

// mayWait reports whether the next read may wait for readability first,
// the read expecting the answer to the last write to the same socket.
func (ep *endpoint) mayWait() bool {
	return ep.mayWaitIn(skipReads.Load(), nanotime, ep.wroteAt.Load())
}

// mayWaitAfter is mayWait for a read that expects the answer to a write
// that began at wrote, on another socket (a tunnel: what the client sends
// next answers what the server said, which the tunnel just wrote to it).
func (ep *endpoint) mayWaitAfter(wrote int64) bool {
	return ep.mayWaitIn(skipReads.Load(), nanotime, wrote)
}

func (ep *endpoint) mayWaitIn(mode int32, now func() int64, wrote int64) bool {
	if ep.busy || ep.noSkip {
		return false
	}
	switch mode {
	case skipAlways:
		return true
	case skipAfterWrite:
		turn := ep.turn.Load()
		return wrote != 0 && turn > 0 && now()-wrote < turn/2
	}
	return false
}

// answered notes, after a read that got bytes, how long the peer took to
// answer the write that began at wrote (0: none awaited an answer): the
// shortest such time bounds the reads that may wait first
// (skipAfterWrite).
func (ep *endpoint) answered(wrote int64) {
	if wrote == 0 || skipReads.Load() != skipAfterWrite {
		return
	}
	if t, turn := nanotime()-wrote, ep.turn.Load(); turn == 0 || t < turn {
		ep.turn.Store(max(t, 1))
	}
}

// answeredOwn is answered for the answer to this socket's own last write;
// a write made since (an upload copier's) stays noted.
func (ep *endpoint) answeredOwn() {
	if w := ep.wroteAt.Load(); w != 0 {
		ep.answered(w)
		ep.wroteAt.CompareAndSwap(w, 0)
	}
}

// lostReadiness is called when a bounded wait, armed until dl, expired and
// bytes were there at once: the poller had forgotten them, unless the wait
// ended late. A goroutine woken well after its deadline (an overloaded
// machine) may have been woken by the timer while bytes came in the lag;
// then nothing is known, and the socket keeps waiting first.
func (ep *endpoint) lostReadiness(dl int64) {
	if nanotime()-dl < int64(lateWake) {
		ep.noSkip = true
	}
}

// lateWake: a wait that ends this long after its deadline ended late.
const lateWake = time.Millisecond

func (ep *endpoint) data() []byte  { return (*ep.buf)[ep.r:ep.w] }
func (ep *endpoint) buffered() int { return ep.w - ep.r }

// hold makes sure the endpoint has a buffer.
func (ep *endpoint) hold() {
	if ep.buf == nil {
		ep.buf = getBuf()
		ep.r, ep.w = 0, 0
	}
}

// releaseIfEmpty returns the buffer to the pool when nothing is buffered.
func (ep *endpoint) releaseIfEmpty() {
	if ep.buf != nil && ep.r == ep.w {
		putBuf(ep.buf)
		ep.buf = nil
		ep.r, ep.w = 0, 0
	}
}

func (ep *endpoint) release() {
	if ep.buf != nil {
		putBuf(ep.buf)
		ep.buf = nil
	}
	ep.r, ep.w = 0, 0
}

// consume marks n buffered bytes as used.
func (ep *endpoint) consume(n int) {
	ep.r += n
	if ep.r == ep.w {
		ep.r, ep.w = 0, 0
	}
}

// fill reads once into the free end of the buffer, moving unread bytes to
// the front first when the end is reached.
func (ep *endpoint) fill() (int, error) {
	ep.hold()
	b := *ep.buf
	if ep.w == len(b) {
		if ep.r == 0 {
			return 0, errBufferFull
		}
		ep.w = copy(b, b[ep.r:ep.w])
		ep.r = 0
	}
	room := len(b) - ep.w
	n, err := ep.read(b[ep.w:], readTry)
	ep.w += n
	ep.busy = n == room
	return n, err
}

// fillInPlace is fill that never moves the buffered bytes (errBufferFull
// when the end of the buffer is reached): what points into them, a parsed
// head, stays valid.
func (ep *endpoint) fillInPlace() (int, error) {
	ep.hold()
	b := *ep.buf
	if ep.w == len(b) {
		return 0, errBufferFull
	}
	room := len(b) - ep.w
	n, err := ep.read(b[ep.w:], readTry)
	ep.w += n
	ep.busy = n == room
	return n, err
}

// fillNoWait is fill that never waits (errWouldBlock when nothing is there).
func (ep *endpoint) fillNoWait() (int, error) {
	ep.hold()
	b := *ep.buf
	if ep.w == len(b) {
		return 0, errBufferFull
	}
	room := len(b) - ep.w
	n, err := ep.read(b[ep.w:], readNoWait)
	ep.w += n
	if n > 0 {
		ep.busy = n == room
	}
	return n, err
}

// safeWait bounds a wait that skipped its speculative read (see fillWait).
const safeWait = 20 * time.Millisecond

// waitGrid rounds the deadlines of bounded waits (waitDeadline).
const waitGrid = 4 * time.Millisecond

// waitDeadline is the end of a bounded wait that begins at now: safeWait
// later, rounded up to a multiple of waitGrid. The waits of a busy socket
// then share one deadline for waitGrid, and readDeadline, which leaves an
// unchanged deadline alone, does not move the poller's timer for each of
// them (a runtime timer change per read, about 1.5% of a tunnelled
// request's CPU on two Ps, profiled).
func waitDeadline(now int64) int64 { return onGrid(now+int64(safeWait), waitGrid) }

// onGrid rounds at up to the next multiple of grid (at itself when it is
// one).
func onGrid(at int64, grid time.Duration) int64 {
	if r := at % int64(grid); r != 0 {
		return at - r + int64(grid)
	}
	return at
}

// fillWait is fill for bytes that cannot be there yet (a response just
// asked for): on a drained socket it waits for readability instead of
// first trying a read that would fail with EAGAIN, as HAProxy does not
// read again after a partial read. That saves a system call per
// exchange. Go's poller forgets a readiness it saw just before the wait
// begins, so the wait is bounded by safeWait; past it, an ordinary fill
// with the inactivity timeout follows.
func (ep *endpoint) fillWait(now int64, to time.Duration) (int, error) {
	n, err := ep.fillWaitFirst(now, to)
	if n > 0 {
		ep.answeredOwn()
	}
	return n, err
}

func (ep *endpoint) fillWaitFirst(now int64, to time.Duration) (int, error) {
	if !ep.mayWait() || ep.pipe != nil {
		ep.armRead(now, to)
		return ep.fill()
	}
	ep.hold()
	b := *ep.buf
	if ep.w == len(b) {
		return ep.fill() // buffer handling as fill
	}
	dl := waitDeadline(now)
	ep.readDeadline(dl)
	room := len(b) - ep.w
	n, err := ep.sys.read(ep.c, b[ep.w:], readWait)
	if err != nil && isTimeout(err) {
		ep.readDeadline(nanotime() + int64(to))
		n, err := ep.fillNoWait()
		if n > 0 {
			ep.lostReadiness(dl)
			return n, nil
		}
		if err != nil && !errors.Is(err, errWouldBlock) {
			return n, err
		}
		return ep.fill()
	}
	ep.w += n
	ep.busy = n == room
	return n, err
}

// errUnsent wraps the failure of a request that did not leave whole in
// sendFill: nothing of the answer was read, and the server processed
// nothing it could answer, as when connect's write fails.
type errUnsent struct{ err error }

func (e errUnsent) Error() string { return "request not sent: " + e.err.Error() }
func (e errUnsent) Unwrap() error { return e.err }

// sendsInRead reports whether sendFill writes from inside the read: a
// plain socket, with raw I/O.
func (ep *endpoint) sendsInRead() bool { return canSendRead && ep.pipe == nil && ep.sys.tls == nil }

// sendFill writes req, a whole request, then fills the buffer with the
// answer. On a plain socket the write is made from inside the read
// (sysio.sendRead), after the poller forgot what it knew of the socket:
// the readiness of the answer, which only the write can cause, cannot be
// lost then, so the read waits for it first, on any number of Ps, with
// neither a read that would fail with EAGAIN before it nor a safeWait
// bound (fillWait's two costs). While the server works, the endpoint
// holds no buffer: one is taken from the pool once the answer is there,
// the one most recently given back, still in the CPU's caches (a buffer
// held across the wait was cold by then under many requests in flight,
// and 16 KiB of memory per request waiting on its server). Elsewhere
// (TLS, an HTTP/2 stream, no raw I/O) it is write then fillWait. A
// failed write is an errUnsent.
func (ep *endpoint) sendFill(req []byte, now int64, to time.Duration) (int, error) {
	if !ep.sendsInRead() || (ep.buf != nil && ep.w == len(*ep.buf)) {
		if err := ep.write(req, now, to); err != nil {
			return 0, errUnsent{err}
		}
		return ep.fillWait(now, to)
	}
	ep.releaseIfEmpty()
	ep.armRead(now, to)
	rest, n, err := ep.sys.sendRead(ep, req)
	if len(rest) > 0 {
		// Not written whole: the socket was full (finish the usual way),
		// or the write failed.
		if err == nil {
			err = ep.write(rest, now, to)
		}
		if err != nil {
			return 0, errUnsent{err}
		}
		return ep.fillWait(now, to)
	}
	return n, err
}

// compact moves unread bytes to the front of the buffer.
func (ep *endpoint) compact() {
	if ep.r > 0 {
		b := *ep.buf
		ep.w = copy(b, b[ep.r:ep.w])
		ep.r = 0
	}
}

// readDeadline sets an exact read deadline (0 clears it).
func (ep *endpoint) readDeadline(at int64) {
	if at == ep.rdl {
		return
	}
	ep.rdl = at
	if ep.pipe != nil {
		ep.pipe.setReadDeadline(at)
		return
	}
	if at == 0 {
		ep.c.SetReadDeadline(time.Time{})
		return
	}
	ep.c.SetReadDeadline(time.Unix(0, at))
}

// armRead makes sure the next reads time out after about to of inactivity.
func (ep *endpoint) armRead(now int64, to time.Duration) {
	if to <= 0 {
		ep.readDeadline(0)
		return
	}
	if ep.rdl == 0 || ep.rdl-now < int64(to)/2 {
		ep.readDeadline(now + int64(to))
	}
}

// armWrite is armRead for writes.
func (ep *endpoint) armWrite(now int64, to time.Duration) {
	if to <= 0 {
		if ep.wdl != 0 {
			ep.wdl = 0
			ep.setWriteDeadline(0)
		}
		return
	}
	if ep.wdl == 0 || ep.wdl-now < int64(to)/2 {
		ep.wdl = now + int64(to)
		ep.setWriteDeadline(ep.wdl)
	}
}

func (ep *endpoint) setWriteDeadline(at int64) {
	switch {
	case ep.pipe != nil:
		ep.pipe.setWriteDeadline(at)
	case at == 0:
		ep.c.SetWriteDeadline(time.Time{})
	default:
		ep.c.SetWriteDeadline(time.Unix(0, at))
	}
}

// write writes p whole with an inactivity timeout.
func (ep *endpoint) write(p []byte, now int64, to time.Duration) error {
	ep.armWrite(now, to)
	if ep.pipe != nil {
		return ep.pipe.write(p)
	}
	if skipReads.Load() != skipAfterWrite {
		return ep.sys.write(ep.c, p)
	}
	// The answer can come as soon as the first bytes leave: the window
	// starts before the write, which may itself be long (the peer woken
	// by it may run first on this CPU).
	ep.wroteAt.Store(nanotime())
	return ep.sys.write(ep.c, p)
}

// writeFramed is write for the bytes of f after bodyRoom bytes that may
// be overwritten, on an endpoint with a pipe (see pipe.writeFramed).
func (ep *endpoint) writeFramed(f []byte, now int64, to time.Duration) error {
	ep.armWrite(now, to)
	return ep.pipe.writeFramed(f)
}

// fillRoomy is fill that, when nothing is buffered, leaves bodyRoom bytes
// free in front of what it reads, for a pipe's writeFramed.
func (ep *endpoint) fillRoomy() (int, error) {
	ep.hold()
	if ep.r == ep.w {
		ep.r, ep.w = bodyRoom, bodyRoom
	}
	return ep.fill()
}

// roomy is the buffered bytes with the bodyRoom bytes in front of them,
// nil when they are not there.
func (ep *endpoint) roomy(n int) []byte {
	if ep.r < bodyRoom {
		return nil
	}
	return (*ep.buf)[ep.r-bodyRoom : ep.r+n]
}

// isTimeout reports whether err is a deadline expiry. The deadlines'
// error is looked for first: errors.As's target escapes, an allocation
// at each wake of an HTTP/2 connection's reader.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
