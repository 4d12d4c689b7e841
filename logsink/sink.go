// Package logsink sends log lines where operators read them: syslog over
// UDP (RFC 5426) or a unix datagram socket such as /dev/log, framed as RFC
// 3164 or RFC 5424 messages the way HAProxy frames them, or raw lines to
// stdout/stderr. Several targets may be configured, each with its own
// facility and levels, as HAProxy's global "log" lines.
//
// A log target must never slow traffic down: a line is handed over with a
// non-blocking send into the target's bounded queue, and a writer
// goroutine per target puts it on the wire. When the queue is full (the
// receiver is slow, the socket buffer full) or the target is gone (no
// /dev/log, ICMP port unreachable), lines are dropped and counted; a gone
// target is dialled again at most once a second. What is sent and dropped
// shows in the metrics (lbd_log_lines_total, lbd_log_dropped_total).
//
// Framing, as HAProxy 2.6 writes it (and rsyslog, journald and halog read
// it):
//
//	rfc3164: <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG        (RFC 3164 section 4.1, no HOSTNAME)
//	rfc5424: <PRI>1 TIMESTAMP - TAG PID - - MSG        (RFC 5424 section 6)
//	raw:     MSG
//
// each followed by a line feed; PRI is facility*8 + severity (RFC 5424
// section 6.2.1). The receiver adds the host name, as with HAProxy.
package logsink

import (
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"lbd/config"
)

// queueLen bounds the lines waiting for one target. At 50,000 lines a
// second it is about 80 ms of logs: enough to ride out a scheduling hiccup
// of the writer, small enough not to hold memory for a receiver that is
// gone.
const queueLen = 4096

// entry is one line waiting in a target's queue.
type entry struct {
	sev int
	msg []byte
}

var entries = sync.Pool{New: func() any { return &entry{msg: make([]byte, 0, 512)} }}

// Target is one live log destination.
type Target struct {
	cfg    config.LogTarget
	name   string // the label, for metrics (unique within a Set)
	pri    int    // facility << 3
	maxSev int    // least severe severity sent (level)
	minSev int    // most severe severity sent (min_level)
	tag    string
	pid    string

	q    chan *entry
	stop chan struct{}
	done chan struct{}

	sent, dropped atomic.Uint64
}

// newTarget starts a target's writer.
func newTarget(cfg config.LogTarget, name, tag string) *Target {
	t := &Target{
		cfg:    cfg,
		name:   name,
		pri:    max(config.FacilityCode(cfg.Facility), 0) << 3,
		maxSev: config.LevelCode(cfg.Level),
		minSev: max(config.LevelCode(cfg.MinLevel), 0),
		tag:    tag,
		pid:    strconv.Itoa(os.Getpid()),
		q:      make(chan *entry, queueLen),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go t.run()
	return t
}

// Wants reports whether a line of severity sev goes to this target.
func (t *Target) Wants(sev int) bool { return sev >= t.minSev && sev <= t.maxSev }

// Send queues msg (one line, no line end) at severity sev. It never
// blocks: a full queue drops the line and counts it.
func (t *Target) Send(sev int, msg []byte) {
	if !t.Wants(sev) {
		return
	}
	e := entries.Get().(*entry)
	e.sev = sev
	e.msg = append(e.msg[:0], msg...)
	select {
	case t.q <- e:
	default:
		t.dropped.Add(1)
		entries.Put(e)
	}
}

// close stops the writer after it has written what is queued (bounded by
// a short wait: a target that is gone does not hold a reload).
func (t *Target) close() {
	close(t.stop)
	select {
	case <-t.done:
	case <-time.After(500 * time.Millisecond):
	}
}

// run writes queued lines until close.
func (t *Target) run() {
	defer close(t.done)
	var (
		w        writer
		buf      = make([]byte, 0, t.cfg.Len+1)
		nextDial time.Time
	)
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	write := func(e *entry) {
		defer entries.Put(e)
		if w == nil && time.Now().After(nextDial) {
			var err error
			if w, err = dial(t.cfg.Address); err != nil {
				w = nil
				nextDial = time.Now().Add(time.Second)
			}
		}
		if w == nil {
			t.dropped.Add(1)
			return
		}
		now := time.Now()
		buf = t.frame(buf[:0], e.sev, e.msg, now)
		if c, ok := w.(net.Conn); ok {
			// A receiver that does not drain its socket must not hold
			// the writer (nor a reload waiting for it) for long.
			_ = c.SetWriteDeadline(now.Add(time.Second))
		}
		if _, err := w.Write(buf); err != nil {
			t.dropped.Add(1)
			if !isTransient(t.cfg.Address.Network, err) {
				w.Close()
				w = nil
				nextDial = time.Now().Add(time.Second)
			}
			return
		}
		t.sent.Add(1)
	}
	for {
		select {
		case e := <-t.q:
			write(e)
		case <-t.stop:
			for {
				select {
				case e := <-t.q:
					write(e)
				default:
					return
				}
			}
		}
	}
}

// writer is a connected datagram socket or a standard stream.
type writer interface {
	Write([]byte) (int, error)
	Close() error
}

type stdStream struct{ f *os.File }

func (s stdStream) Write(b []byte) (int, error) { return s.f.Write(b) }
func (s stdStream) Close() error                { return nil }

func dial(a config.LogAddress) (writer, error) {
	switch a.Network {
	case "stdout":
		return stdStream{os.Stdout}, nil
	case "stderr":
		return stdStream{os.Stderr}, nil
	case "unixgram":
		return net.DialUnix("unixgram", nil, &net.UnixAddr{Name: a.Addr, Net: "unixgram"})
	}
	ua, err := net.ResolveUDPAddr("udp", a.Addr)
	if err != nil {
		return nil, err
	}
	return net.DialUDP("udp", nil, ua)
}

// isTransient reports write errors after which the socket stays usable:
// a full socket buffer or a write that timed out, and on UDP an ICMP
// error reported for an earlier datagram (the receiver may come back). A
// unix socket whose receiver went away must be dialled again: the
// receiver (rsyslog, journald) makes a new socket when it restarts.
func isTransient(network string, err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EAGAIN) {
		return true
	}
	return network == "udp" && errors.Is(err, syscall.ECONNREFUSED)
}
