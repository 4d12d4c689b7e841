package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"
)

// listener is one bound address. It outlives reloads that keep its
// address; each reload points it at the new frontend.
type listener struct {
	e      *Engine
	addr   string
	ln     *net.TCPListener
	fe     atomic.Pointer[frontend]
	tls    atomic.Pointer[tlsBind] // TLS terminated on this address; nil in clear
	closed atomic.Bool
	done   chan struct{}
	rc     syscall.RawConn // the listening socket's, to look at its accept queue
	// accepting is 1 from the accept until the session is registered: a
	// quiet wait sees the connection in the accept queue, here, or among
	// the sessions (and looks twice: quiesce.go).
	accepting atomic.Int32
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
	var tl *net.TCPListener
	if f := e.takeInherited(addr); f != nil {
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("inherited socket of %s: %w", addr, err)
		}
		var ok bool
		if tl, ok = ln.(*net.TCPListener); !ok {
			ln.Close()
			return nil, fmt.Errorf("inherited socket of %s is not TCP", addr)
		}
	} else {
		// No TCP keep-alive probes on accepted connections (Go's default
		// costs four system calls an accept): as HAProxy without option
		// clitcpka, the client and keep-alive timeouts bound a silent
		// client. An inherited socket (above) cannot be told so
		// (net.FileListener): its connections keep Go's 15 s probes.
		lc := net.ListenConfig{Control: freebind, KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), network, addr)
		if err != nil {
			return nil, err
		}
		tl = ln.(*net.TCPListener)
	}
	l := &listener{e: e, addr: addr, ln: tl, done: make(chan struct{})}
	if l.rc, err = tl.SyscallConn(); err != nil {
		tl.Close()
		return nil, err
	}
	return l, nil
}

// serve points the listener at fe, with TLS terminated as tls says (nil:
// in clear), and has the kernel defer accepts as fe wants (set at each
// reload: a listener's frontend changes only then).
func (l *listener) serve(fe *frontend, tls *tlsBind) {
	l.tls.Store(tls)
	l.fe.Store(fe)
	secs := 0
	if fe.deferAccept {
		secs = 1 // the kernel's wait for a silent client, rounded up to its SYN-ACK retries
	}
	var err error
	if cerr := l.rc.Control(func(fd uintptr) { err = setDeferAccept(fd, secs) }); cerr != nil {
		err = cerr
	}
	if err != nil {
		l.e.log.Warn().Err(err).Str("bind", l.addr).Msg("cannot set TCP_DEFER_ACCEPT: connections are accepted at once")
	}
}

func (l *listener) start() { go l.acceptLoop() }

// stop closes the socket; connections already accepted go on.
func (l *listener) stop() {
	if l.closed.CompareAndSwap(false, true) {
		close(l.done)
		l.ln.Close()
	}
}

// acceptLoop accepts, then takes a global and a frontend slot for the
// connection, waiting for them past maxconn: the clients after it wait in
// the kernel's backlog, and one accepted connection per listener waits
// here with them. Slots are taken after the accept, not before, so that a
// listener waiting for clients holds none that another listener's client
// could use, and costs no look at its accept queue (poll(2)) each time.
func (l *listener) acceptLoop() {
	e := l.e
	var delay time.Duration
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
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
		l.accepting.Store(1)
		if !e.global.acquire(l.done) {
			l.accepting.Store(0)
			c.Close()
			return
		}
		// A reload while this loop waited for a slot may have changed the
		// frontend's settings (default backend, timeouts): the connection
		// gets the ones in force when it has its slots.
		fe := l.fe.Load()
		lim := fe.st.lim
		if !lim.acquire(l.done) {
			e.global.release()
			l.accepting.Store(0)
			c.Close()
			return
		}
		// Its slot stays on the limiter it holds, the same one unless the
		// bind moved to another frontend meanwhile.
		if cur := l.fe.Load(); cur != fe && cur.st.lim == lim {
			fe = cur
		}
		fe.st.total.Add(1)
		e.startSession(l, fe, lim, c)
		l.accepting.Store(0)
	}
}

// drainListener wakes the idle keep-alive connections of a removed
// listener so that they close; busy ones close after their request. What
// is still open after grace (global.grace: long downloads, tcp sessions,
// WebSockets, which have no "after the request") is closed then, as on
// stop, rather than living on until timeouts.tunnel.
func (e *Engine) drainListener(l *listener, grace time.Duration) {
	e.kickIdle(l)
	time.AfterFunc(grace, func() {
		if n := e.kill(l); n > 0 {
			e.log.Warn().Str("bind", l.addr).Int("connections", n).
				Msg("grace period over: closing the removed listener's connections")
		}
	})
}

// freePort stops the running listeners on addr's port that the reload
// being applied removes (not in want), so that addr can be bound; their
// connections go on. It returns them for rebind.
func (e *Engine) freePort(addr string, want map[string]*frontend) []*listener {
	port := portOf(addr)
	var out []*listener
	for a, l := range e.listeners {
		if _, kept := want[a]; kept || portOf(a) != port || l.closed.Load() {
			continue
		}
		l.stop()
		e.log.Info().Str("bind", a).Str("for", addr).Msg("listener removed by the reload closed first: its port is bound again")
		out = append(out, l)
	}
	return out
}

// rebind puts back listeners freePort stopped, when the reload fails.
func (e *Engine) rebind(ls []*listener) {
	for _, old := range ls {
		l, err := e.listen(old.addr)
		if err != nil {
			e.log.Error().Err(err).Str("bind", old.addr).Msg("rollback: cannot bind again")
			delete(e.listeners, old.addr)
			continue
		}
		l.serve(old.fe.Load(), old.tls.Load())
		e.listeners[old.addr] = l
		l.start()
	}
}

func portOf(addr string) uint16 {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0
	}
	return ap.Port()
}
