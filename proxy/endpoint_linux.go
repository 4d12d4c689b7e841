//go:build linux

package proxy

import (
	"io"
	"syscall"
	"unsafe"
)

// canSkipRead: reads may wait for readability before trying.
const canSkipRead = true

// canSendRead: sysio.sendRead writes a request from inside its read.
const canSendRead = true

// sysio does socket I/O with raw non-blocking system calls inside
// RawConn.Read/Write, which still park the goroutine on the netpoller and
// honour deadlines. Raw calls skip the runtime's syscall bookkeeping: on a
// non-blocking socket they never block, so there is nothing for the
// scheduler to hand off, and a proxy pinned to one CPU saves the thread
// switches that the bookkeeping otherwise causes under load.
type sysio struct {
	rc  syscall.RawConn
	rfn func(uintptr) bool // reads, idle reads too (when idle is set)
	wfn func(uintptr) bool
	// Read and write state are apart: an upload copier reads a client
	// connection while the response is written to it.
	rb   []byte
	n    int
	rerr error
	mode readMode
	fd   int32 // the socket's descriptor once stale looked it up (0: not yet)
	wb   []byte
	werr error
	idle *endpoint // the endpoint whose buffer readIdle fills
	tls  *tlsConn  // TLS over this socket (tls_conn.go); nil in clear
}

func (x *sysio) init(c sockConn) error {
	if x.rc != nil {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	x.rc, x.fd = rc, 0
	if x.rfn == nil { // kept when a parked connection is wrapped again
		x.rfn = x.rawRead
		x.wfn = x.rawWrite
	}
	return nil
}

// rawRead is the read callback; one func value serves plain and idle
// reads (never both at once), each bound method value costing every
// connection 16 bytes.
func (x *sysio) rawRead(fd uintptr) bool {
	if x.idle != nil {
		return x.rawIdleRead(fd)
	}
	if x.mode == readWait {
		x.mode = readTry
		return false
	}
	n, done, err := readFD(fd, x.rb, x.mode == readNoWait, errWouldBlock)
	x.n, x.rerr = n, err
	return done
}

func (x *sysio) rawWrite(fd uintptr) bool {
	var done bool
	x.wb, done, x.werr = writeFD(fd, x.wb)
	return done
}

// readFD is one read into b (non-empty) inside RawConn.Read, shared by
// plain sockets and the TLS transport: done false when nothing is there
// and the caller may wait (EAGAIN), else n and the error (io.EOF at the
// end, wouldBlock for EAGAIN with noWait, or the errno).
func readFD(fd uintptr, b []byte, noWait bool, wouldBlock error) (n int, done bool, err error) {
	for {
		// recvfrom rather than read: the socket call skips the file
		// layer's checks read goes through (vfs_read was 1.6% of an
		// HTTP/2 request's CPU in perf), as HAProxy's recv does.
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
		switch e {
		case 0:
			if n == 0 {
				return 0, true, io.EOF
			}
			return int(n), true, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if noWait {
				return 0, true, wouldBlock
			}
			return 0, false, nil
		}
		return 0, true, e
	}
}

// writeFD writes what it can of b inside RawConn.Write: the rest, done
// false when the socket is full (EAGAIN: the caller waits), and the errno
// of a failure.
func writeFD(fd uintptr, b []byte) (rest []byte, done bool, err error) {
	for len(b) > 0 {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			b = b[n:]
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return b, false, nil
		}
		return b, true, e
	}
	return b, true, nil
}

// read reads into b (non-empty) as mode says.
func (x *sysio) read(c sockConn, b []byte, mode readMode) (int, error) {
	if x.tls != nil {
		return x.tls.read(b, mode)
	}
	if err := x.init(c); err != nil {
		return 0, err
	}
	x.rb, x.n, x.rerr, x.mode = b, 0, nil, mode
	err := x.rc.Read(x.rfn)
	x.rb = nil
	if err != nil {
		return 0, err
	}
	return x.n, x.rerr
}

// sendRead writes req, then waits for readability and reads into ep's
// buffer, taken once the answer is there (see endpoint.sendFill).
// RawConn.Read resets the poller's readiness of the socket before it
// calls rawIdleRead, which writes req first: whatever the answer makes
// readable comes after that reset and wakes the wait, even if another P
// polls the network before this goroutine waits. It returns what of req
// was not written (the socket was full, or err is the write's failure),
// and then reads nothing. x.wb and x.werr carry the request: a server
// connection whose request is whole has no other writer.
func (x *sysio) sendRead(ep *endpoint, req []byte) (rest []byte, n int, err error) {
	if err := x.init(ep.c); err != nil {
		return req, 0, err
	}
	x.idle, x.n, x.rerr, x.mode = ep, 0, nil, readSend
	x.wb, x.werr = req, nil
	err = x.rc.Read(x.rfn)
	rest, werr := x.wb, x.werr
	x.idle, x.wb, x.werr = nil, nil, nil
	switch {
	case werr != nil:
		return rest, 0, werr
	case err != nil:
		return rest, 0, err // a timeout or a close, before or after the write
	case len(rest) > 0:
		return rest, 0, nil
	}
	return nil, x.n, x.rerr
}

// write writes b whole.
func (x *sysio) write(c sockConn, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if x.tls != nil {
		return x.tls.write(b)
	}
	if err := x.init(c); err != nil {
		return err
	}
	x.wb, x.werr = b, nil
	err := x.rc.Write(x.wfn)
	x.wb = nil
	if err != nil {
		return err
	}
	return x.werr
}

// stale reports whether an idle connection has bytes or an EOF waiting
// (peeked without waiting): it cannot carry a new request. It allocates
// nothing per call: the descriptor is looked up once per connection (a
// closure given to Control escapes), and the peeked byte lands in x.n,
// which no read is using. The connection is this goroutine's while it is
// idle, so the descriptor cannot be closed under the peek.
func (x *sysio) stale(c sockConn) bool {
	if x.init(c) != nil {
		return true
	}
	if x.fd <= 0 {
		if x.rc.Control(func(fd uintptr) { x.fd = int32(fd) }) != nil || x.fd <= 0 {
			return true
		}
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(x.fd), uintptr(unsafe.Pointer(&x.n)), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	x.n = 0
	return e != syscall.EAGAIN // data, EOF (e == 0) or an error
}

// readIdle waits for bytes without holding a buffer: one is taken from the
// pool only once the socket is readable, so an idle keep-alive connection
// costs no buffer memory.
func (ep *endpoint) readIdle() (int, error) { return ep.readIdleMode(readTry) }

// readIdleWait is readIdle that, with wait, first waits for readability
// instead of trying (see fillWait); the caller bounds the wait.
func (ep *endpoint) readIdleWait(wait bool) (int, error) {
	if wait {
		return ep.readIdleMode(readWait)
	}
	return ep.readIdleMode(readTry)
}

// readIdleNoWait is readIdle that never waits.
func (ep *endpoint) readIdleNoWait() (int, error) { return ep.readIdleMode(readNoWait) }

func (ep *endpoint) readIdleMode(mode readMode) (int, error) {
	x := &ep.sys
	if x.tls != nil {
		return x.tls.readIdle(ep, mode)
	}
	if err := x.init(ep.c); err != nil {
		return 0, err
	}
	x.idle, x.n, x.rerr, x.mode = ep, 0, nil, mode
	err := x.rc.Read(x.rfn)
	x.idle = nil
	if err != nil {
		return 0, err
	}
	return x.n, x.rerr
}

func (x *sysio) rawIdleRead(fd uintptr) bool {
	switch x.mode {
	case readWait:
		x.mode = readTry
		return false
	case readSend:
		var done bool
		x.wb, done, x.werr = writeFD(fd, x.wb)
		if x.werr != nil || !done {
			return true // sendRead's caller finishes the write or fails
		}
		x.mode = readTry
		return false // the answer cannot be there yet: wait for it
	}
	ep := x.idle
	ep.hold()
	b := (*ep.buf)[ep.w:]
	n, done, err := readFD(fd, b, x.mode == readNoWait, errWouldBlock)
	x.n, x.rerr = n, err
	switch {
	case !done || err == errWouldBlock:
		ep.releaseIfEmpty() // nothing came: no buffer held while waiting
	case err == nil || err == io.EOF:
		ep.w += n
		ep.busy = n == len(b)
	}
	return done
}
