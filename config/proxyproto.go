package config

import (
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// AcceptProxy makes a frontend read a PROXY protocol header (v1 or v2,
// HAProxy's accept-proxy) before anything else on a connection, from the
// listed networks only: their connections must start with one, and
// connections from anywhere else are closed with a log line. The client
// address it carries is the one logs, X-Forwarded-For, conditions and
// balancing use.
type AcceptProxy struct {
	// From lists the networks (CIDRs; a bare address is one host) of the
	// proxies allowed to send the header. Required, at least one.
	From []netip.Prefix
	// Timeout bounds the arrival of the whole header. Default 3s.
	Timeout time.Duration

	rng blockRanges
}

var acceptProxySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "from", Required: true}, {Name: "timeout"}},
}

func (d *decoder) decodeAcceptProxy(blk *hcl.Block) *AcceptProxy {
	a := &AcceptProxy{Timeout: 3 * time.Second}
	b := d.body(d.content(blk, acceptProxySchema), blk.DefRange, &a.rng)
	b.prefixList("from", &a.From, true)
	if b.has("from") && a.From != nil && len(a.From) == 0 {
		d.errorf(a.rng.at("from"), "from: at least one network is required (the proxies allowed to send the header)")
	}
	for i, p := range a.From {
		a.From[i] = p.Masked()
	}
	b.duration("timeout", &a.Timeout, time.Millisecond, time.Hour)
	return a
}

// Allowed reports whether a connection from addr may (and so must) send
// the header.
func (a *AcceptProxy) Allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range a.From {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// decodeServerProxy reads a server's send_proxy and check_send_proxy
// (HAProxy's send-proxy, send-proxy-v2 and check-send-proxy).
func (d *decoder) decodeServerProxy(b body, s *Server) {
	b.str("send_proxy", &s.SendProxy)
	b.oneOf("send_proxy", s.SendProxy, "", "v1", "v2")
	if b.has("check_send_proxy") {
		v := false
		b.boolean("check_send_proxy", &v)
		s.CheckSendProxy = &v
	}
}

// CheckProxyVersion is the PROXY protocol version a server's health
// checks send, 0 for none. As HAProxy: checks send it when the traffic
// does and the check goes to the server's own port (no health_check
// port); check_send_proxy = true forces it (with the traffic's version,
// v1 when the traffic sends none), false turns it off.
func (s *Server) CheckProxyVersion(hc *HealthCheck) int {
	v := 0
	switch s.SendProxy {
	case "v1":
		v = 1
	case "v2":
		v = 2
	}
	if s.CheckSendProxy != nil {
		if !*s.CheckSendProxy {
			return 0
		}
		return max(v, 1)
	}
	if hc != nil && hc.Port != 0 {
		return 0
	}
	return v
}
