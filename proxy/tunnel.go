package proxy

import (
	"errors"
	"io"
	"sync/atomic"
	"time"
)

// tunnelState is shared by the two directions of a tunnel.
type tunnelState struct {
	a, b *endpoint
	last atomic.Int64 // unix ns of the last byte moved either way
	who  atomic.Uint32
	once atomic.Bool
}

func (ts *tunnelState) touch(now int64) { ts.last.Store(now) }

// blame records the first cause of an abnormal end: 'C'/'S' an error on
// the client/server side, 'c' the tunnel timeout.
func (ts *tunnelState) blame(who byte) { ts.who.CompareAndSwap(0, uint32(who)) }

// closeBoth ends the tunnel in both directions.
func (ts *tunnelState) closeBoth() {
	if ts.once.CompareAndSwap(false, true) {
		ts.a.c.Close()
		ts.b.c.Close()
	}
}

// expired reports whether nothing moved either way for idle; if something
// did, it returns the new deadline.
func (ts *tunnelState) expired(idle time.Duration) (bool, int64) {
	if idle <= 0 {
		return false, 0
	}
	dl := ts.last.Load() + int64(idle)
	if dl <= nanotime() {
		return true, 0
	}
	return false, dl
}

// fail ends the tunnel after a failed read or write: blamed on the
// tunnel timeout when the operation timed out, else on side.
func (ts *tunnelState) fail(timedOut bool, side byte) {
	if timedOut {
		ts.blame('c')
	} else {
		ts.blame(side)
	}
	ts.closeBoth()
}

// readFailed handles a read of src that failed with err (rb is the side
// to blame): a timeout while the other direction kept the tunnel busy
// moves src's deadline on and returns true (read again); anything else
// ends the tunnel.
func (ts *tunnelState) readFailed(src *endpoint, err error, idle time.Duration, rb byte) bool {
	timedOut := err != nil && isTimeout(err)
	if timedOut {
		if exp, dl := ts.expired(idle); !exp {
			src.readDeadline(dl)
			return true
		}
	}
	ts.fail(timedOut, rb)
	return false
}

// tunnel copies client<->server until both directions end (each end's
// EOF is passed on as a half-close), either side fails, or nothing moves
// for idle (timeouts.tunnel, HAProxy's meaning: inactivity in both
// directions). It returns the bytes moved each way and who ended it
// abnormally (0 for a clean end).
//
// Bytes go through a pool buffer taken only while data is at hand, so an
// idle tunnel holds none; a direction that streams in bulk (full buffers
// back to back) switches to splice(2) where the system has it, as
// HAProxy's splice-auto.
//
// ts is the caller's, fresh: it may watch the tunnel's activity.
func tunnel(ts *tunnelState, cli, srv *endpoint, idle time.Duration) (up, down int64, who byte) {
	ts.a, ts.b = cli, srv
	ts.touch(nanotime())
	cli.rdl, cli.wdl, srv.rdl, srv.wdl = -1, -1, -1, -1
	ch := make(chan int64, 1)
	go func() { ch <- pump(srv, cli, ts, idle, 'C', 'S') }()
	down = pump(cli, srv, ts, idle, 'S', 'C')
	up = <-ch
	return up, down, byte(ts.who.Load())
}

// spliced counts tunnel directions that switched to splice (for tests).
var spliced atomic.Int64

// bulkReads is how many full-buffer reads in a row make a direction bulk.
const bulkReads = 4

// pump moves bytes from src to dst until src's EOF (then half-closes dst),
// an error, or the tunnel's inactivity timeout. rb and wb are who is blamed
// for a read and a write failure.
func pump(dst, src *endpoint, ts *tunnelState, idle time.Duration, rb, wb byte) int64 {
	var total int64
	full := 0
	first := true
	wrote := int64(0) // when this pump's last write to dst began, until src answers
	defer src.release()
	for {
		now := nanotime()
		var n int
		var err error
		if !first && src.mayWaitAfter(wrote) {
			// Drained after a transfer: wait for readability rather than
			// try a read that would fail (see fillWait), within safeWait.
			dl := waitDeadline(now)
			src.readDeadline(dl)
			n, err = src.readIdleWait(true)
			if err != nil && isTimeout(err) {
				src.armRead(nanotime(), idle)
				if n, err = src.readIdleNoWait(); n > 0 {
					src.lostReadiness(dl)
				} else {
					n, err = src.readIdle()
				}
			}
		} else {
			src.armRead(now, idle)
			n, err = src.readIdle()
		}
		first = false
		if n > 0 {
			src.answered(wrote)
			wrote = 0 // what src sends next answers nothing written yet
		}
		if err != nil || n == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				dst.closeWrite() // close_notify first over TLS
				return total
			}
			if ts.readFailed(src, err, idle, rb) {
				continue
			}
			return total
		}
		ts.touch(now)
		if err := dst.write(src.data(), now, idle); err != nil {
			ts.fail(isTimeout(err), wb)
			return total
		}
		wrote = dst.wroteAt.Load() // this pump is dst's only writer
		total += int64(n)
		if src.w == len(*src.buf) {
			full++
		} else {
			full = 0
		}
		src.consume(n)
		src.releaseIfEmpty()
		if full >= bulkReads && canSplice && !src.isTLS() && !dst.isTLS() {
			spliced.Add(1)
			return total + spliceRest(dst, src, ts, idle, rb, wb)
		}
	}
}
