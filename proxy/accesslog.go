package proxy

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/rs/zerolog"

	"lbd/accesslog"
	"lbd/config"
	"lbd/h1"
	"lbd/tlsconf"
)

// The access log: one line per HTTP request or tcp connection. The proxy
// fills an accesslog.Record with what HAProxy's httplog and tcplog carry
// (timers, termination state, connection and queue counts, captured
// headers) and the frontend's format writes it (package accesslog): the
// JSON form goes to the process logger (stderr and the syslog targets),
// the text forms (httplog, tcplog, log-format) to the access output the
// appliance sets, its log targets (stderr without any).
//
// Timers are milliseconds, -1 for a phase not reached: Th handshake (0,
// lbd has no TLS handshake yet), Ti idle before the request, TR request
// head, Tw queue, Tc connect, Tr server response head, Ta active time
// (Tt minus Th and Ti), Tt the whole stream (http: since the previous
// request ended, as HAProxy's stream; tcp: since the accept).

func ms(from, to int64) int64 {
	if from == 0 || to == 0 {
		return -1
	}
	if to < from {
		return 0
	}
	return (to - from) / 1e6
}

// AccessOutput takes the text access lines (line has room for a line
// feed); logsink.Set is one.
type AccessOutput interface {
	Access(line []byte)
}

// SetAccessOutput sets where text access lines go; call it before Apply.
// Without one they are dropped (JSON lines go to the logger).
func (e *Engine) SetAccessOutput(o AccessOutput) { e.accessOut = o }

// frontendLog is a frontend's access-log settings.
type frontendLog struct {
	off      bool // access_log = false
	format   *accesslog.Format
	req      []capture
	resp     []capture
	capTotal int // bytes the captures of one request and response may hold
	reqTotal int // of which the request's
	// addresses the format prints, looked up only then (%fi %fp, %si %sp)
	listener, server bool
}

// capture is one "capture request/response header".
type capture struct {
	name []byte
	len  int
}

// jsonLog is the access log of a frontend without settings (tests).
var jsonLog = func() *frontendLog {
	f, _ := accesslog.New("json", nil, nil)
	return &frontendLog{format: f}
}()

func newFrontendLog(fc *config.Frontend) (*frontendLog, error) {
	var reqNames, respNames []string
	fl := &frontendLog{off: !fc.AccessLog}
	for _, c := range fc.CaptureRequestHeaders {
		reqNames = append(reqNames, c.Name)
		fl.req = append(fl.req, capture{[]byte(c.Name), c.Len})
		fl.capTotal += c.Len
		fl.reqTotal += c.Len
	}
	for _, c := range fc.CaptureResponseHeaders {
		respNames = append(respNames, c.Name)
		fl.resp = append(fl.resp, capture{[]byte(c.Name), c.Len})
		fl.capTotal += c.Len
	}
	f, err := accesslog.New(fc.LogFormat, reqNames, respNames)
	if err != nil {
		return nil, fmt.Errorf("proxy: frontend %q: log_format: %w", fc.Name, err)
	}
	fl.format = f
	fl.listener, fl.server = f.NeedsAddresses()
	return fl, nil
}

func (s *exchange) flog() *frontendLog {
	if s.fe.log == nil {
		return jsonLog
	}
	return s.fe.log
}

// captureState holds a transaction's captured header values.
type captureState struct {
	req, resp [][]byte
	buf       []byte // the values: the request's region, then the response's
}

func (c *captureState) reset() captureState {
	return captureState{req: c.req[:0], resp: c.resp[:0], buf: c.buf}
}

// captureHeaders keeps the values of the captured headers of m (the last
// occurrence of each, as HAProxy), cut to their len, in the region of the
// capture buffer that starts at off (each capture has len bytes there).
func (t *txn) captureHeaders(fl *frontendLog, m *h1.Head, caps []capture, dst *[][]byte, off int) {
	if len(t.cap.buf) < fl.capTotal {
		t.cap.buf = make([]byte, fl.capTotal) // once per pooled txn and size
	}
	*dst = (*dst)[:0]
	for _, c := range caps {
		var v []byte
		found := false
		for i := range m.Fields {
			f := &m.Fields[i]
			if bytes.EqualFold(m.Bytes(f.Name), c.name) {
				v, found = m.Bytes(f.Value), true
			}
		}
		if !found {
			*dst = append(*dst, nil)
		} else {
			n := copy(t.cap.buf[off:off+c.len], v)
			*dst = append(*dst, t.cap.buf[off:off+n:off+n])
		}
		off += c.len
	}
}

// captureRequest and captureResponse run when a head is parsed.
func (s *exchange) captureRequest(t *txn) {
	t.parsed = true
	if fl := s.fe.log; fl != nil && len(fl.req) > 0 {
		t.captureHeaders(fl, &t.req, fl.req, &t.cap.req, 0)
	}
}

func (s *exchange) captureResponse(t *txn) {
	if fl := s.fe.log; fl != nil && len(fl.resp) > 0 {
		t.captureHeaders(fl, &t.resp, fl.resp, &t.cap.resp, fl.reqTotal)
	}
}

// logState is a transaction's access-log record and line buffer: they
// live in the pooled txn, so that a line costs no allocation.
type logState struct {
	r    accesslog.Record
	ev   *zerolog.Event // the JSON form's event; nil for a text form
	line []byte
}

// logStart returns t's record to fill, nil when nothing is logged (access
// log off, or the JSON form below log_level).
func (s *exchange) logStart(fl *frontendLog, t *txn) *logState {
	if fl.off || t.pol.logLevel == 1 { // set_log_level silent (policy.go)
		return nil
	}
	var ev *zerolog.Event
	if fl.format.JSON() {
		if ev = t.accessEvent(&s.e.access); ev == nil {
			return nil
		}
	}
	lr := &t.log
	lr.ev = ev
	return lr
}

// fill writes what both kinds of line carry into r.
func (s *exchange) fill(r *accesslog.Record, fl *frontendLog, t *txn) {
	r.Client = s.peer
	r.Frontend = s.fe.name
	if t.be != nil {
		r.Backend = t.be.name
		r.BeConn = t.be.st.cur.Load()
		if t.be.cookie != nil {
			r.Cookie = t.cookieState()
		}
	}
	if t.srv != nil && t.tC0 != 0 {
		r.ServerName = t.srv.name
		r.SrvConn = t.srv.cur()
		if fl.server {
			r.Server, _ = netip.ParseAddrPort(t.srv.address())
		}
	}
	if fl.listener && s.session.cli.c != nil {
		r.Listener = s.dst() // the client connection's (an HTTP/2 stream's is its connection's)
	}
	r.BytesRead, r.BytesUploaded = t.bytesOut, t.bytesIn
	r.Term = t.term
	r.ActConn = s.e.actconn.Load()
	r.FeConn = s.fst.cur.Load()
	r.Retries, r.Redispatched = t.retries, t.redisp
	r.SrvQueue, r.BackendQueue = t.srvQueue, t.beQueue
	r.ReqHeaders, r.RespHeaders = t.cap.req, t.cap.resp
	s.session.tlsFacts(r)
}

// tlsFacts fills r's TLS facts from the client connection (an HTTP/2
// stream's are its connection's).
func (s *session) tlsFacts(r *accesslog.Record) {
	if t := s.cli.sys.tls; t != nil {
		r.TLS, r.TLSResumed, r.SNI = true, t.resumed, t.sni
		r.TLSVersion, r.TLSCipher = tlsconf.VersionName(t.version), tlsconf.SuiteName(t.suite)
	} else if s.hello != nil {
		r.SNI = s.hello.ServerName
	}
}

// cookieState is HAProxy's persistence cookie state (%tsc's 3rd and 4th
// characters): what the request carried and what the response did.
func (t *txn) cookieState() [2]byte {
	var st [2]byte
	switch {
	case !t.ck.found:
		st[0] = 'N'
	case t.ck.expired:
		st[0] = 'E'
	case !t.ck.valid:
		st[0] = 'I'
	case t.direct:
		st[0] = 'V'
	default:
		st[0] = 'D' // a valid cookie for a server that could not take it
	}
	st[1] = 'N'
	if t.ckSet != 0 {
		st[1] = t.ckSet
	}
	return st
}

func (s *exchange) logHTTP(t *txn) {
	fl := s.flog()
	lr := s.logStart(fl, t)
	if lr == nil {
		return
	}
	r := &lr.r
	r.HTTP = true
	s.fill(r, fl, t)
	r.Accept, r.Request = t.tIdle, t.tFirst
	r.Status = t.status
	if r.Status == 0 {
		r.Status = -1
	}
	r.Tw = ms(t.tQ0, t.tQ1)
	if t.tQ0 == 0 && t.tHead != 0 && t.tC0 != 0 {
		r.Tw = 0
	}
	r.Tr = -1
	if t.tC1 != 0 && t.tResp != 0 {
		r.Tr = ms(t.tC1, t.tResp)
	}
	// A connection's first request counts its TLS handshake in Th, not
	// in Ti (HAProxy: Tt = Th + Ti + TR + Tw + Tc + Tr + Td).
	r.Th = s.handshakeMs()
	r.Ti, r.TR = max(ms(t.tIdle, t.tFirst)-r.Th, 0), ms(t.tFirst, t.tHead)
	r.Tc, r.Ta, r.Tt = ms(t.tC0, t.tC1), ms(t.tFirst, t.tEnd), ms(t.tIdle, t.tEnd)
	r.RequestLine = t.reqLine
	r.Refused = !t.parsed
	s.emit(fl, lr)
}

func (s *exchange) logTCP(t *txn) {
	fl := s.flog()
	lr := s.logStart(fl, t)
	if lr == nil {
		return
	}
	r := &lr.r
	s.fill(r, fl, t)
	r.Accept = s.accepted
	r.Status = -1
	r.Ti, r.TR, r.Tr, r.Ta = -1, -1, -1, -1
	r.Tw, r.Tc, r.Tt = ms(t.tQ0, t.tQ1), ms(t.tC0, t.tC1), ms(s.accepted, t.tEnd)
	r.Assigned = -1
	if t.tQ1 != 0 {
		r.Assigned = ms(s.accepted, t.tQ1)
	} else if t.tC0 != 0 {
		r.Assigned = ms(s.accepted, t.tC0)
	}
	s.emit(fl, lr)
}

// emit writes the record in the frontend's format and recycles it.
func (s *exchange) emit(fl *frontendLog, lr *logState) {
	if lr.ev != nil {
		fl.format.Event(lr.ev, &lr.r).Msg("")
	} else if o := s.e.accessOut; o != nil {
		if lr.line == nil {
			lr.line = make([]byte, 0, 1024) // once per pooled txn
		}
		lr.line = fl.format.Append(lr.line[:0], &lr.r)
		o.Access(lr.line)
	}
	lr.r, lr.ev = accesslog.Record{}, nil
}
