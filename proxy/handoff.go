package proxy

import (
	"context"
	"fmt"
	"os"
)

// A seamless binary upgrade hands the listening sockets from the running
// process to its successor, as HAProxy's master-worker does (-x): the
// successor accepts on the very sockets the kernel already queues
// connections on, so none is refused, and the predecessor finishes the
// connections it has. The sockets are passed as descriptors, by bind
// address.

// ListenerFiles returns a duplicate descriptor of every listening socket,
// by bind address, for a successor process. The caller closes them.
func (e *Engine) ListenerFiles() (map[string]*os.File, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	files := map[string]*os.File{}
	for addr, l := range e.listeners {
		f, err := l.ln.File()
		if err != nil {
			for _, o := range files {
				o.Close()
			}
			return nil, fmt.Errorf("proxy: %s: %w", addr, err)
		}
		files[addr] = f
	}
	return files, nil
}

// Inherit gives the engine the listening sockets a predecessor handed over,
// by bind address, before its first Apply: a configured address with one
// uses it instead of binding. Those the configuration no longer binds are
// closed by CloseInherited.
func (e *Engine) Inherit(files map[string]*os.File) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inherited = files
}

// takeInherited returns, and forgets, the inherited socket of addr.
func (e *Engine) takeInherited(addr string) *os.File {
	f := e.inherited[addr]
	delete(e.inherited, addr)
	return f
}

// CloseInherited closes the inherited sockets no frontend took.
func (e *Engine) CloseInherited() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for addr, f := range e.inherited {
		f.Close()
		delete(e.inherited, addr)
	}
}

// Retire is Shutdown for a process whose successor serves now: it stops
// accepting and lets the connections end on their own: a request in
// progress is answered with Connection: close, a kept-alive connection is
// closed after its next request, a tunnel runs until it ends. ctx's end
// (global.grace) closes what is left. So no idle connection is closed
// under a client that may be sending on it at that moment, as Shutdown's
// immediate close of idle connections would risk.
func (e *Engine) Retire(ctx context.Context) error { return e.shutdown(ctx, false) }

// StopAccepting closes this process's listening sockets once a successor
// accepts on its own copies: connections already accepted go on, and
// those still in the kernel's queue are the successor's.
func (e *Engine) StopAccepting() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.listeners {
		l.stop()
	}
}
