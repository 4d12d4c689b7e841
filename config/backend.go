package config

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Balance algorithms, as HAProxy names them.
var balanceAlgorithms = []string{
	"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hdr", "random",
}

var backendSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "mode"}, {Name: "balance"}, {Name: "hash_key"}, {Name: "hash_type"},
		{Name: "retries"}, {Name: "observe"}, {Name: "error_limit"}, {Name: "proto"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "cookie", LabelNames: []string{"name"}},
		{Type: "health_check"},
		{Type: "server", LabelNames: []string{"name"}},
		{Type: "timeouts"},
		{Type: "tls"},
		{Type: "stick_table"},
	},
}

func (d *decoder) decodeBackend(blk *hcl.Block, def Defaults) *Backend {
	be := &Backend{
		Name:       blk.Labels[0],
		Mode:       def.Mode,
		Balance:    "roundrobin",
		HashType:   "map-based",
		Retries:    3,
		ErrorLimit: 10,
		Timeouts:   def.Timeouts,
	}
	d.checkName(blk, "backend")
	c := d.content(blk, backendSchema)
	b := d.body(c, blk.DefRange, &be.rng)
	b.mode(&be.Mode)
	b.str("balance", &be.Balance)
	b.oneOf("balance", be.Balance, balanceAlgorithms...)
	b.str("hash_key", &be.HashKey)
	b.str("hash_type", &be.HashType)
	b.oneOf("hash_type", be.HashType, "map-based", "consistent")
	b.integer("retries", &be.Retries, 0, 100)
	b.str("observe", &be.Observe)
	b.oneOf("observe", be.Observe, "", "layer4", "layer7")
	b.integer("error_limit", &be.ErrorLimit, 1, 1_000_000)
	d.decodeTimeoutBlocks(c.Blocks, &be.Timeouts, "backend")
	if sb := d.single(c.Blocks, "stick_table"); sb != nil {
		be.StickTable = d.decodeStickTable(sb, be.Name)
	}

	switch be.Balance {
	case "url_param", "hdr":
		if be.HashKey == "" {
			d.errorf(be.rng.at("balance"), "balance %q needs hash_key (the %s to hash)", be.Balance,
				map[string]string{"url_param": "URL parameter", "hdr": "header name"}[be.Balance])
		}
	}
	if be.Mode == ModeTCP {
		switch be.Balance {
		case "uri", "url_param", "hdr":
			d.errorf(be.rng.at("balance"), "balance %q needs mode = \"http\" (backend %q is tcp)", be.Balance, be.Name)
		}
		if be.Observe == "layer7" {
			d.errorf(be.rng.at("observe"), "observe \"layer7\" needs mode = \"http\" (backend %q is tcp)", be.Name)
		}
	}

	if cb := d.single(c.Blocks, "cookie"); cb != nil {
		be.Cookie = d.decodeCookie(cb)
		if be.Mode == ModeTCP {
			d.errorf(cb.DefRange, "cookie persistence needs mode = \"http\" (backend %q is tcp)", be.Name)
		}
	}
	d.backendTLS = nil
	b.str("proto", &be.Proto)
	b.oneOf("proto", be.Proto, "", "h2")
	if be.Proto != "" && be.Mode == ModeTCP {
		d.errorf(be.rng.at("proto"), "proto %q needs mode = \"http\" (backend %q is tcp)", be.Proto, be.Name)
	}
	d.backendProto = be.Proto
	if tb := d.single(c.Blocks, "tls"); tb != nil {
		be.TLS = d.defaultServerTLS()
		d.decodeServerTLS(tb, be.TLS, false, d.dir)
		d.backendTLS = be.TLS
	}
	be.HealthCheck = defaultHealthCheck()
	if hb := d.single(c.Blocks, "health_check"); hb != nil {
		d.decodeHealthCheck(hb, be.HealthCheck)
	}

	names := map[string]*Server{}
	cookies := map[string]*Server{}
	for _, sub := range c.Blocks {
		if sub.Type != "server" {
			continue
		}
		s := d.decodeServer(sub)
		if prev, dup := names[s.Name]; dup {
			d.errorf(sub.DefRange, "duplicate server %q in backend %q; the first one is at line %d", s.Name, be.Name, prev.rng.block.Start.Line)
			continue
		}
		names[s.Name] = s
		if prev, dup := cookies[s.Cookie]; dup && be.Cookie != nil {
			d.errorf(s.rng.at("cookie"), "server %q: cookie value %q is already used by server %q", s.Name, s.Cookie, prev.Name)
		}
		cookies[s.Cookie] = s
		be.Servers = append(be.Servers, s)
		if s.Check && be.HealthCheck.Type == "grpc" && s.Proto != "h2" {
			d.errorf(be.HealthCheck.rng.at("type"), "health_check type \"grpc\" needs proto = \"h2\" (server %q speaks HTTP/1.1)", s.Name)
		}
	}
	return be
}

var cookieSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "mode"}, {Name: "indirect"}, {Name: "nocache"}, {Name: "httponly"},
		{Name: "secure"}, {Name: "maxidle"}, {Name: "maxlife"},
	},
}

func (d *decoder) decodeCookie(blk *hcl.Block) *Cookie {
	ck := &Cookie{
		Name:     blk.Labels[0],
		Mode:     "insert",
		Indirect: true,
		NoCache:  true,
		HTTPOnly: true,
		MaxIdle:  30 * time.Minute,
		MaxLife:  8 * time.Hour,
	}
	b := d.body(d.content(blk, cookieSchema), blk.DefRange, &ck.rng)
	if !isToken(ck.Name) {
		d.errorf(blk.LabelRanges[0], "cookie name %q is not a valid cookie name", ck.Name)
	}
	b.str("mode", &ck.Mode)
	b.oneOf("mode", ck.Mode, "insert", "prefix", "rewrite")
	b.boolean("indirect", &ck.Indirect)
	b.boolean("nocache", &ck.NoCache)
	b.boolean("httponly", &ck.HTTPOnly)
	b.boolean("secure", &ck.Secure)
	b.duration("maxidle", &ck.MaxIdle, 0, 365*24*time.Hour)
	b.duration("maxlife", &ck.MaxLife, 0, 365*24*time.Hour)
	return ck
}

var healthCheckSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "port"}, {Name: "method"}, {Name: "path"}, {Name: "host"},
		{Name: "expect_status"}, {Name: "expect_body"}, {Name: "send"}, {Name: "expect"},
		{Name: "interval"}, {Name: "fast_interval"}, {Name: "down_interval"},
		{Name: "timeout"}, {Name: "rise"}, {Name: "fall"}, {Name: "tls"}, {Name: "grpc_service"},
	},
}

func defaultHealthCheck() *HealthCheck {
	return &HealthCheck{
		Type:         "tcp",
		Method:       "GET",
		Path:         "/",
		ExpectStatus: []int{200},
		Interval:     2 * time.Second,
		FastInterval: time.Second,
		DownInterval: 5 * time.Second,
		Timeout:      time.Second,
		Rise:         2,
		Fall:         3,
	}
}

func (d *decoder) decodeHealthCheck(blk *hcl.Block, hc *HealthCheck) {
	b := d.body(d.content(blk, healthCheckSchema), blk.DefRange, &hc.rng)
	b.str("type", &hc.Type)
	b.oneOf("type", hc.Type, "tcp", "http", "tcp-check", "agent", "grpc")
	b.str("grpc_service", &hc.GRPCService)
	b.integer("port", &hc.Port, 0, 65535)
	b.str("method", &hc.Method)
	if !isToken(hc.Method) {
		d.errorf(hc.rng.at("method"), "method: %q is not an HTTP method", hc.Method)
	}
	b.str("path", &hc.Path)
	if !strings.HasPrefix(hc.Path, "/") || strings.ContainsAny(hc.Path, " \r\n\t") {
		d.errorf(hc.rng.at("path"), "path: %q must start with \"/\" and contain no blanks", hc.Path)
	}
	b.str("host", &hc.Host)
	if strings.ContainsAny(hc.Host, " \r\n\t/") {
		d.errorf(hc.rng.at("host"), "host: %q is not a host name", hc.Host)
	}
	b.statusList("expect_status", &hc.ExpectStatus)
	if hc.Type == "http" && len(hc.ExpectStatus) == 0 {
		d.errorf(hc.rng.at("expect_status"), "expect_status: at least one status is required")
	}
	b.str("expect_body", &hc.ExpectBody)
	b.str("send", &hc.Send)
	b.str("expect", &hc.Expect)
	const lo, hi = 10 * time.Millisecond, time.Hour
	b.duration("interval", &hc.Interval, lo, hi)
	b.duration("fast_interval", &hc.FastInterval, lo, hi)
	b.duration("down_interval", &hc.DownInterval, lo, hi)
	b.duration("timeout", &hc.Timeout, lo, hi)
	b.integer("rise", &hc.Rise, 1, 1000)
	b.integer("fall", &hc.Fall, 1, 1000)
	if b.has("tls") {
		var on bool
		b.boolean("tls", &on)
		hc.TLS = &on
	}
	switch hc.Type {
	case "tcp-check":
		if hc.Send == "" && hc.Expect == "" {
			d.errorf(hc.rng.block, "health_check type \"tcp-check\" needs send or expect")
		}
	case "agent":
		if hc.Port == 0 {
			d.errorf(hc.rng.at("port"), "health_check type \"agent\" needs port (the agent's TCP port)")
		}
	}
	d.checkUnusedHealthAttrs(hc)
}

// checkUnusedHealthAttrs refuses settings that the check's type would
// silently ignore: path = "/health" without type = "http" is a plain
// connect check, which is rarely what was meant. Defaults and empty
// values pass, so a block listing every attribute stays valid.
func (d *decoder) checkUnusedHealthAttrs(hc *HealthCheck) {
	def := defaultHealthCheck()
	http, tcpCheck, sender := []string{"http"}, []string{"tcp-check"}, []string{"tcp-check", "agent"}
	for _, a := range []struct {
		name   string
		usedBy []string
		set    bool
	}{
		{"method", http, hc.Method != def.Method},
		{"path", http, hc.Path != def.Path},
		{"host", http, hc.Host != ""},
		{"expect_status", http, !slices.Equal(hc.ExpectStatus, def.ExpectStatus)},
		{"expect_body", http, hc.ExpectBody != ""},
		{"send", sender, hc.Send != ""},
		{"expect", tcpCheck, hc.Expect != ""},
	} {
		if a.set && !slices.Contains(a.usedBy, hc.Type) {
			d.errorf(hc.rng.at(a.name), "%s: only used by type %s checks, this one is type %q", a.name, strings.Join(a.usedBy, "/"), hc.Type)
		}
	}
	if hc.Type == "http" && hc.ExpectBody != "" && strings.EqualFold(hc.Method, "HEAD") {
		d.errorf(hc.rng.at("expect_body"), "expect_body: the answer to a HEAD request has no body")
	}
}

var serverSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address", Required: true}, {Name: "weight"}, {Name: "maxconn"},
		{Name: "backup"}, {Name: "cookie"}, {Name: "slowstart"}, {Name: "check"},
		{Name: "send_proxy"}, {Name: "check_send_proxy"}, {Name: "proto"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "tls"}},
}

func (d *decoder) decodeServer(blk *hcl.Block) *Server {
	s := &Server{Name: blk.Labels[0], Weight: 1, Check: true}
	c := d.content(blk, serverSchema)
	b := d.body(c, blk.DefRange, &s.rng)
	d.checkName(blk, "server")
	s.TLS = d.backendTLS
	if tb := d.single(c.Blocks, "tls"); tb != nil {
		t := d.defaultServerTLS()
		if d.backendTLS != nil {
			t = d.backendTLS.copy()
		}
		d.decodeServerTLS(tb, t, true, d.dir)
		s.TLS = t
		if !t.Enabled {
			s.TLS = nil
		}
	}
	b.str("address", &s.Address)
	if b.has("address") && s.Address != "" {
		if err := checkHostPort(s.Address); err != nil {
			d.errorf(s.rng.at("address"), "address: %v", err)
		}
	}
	b.integer("weight", &s.Weight, 0, 256)
	b.integer("maxconn", &s.MaxConn, 0, 10_000_000)
	b.boolean("backup", &s.Backup)
	s.Cookie = s.Name
	b.str("cookie", &s.Cookie)
	if !isCookieValue(s.Cookie) {
		d.errorf(s.rng.at("cookie"), "cookie: %q is not a valid cookie value", s.Cookie)
	}
	b.duration("slowstart", &s.SlowStart, 0, 24*time.Hour)
	b.boolean("check", &s.Check)
	d.decodeServerProxy(b, s)
	s.Proto = d.backendProto
	b.str("proto", &s.Proto)
	b.oneOf("proto", s.Proto, "", "h2")
	if s.Proto == "h2" && s.TLS != nil {
		d.serverTLSForH2(s)
	}
	if s.Proto == "h2" && s.SendProxy != "" {
		d.errorf(s.rng.at("send_proxy"), "server %q: send_proxy with proto \"h2\": an HTTP/2 connection carries the requests of many clients, one PROXY header cannot name them", s.Name)
	}
	return s
}

// serverTLSForH2 makes a TLS server with proto = "h2" offer "h2" by ALPN
// (its alpn, when set, must include it): RFC 9113 §3.2.
func (d *decoder) serverTLSForH2(s *Server) {
	t := s.TLS
	if t.SNIFromClient {
		d.errorf(s.rng.block, "server %q: sni_from_client with proto \"h2\": an HTTP/2 connection carries the requests of many clients, for one name", s.Name)
	}
	if len(t.ALPN) > 0 {
		for _, p := range t.ALPN {
			if p == "h2" {
				return
			}
		}
		d.errorf(s.rng.block, "server %q: proto \"h2\" over TLS needs \"h2\" in its alpn %q", s.Name, t.ALPN)
		return
	}
	c := t.copy()
	c.ALPN = []string{"h2"}
	c.Options.ALPN = []string{"h2"}
	s.TLS = c
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return errorString(strconv.Quote(s) + " is not host:port")
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return errorString(strconv.Quote(s) + ": port must be 1..65535")
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// isToken reports whether s is an RFC 9110 token (method, cookie name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// isCookieValue reports whether s may appear as an RFC 6265 cookie value
// without quoting; "~" is excluded because prefix mode uses it as the
// separator.
func isCookieValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' || c == '~' {
			return false
		}
	}
	return true
}
