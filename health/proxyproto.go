package health

import (
	"net"
	"net/netip"

	"lbd/proxyproto"
)

// Health checks with the PROXY protocol (a server's send_proxy or
// check_send_proxy, config.Server.CheckProxyVersion): a server that
// expects the header on every connection refuses checks without it. As
// HAProxy's checks: v2 sends a LOCAL header (the connection is the
// checker's own), v1 a TCP4/TCP6 line with the check connection's own
// addresses (the specification's advice for health checks, §2.1).

// proxyOut returns what a check writes first: the PROXY header (if the
// server wants one) and the check's own bytes, in p.out, reused check
// after check. local is the check connection's source address (v1).
func (p *netProber) proxyOut(local, remote netip.AddrPort) []byte {
	switch p.proxyV {
	case 0:
		return p.send
	case 1:
		p.out = proxyproto.AppendV1(p.out[:0], local, remote)
	default:
		p.out = proxyproto.AppendV2Local(p.out[:0])
	}
	return append(p.out, p.send...)
}

// connProxyOut is proxyOut for a connection of the standard library.
func (p *netProber) connProxyOut(c net.Conn) []byte {
	if p.proxyV != 1 {
		return p.proxyOut(netip.AddrPort{}, netip.AddrPort{})
	}
	return p.proxyOut(addrPortOf(c.LocalAddr()), addrPortOf(c.RemoteAddr()))
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}
