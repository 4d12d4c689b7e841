package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// listener is one bound address. It outlives reloads that keep its
// address; each reload points it at the new frontend.
type listener struct {
	e      *Engine
	addr   string
	ln     *net.TCPListener
	fe     atomic.Pointer[frontend]
	closed atomic.Bool
	done   chan struct{}
}

// listen binds addr ("ip:port"). IPv4 addresses listen on IPv4 only, as
// HAProxy does; "[::]:port" is dual-stack.
func (e *Engine) listen(addr string) (*listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	network := "tcp4"
	if ap.Addr().Is6() {
		network = "tcp6"
		if ap.Addr().IsUnspecified() {
			network = "tcp"
		}
	}
	lc := net.ListenConfig{Control: freebind}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	return &listener{e: e, addr: addr, ln: ln.(*net.TCPListener), done: make(chan struct{})}, nil
}

func (l *listener) start() { go l.acceptLoop() }

// stop closes the socket; connections already accepted go on.
func (l *listener) stop() {
	if l.closed.CompareAndSwap(false, true) {
		close(l.done)
		l.ln.Close()
	}
}

// acceptLoop takes a global and a frontend slot before each accept, so
// that past maxconn clients wait in the kernel backlog.
func (l *listener) acceptLoop() {
	e := l.e
	var delay time.Duration
	for {
		if !e.global.acquire(l.done) {
			return
		}
		fe := l.fe.Load()
		lim := fe.st.lim
		if !lim.acquire(l.done) {
			e.global.release()
			return
		}
		c, err := l.ln.AcceptTCP()
		if err != nil {
			lim.release()
			e.global.release()
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or similar: back off as net/http.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			e.log.Warn().Err(err).Str("bind", l.addr).Dur("retry_in", delay).Msg("accept failed")
			select {
			case <-time.After(delay):
			case <-l.done:
				return
			}
			continue
		}
		delay = 0
		fe.st.total.Add(1)
		e.startSession(l, fe, lim, c)
	}
}

// drainListener wakes the idle keep-alive connections of a removed
// listener so that they close; busy ones close after their request.
func (e *Engine) drainListener(l *listener) { e.kickIdle(l) }
