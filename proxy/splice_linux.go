//go:build linux

package proxy

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// On Linux a tunnel moves bytes with splice(2) through a pipe, never
// through user space. A pipe is only held while bytes are in flight: an
// idle tunnel costs no pipe.

const spliceChunk = 1 << 16

type kpipe struct {
	r, w int
	n    int // bytes in the pipe
}

var pipePool = make(chan *kpipe, 1024)

func getPipe() (*kpipe, error) {
	select {
	case p := <-pipePool:
		return p, nil
	default:
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, err
	}
	return &kpipe{r: fds[0], w: fds[1]}, nil
}

func putPipe(p *kpipe) {
	if p.n == 0 {
		select {
		case pipePool <- p:
			return
		default:
		}
	}
	unix.Close(p.r)
	unix.Close(p.w)
}

// pump moves bytes from src to dst until src's EOF (then half-closes dst),
// an error, or the tunnel's inactivity timeout. rb and wb are who is blamed
// for a read and a write failure.
func pump(dst, src *net.TCPConn, ts *tunnelState, idle time.Duration, rb, wb byte) int64 {
	srcRaw, err := src.SyscallConn()
	if err != nil {
		ts.blame(rb)
		ts.closeBoth()
		return 0
	}
	dstRaw, err := dst.SyscallConn()
	if err != nil {
		ts.blame(wb)
		ts.closeBoth()
		return 0
	}
	var p *kpipe
	defer func() {
		if p != nil {
			putPipe(p)
		}
	}()
	var total int64
	var rdl, wdl int64
	var n int
	var serr error
	readFn := func(fd uintptr) bool {
		if p == nil {
			if p, serr = getPipe(); serr != nil {
				return true
			}
		}
		for {
			var k int64
			k, serr = unix.Splice(int(fd), nil, p.w, nil, spliceChunk, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			n = int(k)
			if serr != unix.EINTR {
				break
			}
		}
		if serr == unix.EAGAIN {
			if p.n == 0 {
				putPipe(p)
				p = nil
			}
			return false
		}
		return true
	}
	var m int
	var werr error
	writeFn := func(fd uintptr) bool {
		for {
			var k int64
			k, werr = unix.Splice(p.r, nil, int(fd), nil, p.n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			m = int(k)
			if werr != unix.EINTR {
				break
			}
		}
		return werr != unix.EAGAIN
	}
	for {
		now := nanotime()
		if idle > 0 && (rdl == 0 || rdl-now < int64(idle)/2) {
			rdl = now + int64(idle)
			src.SetReadDeadline(time.Unix(0, rdl))
		}
		n, serr = 0, nil
		if err := srcRaw.Read(readFn); err != nil {
			if isTimeout(err) {
				if exp, dl := ts.expired(idle); !exp {
					rdl = dl.UnixNano()
					src.SetReadDeadline(dl)
					continue
				}
				ts.blame('c')
			} else {
				ts.blame(rb)
			}
			ts.closeBoth()
			return total
		}
		if serr != nil {
			ts.blame(rb)
			ts.closeBoth()
			return total
		}
		if n == 0 {
			dst.CloseWrite()
			return total
		}
		p.n += n
		ts.touch()
		for p.n > 0 {
			now := nanotime()
			if idle > 0 && (wdl == 0 || wdl-now < int64(idle)/2) {
				wdl = now + int64(idle)
				dst.SetWriteDeadline(time.Unix(0, wdl))
			}
			werr = nil
			if err := dstRaw.Write(writeFn); err != nil || werr != nil {
				if err != nil && isTimeout(err) {
					ts.blame('c')
				} else {
					ts.blame(wb)
				}
				ts.closeBoth()
				return total
			}
			p.n -= m
			total += int64(m)
			ts.touch()
		}
	}
}
