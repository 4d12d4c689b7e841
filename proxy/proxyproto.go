package proxy

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"lbd/proxyproto"
)

// The PROXY protocol on both sides of the engine (package proxyproto).
//
// Clients: a frontend with accept_proxy reads the header before anything
// else (before TLS too) from the networks it lists; the client address it
// carries replaces the connection's peer for everything after: logs,
// X-Forwarded-For, conditions, stick tables and source balancing. A
// connection from another network, a malformed header, or one that does
// not arrive within the timeout is closed with one access-log line.
//
// Servers: a server with send_proxy gets the header before the first byte
// of every new connection. Such a connection speaks for one client: it is
// never put in the idle pool other sessions draw from (HAProxy marks them
// private), only kept by its own session between requests.

// readProxyHeader runs first on a session of a frontend with accept_proxy.
// It returns false when the connection must close (logged).
func (s *session) readProxyHeader() bool {
	ap := s.fe.acceptProxy
	if ap == nil {
		return true
	}
	if !ap.Allowed(s.peer.Addr()) {
		s.logProxyFailure("source not allowed to send a PROXY protocol header")
		return false
	}
	s.cli.readDeadline(s.accepted + int64(ap.Timeout))
	for {
		if s.cli.buffered() > 0 {
			h, n, err := proxyproto.Parse(s.cli.data())
			if err == nil {
				s.cli.consume(n)
				if h.HasAddrs() {
					s.peer = h.Src
					s.viaProxy = true
					s.dstAddr = h.Dst
				}
				return true
			}
			var pe *proxyproto.Error
			if errors.As(err, &pe) {
				s.logProxyFailure(pe.Error())
				return false
			}
		}
		if _, err := s.cli.fill(); err != nil {
			switch {
			case isTimeout(err):
				s.logProxyFailure("timeout waiting for the PROXY protocol header")
			case errors.Is(err, errBufferFull):
				s.logProxyFailure("PROXY protocol header too large")
			default:
				s.logProxyFailure("closed before the end of the PROXY protocol header")
			}
			return false
		}
	}
}

// logProxyFailure writes the access-log line of a connection closed for
// its PROXY protocol header (termination state PR: the proxy refused it
// while reading the request, as HAProxy's for a bad header).
func (s *session) logProxyFailure(reason string) {
	s.e.proxyRefused.Add(1)
	ev := s.e.access.Info()
	if ev == nil {
		return
	}
	var b [64]byte
	ev.Bytes("client", s.peer.AppendTo(b[:0])).
		Str("frontend", s.fe.name).
		Str("bind", s.ln.addr).
		Str("termination_state", "PR").
		Str("error", reason).
		Msg("connection refused")
}

// dst is the address the client reached: the PROXY header's destination,
// else the connection's local address.
func (s *session) dst() netip.AddrPort {
	if !s.dstAddr.IsValid() {
		if ta, ok := s.cli.c.LocalAddr().(*net.TCPAddr); ok {
			if a, ok := netip.AddrFromSlice(ta.IP); ok {
				s.dstAddr = netip.AddrPortFrom(a.Unmap(), uint16(ta.Port))
			}
		}
	}
	return s.dstAddr
}

// sendProxyHeader writes the PROXY protocol header to a new server
// connection of a server with send_proxy, and makes the connection
// private to this session.
func (s *session) sendProxyHeader(u *upConn, now int64, to time.Duration) error {
	v := u.srv.sendProxy.Load()
	if u.h2 != nil {
		return nil // HTTP/2 connections carry many clients: config refuses send_proxy there
	}
	if v == 0 {
		return u.finishTLS() // tls_upstream.go (send_proxy removed by a reload since the dial)
	}
	var b [proxyproto.MaxV1]byte
	var h []byte
	if v == 1 {
		h = proxyproto.AppendV1(b[:0], s.peer, s.dst())
	} else {
		h = proxyproto.AppendV2(b[:0], s.peer, s.dst())
	}
	u.private = true
	if err := u.ep.write(h, now, to); err != nil {
		return err
	}
	return u.finishTLS() // tls_upstream.go: TLS starts after the header
}

// proxyVersion maps a server's send_proxy to the version sent.
func proxyVersion(v string) int32 {
	switch v {
	case "v1":
		return 1
	case "v2":
		return 2
	}
	return 0
}

// ProxyRefused is the number of client connections closed for their
// PROXY protocol header (not allowed, malformed or late).
func (e *Engine) ProxyRefused() uint64 { return e.proxyRefused.Load() }

// flushClient sends the server the client bytes already read (what
// followed a PROXY protocol header, or what tcp_request content rules
// inspected) before the tunnel starts copying.
func (s *session) flushClient(srv *endpoint, to time.Duration) error {
	if s.cli.buffered() == 0 {
		return nil
	}
	if err := srv.write(s.cli.data(), nanotime(), to); err != nil {
		return err // kept for a retry on another connection
	}
	s.cli.consume(s.cli.buffered())
	s.cli.releaseIfEmpty()
	return nil
}
