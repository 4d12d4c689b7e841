package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"strings"

	"lbd/tlsconf"
)

// The TLS start of a client connection: the engine reads the ClientHello
// itself first (tlsconf.ParseClientHello) so that a connection that is not
// TLS (plain HTTP to a TLS port, a malformed hello) is closed with the
// reason logged, and so that a tcp frontend can route by server name
// without terminating (passthrough: the hello and everything after it go
// to the server untouched). A terminating bind then hands the bytes read
// to crypto/tls for the handshake, bounded by handshake_timeout.

// startTLS runs before a session serves anything. It returns false when
// the connection must close (logged).
func (s *session) startTLS() bool {
	b := s.ln.tls.Load()
	ft := s.fe.tls
	if b == nil && (ft == nil || len(ft.routes) == 0) {
		return true // clear text, no routing by server name
	}
	t0 := nanotime()
	timeout := s.fe.t.Client
	if b != nil {
		timeout = b.timeout
	}
	s.cli.readDeadline(t0 + int64(timeout))
	hello, reason := s.readHello()
	if hello == nil {
		s.logTLSFailure(t0, reason, "")
		return false
	}
	s.hello = hello
	if b == nil {
		return true // passthrough: the hello stays buffered for the server
	}
	tr := newTLSTransport(s.cli.c, s.cli.data())
	s.cli.release()
	tc := tls.Server(tr, b.srv.Config())
	if err := tc.Handshake(); err != nil {
		s.logTLSFailure(t0, handshakeReason(err), hello.ServerName)
		return false
	}
	t := &tlsConn{tc: tc, tr: tr, bind: b}
	t.takeFacts(nanotime() - t0)
	s.cli.sys.tls = t
	s.cli.rdl = -1 // crypto/tls set deadlines through the transport
	return true
}

// readHello reads the ClientHello into the client buffer; nil and the
// reason when the bytes are not one.
func (s *session) readHello() (*tlsconf.Hello, string) {
	for {
		if s.cli.buffered() > 0 {
			h, err := tlsconf.ParseClientHello(s.cli.data())
			if err == nil {
				return h, ""
			}
			var he *tlsconf.HelloError
			if errors.As(err, &he) {
				return nil, he.Reason
			}
		}
		if _, err := s.cli.fill(); err != nil {
			switch {
			case isTimeout(err):
				return nil, "handshake timeout: no complete ClientHello"
			case errors.Is(err, errBufferFull):
				return nil, "ClientHello larger than the buffer"
			case errors.Is(err, io.EOF) && s.cli.buffered() == 0:
				return nil, "closed by the client before any byte"
			case errors.Is(err, io.EOF):
				return nil, "closed by the client in the middle of its ClientHello"
			}
			return nil, "read error: " + err.Error()
		}
	}
}

// handshakeReason words a failed handshake for the log.
func handshakeReason(err error) string {
	switch {
	case isTimeout(err):
		return "handshake timeout"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by the client during the handshake"
	case errors.Is(err, tlsconf.ErrNoCertificate):
		return "no certificate for the server name (strict_sni)"
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "tls: ")
	return msg
}

// logTLSFailure logs a connection closed before or during its handshake:
// one access-log line with the reason (termination state CR, or cR for a
// timeout, as HAProxy's for a request that never came).
func (s *session) logTLSFailure(t0 int64, reason, sni string) {
	ev := s.e.access.Info()
	if ev == nil {
		return
	}
	term := "CR"
	if strings.Contains(reason, "timeout") {
		term = "cR"
	}
	var b [64]byte
	ev = ev.Bytes("client", s.peer.AppendTo(b[:0])).
		Str("frontend", s.fe.name).
		Str("bind", s.ln.addr).
		Int64("Th", (nanotime()-t0)/1e6).
		Str("termination_state", term).
		Str("tls_error", reason)
	if sni != "" {
		ev = ev.Str("ssl_fc_sni", sni)
	}
	ev.Msg("")
}

// tcpBackend is the backend of a tcp connection: the first SNI route
// matching the server name, else the default backend (nil: none).
func (s *session) tcpBackend(fe *frontend) *backend {
	if fe.tls == nil || len(fe.tls.routes) == 0 {
		return fe.defaultBE
	}
	sni := ""
	if t := s.cli.sys.tls; t != nil {
		sni = t.sni
	} else if s.hello != nil {
		sni = s.hello.ServerName
	}
	for i := range fe.tls.routes {
		if fe.tls.routes[i].match(sni) {
			return fe.tls.routes[i].be
		}
	}
	return fe.defaultBE
}

// logNoTCPBackend logs a tcp connection no SNI route took and that has no
// default backend.
func (s *session) logNoTCPBackend() {
	sni := ""
	if s.hello != nil {
		sni = s.hello.ServerName
	}
	s.logTLSFailure(s.accepted, "no route for server name \""+sni+"\" and no default_backend", sni)
}

// handshakeMs is the TLS handshake time for the access log's Th: on the
// first request of a connection only, as HAProxy's.
func (s *session) handshakeMs() int64 {
	if t := s.cli.sys.tls; t != nil && s.reqs == 0 {
		return t.hsNanos / 1e6
	}
	return 0
}
