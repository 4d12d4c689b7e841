package peers

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"lbd/sticktable"
)

// Timing of the link.
var (
	FlushEvery  = 50 * time.Millisecond  // how often changed entries are sent
	Heartbeat   = time.Second            // sent when nothing else was
	ReadTimeout = 5 * time.Second        // a link silent this long is dead
	RedialEvery = 500 * time.Millisecond // after a failed dial or a broken link
	DialTimeout = 2 * time.Second
)

const (
	tEntries   = 1
	tHeartbeat = 2
	tSynced    = 3
)

// Config is a peers block as the link needs it.
type Config struct {
	Name   string
	Bind   string // where this node listens
	Peer   string // the other node's bind
	Secret []byte
}

// Tables gives the tables that name the peers block, read at each use
// (a reload may replace them).
type Tables func() []*sticktable.Table

// Stats are the link's counters.
type Stats struct {
	Name         string `json:"name"`
	Peer         string `json:"peer"`
	Connected    bool   `json:"connected"` // our connection to the peer is up
	Connects     uint64 `json:"connects"`
	Sent         uint64 `json:"entries_sent"`
	Received     uint64 `json:"entries_received"`
	Resyncs      uint64 `json:"full_resyncs_sent"`
	AuthFailures uint64 `json:"auth_failures"`
}

// Link runs a peers block: the listener and the connection to the peer.
type Link struct {
	cfg    Config
	tables Tables
	log    zerolog.Logger
	ln     net.Listener
	seen   replays
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}

	connected                                      atomic.Bool
	connects, sent, received, resyncs, authFailure atomic.Uint64
	warned                                         sync.Map // table names whose layout differs, logged once
}

// Start listens on cfg.Bind and starts dialing cfg.Peer.
func Start(cfg Config, tables Tables, log zerolog.Logger) (*Link, error) {
	ln, err := listen(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("peers %q: %w", cfg.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Link{cfg: cfg, tables: tables, log: log.With().Str("peers", cfg.Name).Logger(), ln: ln, cancel: cancel, conns: map[net.Conn]struct{}{}}
	l.wg.Add(2)
	go l.accept(ctx)
	go l.dialLoop(ctx)
	l.log.Info().Str("bind", cfg.Bind).Str("peer", cfg.Peer).Msg("peers: listening, pushing to the peer")
	return l, nil
}

// Config is the link's configuration.
func (l *Link) Config() Config { return l.cfg }

// Close stops the link.
func (l *Link) Close() {
	l.cancel()
	l.ln.Close()
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// Stats reads the counters.
func (l *Link) Stats() Stats {
	return Stats{Name: l.cfg.Name, Peer: l.cfg.Peer, Connected: l.connected.Load(), Connects: l.connects.Load(),
		Sent: l.sent.Load(), Received: l.received.Load(), Resyncs: l.resyncs.Load(), AuthFailures: l.authFailure.Load()}
}

func (l *Link) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Link) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	c.Close()
}

func (l *Link) accept(ctx context.Context) {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.log.Error().Err(err).Msg("peers: accept failed")
			time.Sleep(100 * time.Millisecond)
			continue
		}
		l.track(c)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.untrack(c)
			l.receive(c)
		}()
	}
}

// receive applies what the peer pushes on c.
func (l *Link) receive(c net.Conn) {
	c.SetDeadline(time.Now().Add(ReadTimeout))
	s, err := acceptHello(c, l.cfg.Secret, l.cfg.Name, time.Now(), &l.seen)
	if err != nil {
		if errors.Is(err, ErrAuth) {
			l.authFailure.Add(1)
		}
		l.log.Warn().Err(err).Str("from", c.RemoteAddr().String()).Msg("peers: connection refused")
		return
	}
	c.SetWriteDeadline(time.Time{})
	l.log.Info().Str("from", c.RemoteAddr().String()).Msg("peers: the peer connected")
	br := bufio.NewReaderSize(c, 64<<10)
	var buf []byte
	var total int
	start := time.Now()
	for {
		c.SetReadDeadline(time.Now().Add(ReadTimeout))
		p, err := s.readFrame(br, buf)
		if err != nil {
			l.log.Info().Err(err).Str("from", c.RemoteAddr().String()).Msg("peers: the peer's connection ended")
			return
		}
		buf = p[:0]
		switch p[0] {
		case tEntries:
			n, err := l.apply(p[1:])
			total += n
			l.received.Add(uint64(n))
			if err != nil {
				l.log.Warn().Err(err).Msg("peers: bad entries from the peer")
				return
			}
		case tSynced:
			l.log.Info().Int("entries", total).Dur("took", time.Since(start)).Msg("peers: full resynchronisation from the peer received")
		case tHeartbeat:
		default:
			l.log.Warn().Int("type", int(p[0])).Msg("peers: unknown frame type")
			return
		}
	}
}

// apply stores an entries frame: table name, layout, entries.
func (l *Link) apply(p []byte) (int, error) {
	if len(p) < 1 || len(p) < 1+int(p[0])+1 {
		return 0, errors.New("truncated entries frame")
	}
	name := string(p[1 : 1+p[0]])
	p = p[1+p[0]:]
	if len(p) < 1+int(p[0]) {
		return 0, errors.New("truncated entries frame")
	}
	layout := string(p[1 : 1+p[0]])
	p = p[1+p[0]:]
	var t *sticktable.Table
	for _, x := range l.tables() {
		if x.Name() == name {
			t = x
		}
	}
	if t == nil || t.Layout() != layout {
		if _, dup := l.warned.LoadOrStore(name+"|"+layout, true); !dup {
			ev := l.log.Warn().Str("table", name).Str("peer_layout", layout)
			if t != nil {
				ev = ev.Str("layout", t.Layout())
			}
			ev.Msg("peers: the peer sends a table this node does not share alike (same name, type and store in both files); ignored")
		}
		return 0, nil
	}
	return t.Apply(p)
}

// dialLoop keeps a connection to the peer and pushes on it.
func (l *Link) dialLoop(ctx context.Context) {
	defer l.wg.Done()
	failures := 0
	for ctx.Err() == nil {
		d := net.Dialer{Timeout: DialTimeout}
		c, err := d.DialContext(ctx, "tcp", l.cfg.Peer)
		if err == nil {
			if !l.track(c) {
				c.Close()
				return
			}
			failures = 0
			err = l.push(ctx, c)
			l.untrack(c)
			l.connected.Store(false)
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		if failures == 1 || failures%60 == 0 {
			l.log.Warn().Err(err).Str("peer", l.cfg.Peer).Msg("peers: cannot push to the peer; retrying")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(RedialEvery):
		}
	}
}

// push authenticates, sends every entry, then the changes.
func (l *Link) push(ctx context.Context, c net.Conn) error {
	c.SetDeadline(time.Now().Add(ReadTimeout))
	s, err := dialHello(c, l.cfg.Secret, l.cfg.Name, time.Now())
	if err != nil {
		if errors.Is(err, ErrAuth) {
			l.authFailure.Add(1)
		}
		return err
	}
	c.SetDeadline(time.Time{})
	l.connected.Store(true)
	l.connects.Add(1)
	bw := bufio.NewWriterSize(c, 64<<10)
	var out []byte
	payload := make([]byte, 0, sticktable.Batch+512)
	write := func(p []byte) error {
		out = s.appendFrame(out[:0], p)
		c.SetWriteDeadline(time.Now().Add(ReadTimeout))
		_, err := bw.Write(out)
		return err
	}
	sendTable := func(t *sticktable.Table, all bool) (int, error) {
		n := 0
		head := func() []byte {
			b := append(payload[:0], tEntries, byte(len(t.Name())))
			b = append(b, t.Name()...)
			b = append(b, byte(len(t.Layout())))
			return append(b, t.Layout()...)
		}
		emit := func(entries []byte) error {
			n += countEntries(t, entries)
			return write(append(head(), entries...))
		}
		if all {
			return n, t.All(emit)
		}
		return n, t.Drain(emit)
	}
	// Full resynchronisation: what changed meanwhile is sent after.
	start, total := time.Now(), 0
	for _, t := range l.tables() {
		if _, err := sendTable(t, false); err != nil {
			return err
		}
		n, err := sendTable(t, true)
		total += n
		if err != nil {
			return err
		}
	}
	var cnt [9]byte
	cnt[0] = tSynced
	binary.BigEndian.PutUint64(cnt[1:], uint64(total))
	if err := write(cnt[:]); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	l.sent.Add(uint64(total))
	l.resyncs.Add(1)
	l.log.Info().Int("entries", total).Dur("took", time.Since(start)).Msg("peers: connected to the peer, full resynchronisation sent")

	// Changes, and heartbeats. A read in the background notices the
	// peer closing (it never sends on this connection).
	dead := make(chan struct{})
	go func() {
		var b [1]byte
		c.SetReadDeadline(time.Time{})
		_, _ = c.Read(b[:])
		close(dead)
	}()
	tk := time.NewTicker(FlushEvery)
	defer tk.Stop()
	idle := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-dead:
			return errors.New("the peer closed the connection")
		case <-tk.C:
		}
		sent := 0
		for _, t := range l.tables() {
			n, err := sendTable(t, false)
			sent += n
			if err != nil {
				return err
			}
		}
		if sent == 0 && time.Since(idle) >= Heartbeat {
			if err := write([]byte{tHeartbeat}); err != nil {
				return err
			}
			sent = -1
		}
		if sent != 0 {
			idle = time.Now()
			l.sent.Add(uint64(max(sent, 0)))
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// countEntries counts the entries of an encoded batch (for the logs and
// counters; the receiver checks them).
func countEntries(t *sticktable.Table, b []byte) int {
	n := 0
	vs := t.ValuesSize()
	for len(b) > 0 {
		k := 1 + int(b[0]) + 4 + vs
		if k > len(b) {
			break
		}
		b = b[k:]
		n++
	}
	return n
}
