package proxy

import (
	"crypto/tls"
	"time"

	"lbd/config"
	"lbd/tlsconf"
)

// TLS to servers (a backend's or server's tls block, HAProxy's server ...
// ssl): after the TCP connect, a handshake with the server's settings
// (verify against a CA file or the system roots, SNI fixed or the
// client's, a client certificate, ALPN), bounded by timeouts.connect. The
// connection then reads and writes through crypto/tls like a client
// connection does, and is kept alive and reused like a plain one; TLS
// sessions to each server are resumed (tlsconf.ClientOptions.Reuse). A
// connection whose SNI came from its client is not shared with other
// clients' requests: it is closed when its client goes idle.

// setServerTLS gives a server its TLS settings, at once for a server new
// to traffic, at commit for a running one; a change drops the idle
// connections made with the old settings.
func setServerTLS(s *server, sc *config.Server, running bool, commit *commitList) {
	var cl *tlsconf.Client
	if sc.TLS != nil {
		cl = tlsconf.NewClient(sc.TLS.Options)
	}
	if !running {
		s.tls.Store(cl)
		return
	}
	commit.add(func() {
		if old := s.tls.Swap(cl); old != nil || cl != nil {
			s.purgeIdle(0, true)
		}
	})
}

// clientSNI is the server name the client asked for, for servers whose
// SNI comes from the client.
func (s *session) clientSNI() string {
	if t := s.cli.sys.tls; t != nil {
		return t.sni
	}
	if s.hello != nil {
		return s.hello.ServerName
	}
	return ""
}

// pendingTLS is a handshake that waits for the PROXY protocol header,
// which goes first on the connection (HAProxy's order).
type pendingTLS struct {
	cl      *tlsconf.Client
	sni     string
	timeout time.Duration
}

// finishTLS runs a handshake dial left for after the PROXY header.
func (u *upConn) finishTLS() error {
	p := u.pendingTLS
	if p == nil {
		return nil
	}
	u.pendingTLS = nil
	return u.startTLS(p.cl, p.sni, p.timeout)
}

// startTLS completes the handshake on a new server connection.
func (u *upConn) startTLS(cl *tlsconf.Client, clientSNI string, timeout time.Duration) error {
	tr := newTLSTransport(u.ep.c, nil)
	tc := tls.Client(tr, cl.Config(clientSNI))
	t0 := nanotime()
	u.ep.c.SetDeadline(time.Now().Add(timeout))
	err := tc.Handshake()
	u.ep.c.SetDeadline(time.Time{})
	if err != nil {
		return err
	}
	t := &tlsConn{tc: tc, tr: tr}
	t.takeFacts(nanotime() - t0)
	u.ep.sys.tls = t
	u.ep.rdl, u.ep.wdl = 0, 0
	u.private = u.private || cl.SNI()
	return nil
}
