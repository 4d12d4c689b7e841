//go:build linux

package proxy

import (
	"time"

	"golang.org/x/sys/unix"
)

// canSplice: bulk tunnel directions move with splice(2) through a pipe,
// never through user space.
const canSplice = true

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

// spliceRest is pump's bulk mode: the same rules, with splice. A pipe is
// held only while bytes are in flight.
func spliceRest(dst, src *endpoint, ts *tunnelState, idle time.Duration, rb, wb byte) int64 {
	var p *kpipe
	defer func() {
		if p != nil {
			putPipe(p)
		}
	}()
	var total int64
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
		src.armRead(now, idle)
		n, serr = 0, nil
		if err := src.sys.rc.Read(readFn); err != nil {
			if isTimeout(err) {
				if exp, dl := ts.expired(idle); !exp {
					src.readDeadline(dl)
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
			dst.c.CloseWrite()
			return total
		}
		p.n += n
		ts.touch(now)
		for p.n > 0 {
			dst.armWrite(nanotime(), idle)
			werr = nil
			if err := dst.sys.rc.Write(writeFn); err != nil || werr != nil {
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
		}
	}
}
