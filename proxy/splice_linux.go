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

// splicer moves bytes socket -> pipe -> socket for one tunnel direction.
type splicer struct {
	p      *kpipe
	n, m   int // bytes moved by the last fill and drain
	rerr   error
	werr   error
	fillFn func(uintptr) bool
	drnFn  func(uintptr) bool
}

// fill splices from the source socket into the pipe; false (EAGAIN) makes
// the netpoller wait for readability, with the pipe given back meanwhile.
func (sp *splicer) fill(fd uintptr) bool {
	if sp.p == nil {
		if sp.p, sp.rerr = getPipe(); sp.rerr != nil {
			return true
		}
	}
	for {
		k, err := unix.Splice(int(fd), nil, sp.p.w, nil, spliceChunk, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			if sp.p.n == 0 {
				putPipe(sp.p)
				sp.p = nil
			}
			return false
		}
		sp.n, sp.rerr = int(k), err
		return true
	}
}

// drain splices what the pipe holds to the destination socket.
func (sp *splicer) drain(fd uintptr) bool {
	for {
		k, err := unix.Splice(sp.p.r, nil, int(fd), nil, sp.p.n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return false
		}
		sp.m, sp.werr = int(k), err
		return true
	}
}

// spliceRest is pump's bulk mode: the same rules, with splice(2). A pipe is
// held only while bytes are in flight.
func spliceRest(dst, src *endpoint, ts *tunnelState, idle time.Duration, rb, wb byte) int64 {
	sp := &splicer{}
	sp.fillFn, sp.drnFn = sp.fill, sp.drain
	defer func() {
		if sp.p != nil {
			putPipe(sp.p)
		}
	}()
	var total int64
	for {
		now := nanotime()
		src.armRead(now, idle)
		sp.n, sp.rerr = 0, nil
		if err := src.sys.rc.Read(sp.fillFn); err != nil || sp.rerr != nil {
			// err is nil when the read failed with sp.rerr: not a timeout.
			if ts.readFailed(src, err, idle, rb) {
				continue
			}
			return total
		}
		if sp.n == 0 {
			dst.c.CloseWrite()
			return total
		}
		sp.p.n += sp.n
		ts.touch(now)
		for sp.p.n > 0 {
			dst.armWrite(nanotime(), idle)
			sp.m, sp.werr = 0, nil
			if err := dst.sys.rc.Write(sp.drnFn); err != nil || sp.werr != nil {
				ts.fail(err != nil && isTimeout(err), wb)
				return total
			}
			sp.p.n -= sp.m
			total += int64(sp.m)
		}
	}
}
