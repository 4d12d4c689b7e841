package proxy

import (
	"errors"

	"lbd/rules"
	"lbd/tlsconf"
)

// tcp_request rules: "connection" rules run as soon as a connection is
// accepted (after its PROXY protocol header, before anything else is
// read); "content" rules run on tcp frontends before a server is chosen,
// once the client's first bytes are there (the TLS ClientHello when a
// rule reads the server name) or inspect_delay has passed. A reject
// closes the connection: silently for connection rules (HAProxy logs
// nothing for them; lbd counts them in the frontend's denied
// connections), with an access-log line (termination state PR) for
// content rules.

// connectionPolicy runs the tcp_request "connection" rules; false when
// the connection must close.
func (s *session) connectionPolicy() bool {
	p := s.fe.pol
	if p == nil || len(p.TCPConn) == 0 {
		return true
	}
	t := getTxn()
	defer putTxn(t)
	c := &t.pol.rc
	c.Src, c.Dst = s.peer, s.dst()
	c.Counters = t.counters()
	t.pol.sess = s
	if r := p.RunTCP(c, p.TCPConn, t); r != nil && r.Action == rules.Reject {
		s.fst.deniedConn.Add(1)
		return false
	}
	return true
}

// contentPolicy runs the tcp_request "content" rules of a tcp frontend;
// false when the connection was rejected (and logged).
func (s *exchange) contentPolicy(t *txn) bool {
	t.stickRequest(s.session, false)
	p := s.fe.pol
	if p == nil || len(p.TCPContent) == 0 {
		return true
	}
	c := &t.pol.rc
	c.Src, c.Dst = s.peer, s.dst()
	c.Counters = t.counters()
	t.pol.sess = s.session
	s.policyTLSFacts(c)
	if p.NeedsHello && !c.TLS && s.hello == nil {
		if h := s.peekHello(p); h != nil {
			c.SNI = append(c.SNI[:0], h.ServerName...)
		}
	}
	r := p.RunTCP(c, p.TCPContent, t)
	if r == nil || r.Action != rules.Reject {
		return true
	}
	s.fst.deniedConn.Add(1)
	t.setTerm('P', 'R')
	t.tEnd = nanotime()
	s.logTCP(t)
	return false
}

// peekHello waits up to inspect_delay for the client's ClientHello and
// parses it; the bytes stay buffered for the server. nil when the client
// sent no ClientHello (not TLS, or not in time).
func (s *exchange) peekHello(p *rules.Program) *tlsconf.Hello {
	s.cli.readDeadline(s.accepted + int64(p.InspectDelay))
	defer s.cli.readDeadline(0)
	for {
		if s.cli.buffered() > 0 {
			h, err := tlsconf.ParseClientHello(s.cli.data())
			if err == nil {
				return h
			}
			if !errors.Is(err, tlsconf.ErrNeedMore) {
				return nil
			}
		}
		if p.InspectDelay <= 0 {
			return nil
		}
		if _, err := s.cli.fillInPlace(); err != nil {
			return nil
		}
	}
}

// policyTLSFacts gives conditions the connection's TLS facts: terminated by
// lbd (ssl_fc, the server name, the client certificate), or the server
// name of a ClientHello read without terminating.
func (s *session) policyTLSFacts(c *rules.Ctx) {
	if t := s.cli.sys.tls; t != nil {
		c.TLS = true
		c.SNI = append(c.SNI[:0], t.sni...)
		c.ClientCertUsed = t.state != nil && len(t.state.PeerCertificates) > 0
		c.ClientVerify = 0 // crypto/tls lets only verified certificates through
		return
	}
	if s.hello != nil {
		c.SNI = append(c.SNI[:0], s.hello.ServerName...)
	}
}
