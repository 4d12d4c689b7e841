package logsink

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/stats"
)

// Set is the process's log targets, replaced as a whole by Apply (start,
// reload) while lines keep flowing: senders read the current list
// through an atomic pointer and never wait for Apply.
type Set struct {
	cur    atomic.Pointer[[]*Target]
	mu     sync.Mutex // serializes Apply
	stderr io.Writer  // text access lines without targets; nil: dropped
}

// SetStderr sets where text access lines go while there is no log target
// (the daemon's stderr, which journald reads). Set it before lines flow.
func (s *Set) SetStderr(w io.Writer) { s.stderr = w }

// NewSet returns a Set without targets.
func NewSet() *Set {
	s := &Set{}
	s.cur.Store(&[]*Target{})
	return s
}

// Targets returns the current targets.
func (s *Set) Targets() []*Target { return *s.cur.Load() }

// Apply makes g's log targets current. A target whose settings are
// unchanged keeps its socket and its queue; removed ones finish writing
// what they hold. A target that cannot be reached is not an error: it
// drops its lines (counted) and is dialled again every second, as HAProxy
// keeps running without its log socket.
func (s *Set) Apply(g config.Global) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.Targets()
	reused := map[*Target]bool{}
	next := make([]*Target, 0, len(g.Logs))
	seen := map[string]int{}
	for _, lt := range g.Logs {
		name := lt.Target
		if n := seen[name]; n > 0 {
			name = fmt.Sprintf("%s#%d", lt.Target, n+1)
		}
		seen[lt.Target]++
		var t *Target
		for _, o := range old {
			if !reused[o] && o.name == name && o.tag == g.LogTag && sameTarget(o.cfg, *lt) {
				t = o
				break
			}
		}
		if t == nil {
			t = newTarget(*lt, name, g.LogTag)
		}
		reused[t] = true
		next = append(next, t)
	}
	s.cur.Store(&next)
	for _, o := range old {
		if !reused[o] {
			o.close()
		}
	}
}

// sameTarget compares what makes a target (not where the config file
// writes it).
func sameTarget(a, b config.LogTarget) bool {
	return a.Address == b.Address && a.Facility == b.Facility && a.Level == b.Level &&
		a.MinLevel == b.MinLevel && a.Format == b.Format && a.Len == b.Len && a.Target == b.Target
}

// Close stops every target.
func (s *Set) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.Targets() {
		t.close()
	}
	s.cur.Store(&[]*Target{})
}

// Stats returns each target's counters, in configuration order.
func (s *Set) Stats() []stats.Log {
	ts := s.Targets()
	out := make([]stats.Log, len(ts))
	for i, t := range ts {
		out[i] = stats.Log{Target: t.name, Sent: t.sent.Load(), Dropped: t.dropped.Load()}
	}
	return out
}

// Severity maps a zerolog level to a syslog severity (RFC 5424 section
// 6.2.1).
func Severity(l zerolog.Level) int {
	switch l {
	case zerolog.PanicLevel:
		return 0 // emerg
	case zerolog.FatalLevel:
		return 2 // crit
	case zerolog.ErrorLevel:
		return 3 // err
	case zerolog.WarnLevel:
		return 4 // warning
	case zerolog.DebugLevel, zerolog.TraceLevel:
		return 7 // debug
	}
	return 6 // info, and lines without a level
}

// The process's own logs (zerolog JSON lines) go to the syslog targets:
// Set is a zerolog.LevelWriter. Standard-stream targets do not take them:
// the process logs are on stderr already.
var _ zerolog.LevelWriter = (*Set)(nil)

// Write sends p as an info line.
func (s *Set) Write(p []byte) (int, error) { return s.WriteLevel(zerolog.InfoLevel, p) }

// WriteLevel sends one zerolog line to the syslog targets that take its
// level. It never blocks and never fails: logging must not stop the
// process.
func (s *Set) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	ts := s.Targets()
	if len(ts) == 0 {
		return len(p), nil
	}
	sev := Severity(l)
	msg := p
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	for _, t := range ts {
		if t.cfg.Address.Network == "udp" || t.cfg.Address.Network == "unixgram" {
			t.Send(sev, msg)
		}
	}
	return len(p), nil
}

// Access sends one text access-log line (HAProxy's httplog, tcplog or a
// custom format; severity info) to every target that takes it; without
// targets it goes to stderr, as lbd's access log always did, while
// log_level lets info lines through. line must have room for a line feed
// (cap > len) to be written to stderr without a copy.
func (s *Set) Access(line []byte) {
	ts := s.Targets()
	if len(ts) == 0 {
		if s.stderr != nil && zerolog.GlobalLevel() <= zerolog.InfoLevel {
			_, _ = s.stderr.Write(append(line, '\n'))
		}
		return
	}
	for _, t := range ts {
		t.Send(6, line)
	}
}
