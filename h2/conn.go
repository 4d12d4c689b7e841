package h2

import (
	"bytes"
	"errors"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Role is which end of the connection lbd is.
type Role uint8

// The two roles.
const (
	RoleServer Role = iota // lbd serves a client's connection
	RoleClient             // lbd is the client of a server's connection
)

// Preface is the client connection preface (RFC 9113 §3.4).
const Preface = http2.ClientPreface

const frameHeaderLen = 9

// Handler receives a connection's events. Its methods are called from
// Feed (and Release, Close), with the caller's serialization held: they
// must not block and must not call back into the Conn except through the
// Stream's accessors.
type Handler interface {
	// Request is a new stream's validated request (server role); r is
	// valid during the call.
	Request(st *Stream, r *Request)
	// Response is a response head from the server (client role): interim
	// (1xx) ones first when there are any; r is valid during the call.
	Response(st *Stream, r *Response)
	// Data is body bytes of the stream, as sent; end is set on the last.
	Data(st *Stream, p []byte, end bool)
	// Trailers ends the stream's body with trailer fields, as HTTP/1.1
	// field lines ("name: value\r\n" each).
	Trailers(st *Stream, fields []byte)
	// Reset is the end of a stream before it completed: the peer reset
	// it, or lbd did (code and remote tell which), or the connection
	// failed. The stream still counts until Release.
	Reset(st *Stream, code ErrCode, remote bool)
	// Writable says a flow-control window grew: st's, or the
	// connection's when st is nil (every blocked stream may go on).
	Writable(st *Stream)
	// Refused reports a request that never became a stream (malformed,
	// over a limit) for logs and counters; why says what was wrong.
	Refused(id uint32, why string)
}

// Conn is one HTTP/2 connection's protocol state. It is not safe for
// concurrent use: the caller serializes every call.
type Conn struct {
	role Role
	cfg  Config
	h    Handler
	now  func() int64 // unix nanoseconds; replaceable in tests

	fio *frameIO // the Framer and its buffers; nil while released
	out []byte   // frames to send
	// OutLimit is how much output WriteH1 lets pile up before it stops
	// and lets the caller write it out. Default 64 KiB.
	OutLimit int

	dec  *hpack.Decoder
	encw blockWriter // header blocks being encoded (hpack_encode.go)
	hb   headerBlock // the header block being received

	// Scratch space that would escape, and be allocated at each use, if
	// it were local: content-length digits for the encoder, the message
	// handed to the Handler.
	digits [20]byte
	req    Request
	resp   Response

	// The peer's settings (RFC 9113 §6.5.2).
	peerMaxFrame      uint32
	peerInitWindow    int64
	peerMaxStreams    uint32
	peerMaxHeaderList uint32

	sendWindow  int64 // connection send window
	recvWindow  int64 // what the peer may still send on the connection
	recvUnacked int64 // consumed, not yet given back

	streams   map[uint32]*Stream
	active    uint32 // streams counted against MaxConcurrentStreams
	lastPeer  uint32 // highest stream identifier the peer opened
	nextLocal uint32 // client role: next stream identifier
	total     uint32 // streams the peer opened

	prefaceDone     bool // server: the client preface was read
	settingsSeen    bool // the peer's first frame, its SETTINGS, arrived
	unackedSettings int

	goawaySent     bool
	goawayLast     uint32 // the last stream identifier our GOAWAY allows
	goawayRecv     bool
	peerGoawayLast uint32

	glitches  uint32
	ctlTokens int64 // control frames the peer may send (glitch.go)
	ctlStamp  int64

	scheme []byte // :scheme of requests sent (client role)

	err *Error
}

// frameIO is a Framer with the reader and writer it is bound to. It is
// taken from a pool while the connection is busy and given back while it
// is idle, so that an idle connection holds no frame buffer.
type frameIO struct {
	fr  *http2.Framer
	in  frameSource
	out frameSink
}

// frameSource serves the bytes of one whole frame to the Framer.
type frameSource struct{ b []byte }

func (s *frameSource) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, errors.New("h2: frame source empty")
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// frameSink appends what the Framer writes to the connection's output.
type frameSink struct{ c *Conn }

func (s *frameSink) Write(p []byte) (int, error) {
	s.c.out = append(s.c.out, p...)
	return len(p), nil
}

var frameIOPool = sync.Pool{New: func() any {
	f := &frameIO{}
	f.fr = http2.NewFramer(&f.out, &f.in)
	f.fr.SetReuseFrames()
	return f
}}

// blockWriter collects what the HPACK encoder writes.
type blockWriter struct{ b []byte }

func (w *blockWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// NewConn returns a connection in role r. The server role waits for the
// client preface; both send their SETTINGS first (Output).
func NewConn(r Role, cfg Config, h Handler) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{
		role:           r,
		cfg:            cfg,
		h:              h,
		now:            func() int64 { return time.Now().UnixNano() },
		OutLimit:       64 << 10,
		peerMaxFrame:   minFrameSize,
		peerInitWindow: DefaultInitialWindowSize,
		peerMaxStreams: ^uint32(0),
		sendWindow:     DefaultInitialWindowSize,
		recvWindow:     DefaultInitialWindowSize,
		streams:        map[uint32]*Stream{},
		nextLocal:      1,
		scheme:         []byte("http"),
	}
	c.dec = hpack.NewDecoder(cfg.HeaderTableSize, c.onField)
	// A field longer than the list may be is decoded (then refused with
	// 431), up to twice that; longer ones end the connection.
	c.dec.SetMaxStringLength(2 * int(cfg.MaxHeaderListSize))
	c.ctlTokens = ctlBurst
	c.start()
	return c
}

// start queues the connection preface: the client's magic, then SETTINGS
// with our limits and a WINDOW_UPDATE that opens the connection window.
func (c *Conn) start() {
	if c.role == RoleClient {
		c.out = append(c.out, Preface...)
		c.prefaceDone = true
	}
	f := c.framer()
	settings := []http2.Setting{
		{ID: http2.SettingHeaderTableSize, Val: c.cfg.HeaderTableSize},
		{ID: http2.SettingMaxConcurrentStreams, Val: c.cfg.MaxConcurrentStreams},
		{ID: http2.SettingInitialWindowSize, Val: c.cfg.InitialWindowSize},
		{ID: http2.SettingMaxFrameSize, Val: c.cfg.MaxFrameSize},
		{ID: http2.SettingMaxHeaderListSize, Val: c.cfg.MaxHeaderListSize},
	}
	if c.role == RoleClient {
		settings = append(settings, http2.Setting{ID: http2.SettingEnablePush, Val: 0})
	}
	f.WriteSettings(settings...)
	c.unackedSettings++
	if w := int64(c.cfg.connWindow()); w > c.recvWindow {
		f.WriteWindowUpdate(0, uint32(w-c.recvWindow))
		c.recvWindow = w
	}
}

// framer returns the connection's Framer, taking one from the pool.
func (c *Conn) framer() *http2.Framer {
	if c.fio == nil {
		c.fio = frameIOPool.Get().(*frameIO)
		c.fio.out.c = c
		c.fio.fr.SetMaxReadFrameSize(c.cfg.MaxFrameSize)
	}
	return c.fio.fr
}

// Idle gives back the buffers an idle connection does not need (the
// Framer). It is for a connection with nothing buffered, between frames.
func (c *Conn) Idle() {
	if c.fio != nil && !c.hb.active {
		c.fio.out.c = nil
		c.fio.in.b = nil
		frameIOPool.Put(c.fio)
		c.fio = nil
	}
	if cap(c.encw.b) > 4096 {
		c.encw.b = nil
	}
	if len(c.out) == 0 && cap(c.out) > 0 {
		c.out = nil
	}
}

// Output returns the bytes to write, and forgets them: spare (which may
// be nil) becomes the output buffer, so two buffers can take turns.
func (c *Conn) Output(spare []byte) []byte {
	b := c.out
	c.out = spare[:0]
	return b
}

// Pending is how many bytes wait in the output.
func (c *Conn) Pending() int { return len(c.out) }

// Err is why the connection ended, nil while it goes on.
func (c *Conn) Err() *Error { return c.err }

// Active is how many streams count against the concurrency limit.
func (c *Conn) Active() int { return int(c.active) }

// Streams is how many streams are open.
func (c *Conn) Streams() int { return len(c.streams) }

// GoingAway reports whether either side has sent GOAWAY.
func (c *Conn) GoingAway() bool { return c.goawaySent || c.goawayRecv }

// Glitches is the count of glitches so far.
func (c *Conn) Glitches() uint32 { return c.glitches }

// Feed processes the whole frames at the start of b and returns how many
// bytes it consumed; the rest (an incomplete frame) is to be fed again
// with more bytes after it. A non-nil error ends the connection: the
// GOAWAY saying why is in the output.
func (c *Conn) Feed(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n := 0
	if !c.prefaceDone {
		k := min(len(b), len(Preface))
		if !bytes.Equal(b[:k], []byte(Preface[:k])) {
			return 0, c.fail(ErrCodeProtocol, "not the HTTP/2 connection preface")
		}
		if k < len(Preface) {
			return 0, nil
		}
		c.prefaceDone = true
		n = k
	}
	fr := c.framer()
	for c.err == nil {
		rest := b[n:]
		if len(rest) < frameHeaderLen {
			break
		}
		length := uint32(rest[0])<<16 | uint32(rest[1])<<8 | uint32(rest[2])
		if length > c.cfg.MaxFrameSize {
			// RFC 9113 §4.2: a frame larger than advertised; it may be a
			// HEADERS frame whose block cannot be skipped, so always a
			// connection error.
			c.failLimit(ErrCodeFrameSize, "frame of "+itoa(int64(length))+" bytes", "max_frame_size")
			break
		}
		end := frameHeaderLen + int(length)
		if len(rest) < end {
			break
		}
		if !c.settingsSeen && rest[3] != byte(http2.FrameSettings) {
			// RFC 9113 §3.4: the preface is followed by SETTINGS.
			c.fail(ErrCodeProtocol, "the connection preface was not followed by SETTINGS")
			break
		}
		c.fio.in.b = rest[:end]
		f, err := fr.ReadFrame()
		n += end
		if err != nil {
			c.readError(err, rest[3], rest[5:9])
			continue
		}
		c.dispatch(f)
	}
	return n, errOrNil(c.err)
}

func errOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

// readError handles what the Framer refused in a frame.
func (c *Conn) readError(err error, typ byte, idb []byte) {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		if http2.FrameType(typ) == http2.FrameHeaders || http2.FrameType(typ) == http2.FrameData {
			// Bad padding: RFC 9113 §6.1, §6.2 make it a connection
			// error, and a header block that cannot be read would leave
			// the HPACK state behind.
			c.fail(ErrCodeProtocol, "padding longer than the frame")
			return
		}
		c.resetStream(se.StreamID, se.Code, "invalid "+http2.FrameType(typ).String()+" frame")
	case errors.As(err, &ce):
		why := "invalid " + http2.FrameType(typ).String() + " frame"
		if d := c.fio.fr.ErrorDetail(); d != nil {
			why = d.Error()
		}
		c.fail(ErrCode(ce), why)
	default:
		// A frame too short for its mandatory fields (RFC 9113 §4.2).
		c.fail(ErrCodeFrameSize, "truncated "+http2.FrameType(typ).String()+" frame")
	}
}

// dispatch applies one frame.
func (c *Conn) dispatch(f http2.Frame) {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		c.onSettings(f)
	case *http2.HeadersFrame:
		c.onHeaders(f)
	case *http2.ContinuationFrame:
		c.onContinuation(f)
	case *http2.DataFrame:
		c.onData(f)
	case *http2.WindowUpdateFrame:
		c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		c.onRSTStream(f)
	case *http2.PingFrame:
		c.onPing(f)
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PriorityFrame:
		c.spendControl("PRIORITY")
		// RFC 9113 §5.3.2: priority signals are accepted and ignored, but
		// a stream cannot depend on itself (§5.3.1).
		if f.StreamDep == f.StreamID {
			c.resetStream(f.StreamID, ErrCodeProtocol, "stream depends on itself")
		}
	case *http2.PushPromiseFrame:
		// We never enable push: a server that pushes, or a client that
		// sends PUSH_PROMISE at all, breaks RFC 9113 §8.4.
		c.fail(ErrCodeProtocol, "PUSH_PROMISE")
	default:
		// Unknown frame types are ignored (RFC 9113 §4.1, §5.5).
	}
}

func (c *Conn) onSettings(f *http2.SettingsFrame) {
	if f.IsAck() {
		if c.unackedSettings == 0 {
			c.glitch("SETTINGS ack without SETTINGS")
			return
		}
		c.unackedSettings--
		return
	}
	if c.settingsSeen {
		c.spendControl("SETTINGS")
	}
	c.settingsSeen = true
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingEnablePush:
			if c.role == RoleClient && s.Val != 0 {
				return http2.ConnectionError(ErrCodeProtocol)
			}
		case http2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = s.Val
		case http2.SettingInitialWindowSize:
			return c.setPeerInitialWindow(int64(s.Val))
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		case http2.SettingMaxHeaderListSize:
			c.peerMaxHeaderList = s.Val
		}
		return nil
	})
	if err != nil {
		var ce http2.ConnectionError
		code := ErrCodeProtocol
		if errors.As(err, &ce) {
			code = ErrCode(ce)
		}
		c.fail(code, "invalid SETTINGS: "+err.Error())
		return
	}
	c.framer().WriteSettingsAck()
}

// setPeerInitialWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE to the
// send window of every stream (RFC 9113 §6.9.2).
func (c *Conn) setPeerInitialWindow(v int64) error {
	delta := v - c.peerInitWindow
	c.peerInitWindow = v
	for _, st := range c.streams {
		st.sendWindow += delta
		if st.sendWindow > maxWindow {
			return http2.ConnectionError(ErrCodeFlowControl)
		}
		if delta > 0 {
			c.h.Writable(st)
		}
	}
	return nil
}

func (c *Conn) onPing(f *http2.PingFrame) {
	if f.IsAck() {
		return
	}
	c.spendControl("PING")
	c.framer().WritePing(true, f.Data)
}

func (c *Conn) onGoAway(f *http2.GoAwayFrame) {
	c.goawayRecv = true
	c.peerGoawayLast = f.LastStreamID
	if c.role == RoleClient {
		// Streams the server will not process may be retried elsewhere
		// (RFC 9113 §6.8).
		for id, st := range c.streams {
			if id > f.LastStreamID {
				c.closeStream(st, ErrCodeRefusedStream, true)
			}
		}
	}
	if f.ErrCode != ErrCodeNo {
		c.err = &Error{Code: f.ErrCode, Reason: string(f.DebugData()), Remote: true}
		c.resetAll(f.ErrCode)
	}
}

func (c *Conn) onWindowUpdate(f *http2.WindowUpdateFrame) {
	c.spendControl("WINDOW_UPDATE")
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if c.sendWindow+inc > maxWindow {
			c.fail(ErrCodeFlowControl, "connection window over 2^31-1")
			return
		}
		c.sendWindow += inc
		c.h.Writable(nil)
		return
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if c.idle(f.StreamID) {
			c.fail(ErrCodeProtocol, "WINDOW_UPDATE on an idle stream")
		}
		return // closed: ignored (RFC 9113 §6.9)
	}
	if st.sendWindow+inc > maxWindow {
		c.resetStream(st.ID, ErrCodeFlowControl, "stream window over 2^31-1")
		return
	}
	st.sendWindow += inc
	c.h.Writable(st)
}

func (c *Conn) onRSTStream(f *http2.RSTStreamFrame) {
	st := c.streams[f.StreamID]
	if st == nil {
		if c.idle(f.StreamID) {
			c.fail(ErrCodeProtocol, "RST_STREAM on an idle stream")
		}
		return
	}
	if c.role == RoleServer && !st.replied {
		// The client gave up on a request before any answer: a rapid
		// reset, when it is done over and over (CVE-2023-44487).
		if c.glitch("stream reset before its response (rapid reset)") {
			return
		}
	}
	c.closeStream(st, f.ErrCode, true)
}

// idle reports whether id names a stream the peer has not opened yet.
func (c *Conn) idle(id uint32) bool {
	if c.role == RoleServer {
		return id%2 == 1 && id > c.lastPeer || id%2 == 0
	}
	return id%2 == 1 && id >= c.nextLocal || id%2 == 0
}

// fail ends the connection with GOAWAY.
func (c *Conn) fail(code ErrCode, why string) error {
	return c.failLimit(code, why, "")
}

func (c *Conn) failLimit(code ErrCode, why, limit string) error {
	if c.err != nil {
		return c.err
	}
	c.err = &Error{Code: code, Reason: why, Limit: limit}
	last := c.lastPeer
	if c.goawaySent && c.goawayLast < last {
		last = c.goawayLast
	}
	c.framer().WriteGoAway(last, code, []byte(why))
	c.goawaySent = true
	c.goawayLast = last
	c.resetAll(code)
	return c.err
}

// resetAll tells the handler that every stream is gone.
func (c *Conn) resetAll(code ErrCode) {
	for _, st := range c.streams {
		c.closeStream(st, code, false)
	}
}

// Close ends the connection from our side (GOAWAY with code), for a
// caller that gives up on it (timeouts).
func (c *Conn) Close(code ErrCode, why string) {
	c.fail(code, why)
}

// GoAway starts a graceful shutdown (RFC 9113 §6.8): no new stream after
// the last one received; those in progress finish.
func (c *Conn) GoAway() {
	if c.goawaySent || c.err != nil {
		return
	}
	c.goawaySent = true
	c.goawayLast = c.lastPeer
	if c.role == RoleClient {
		c.goawayLast = 0 // we accept no stream from a server
	}
	c.framer().WriteGoAway(c.goawayLast, ErrCodeNo, nil)
}

// SetTLS makes requests say :scheme https (client role).
func (c *Conn) SetTLS(tls bool) {
	if tls {
		c.scheme = []byte("https")
	} else {
		c.scheme = []byte("http")
	}
}

// Ping sends a PING (a client role keepalive).
func (c *Conn) Ping(data [8]byte) { c.framer().WritePing(false, data) }

// MaxFrameSize is the largest frame payload accepted.
func (c *Conn) MaxFrameSize() uint32 { return c.cfg.MaxFrameSize }

// Done reports whether a connection that is going away has no stream left.
func (c *Conn) Done() bool {
	return c.err != nil || (c.goawaySent || c.goawayRecv) && c.active == 0 && len(c.streams) == 0
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
