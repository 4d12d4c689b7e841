package importer

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// srvOpts are the options of a server or default-server line. HAProxy
// sets check timing per server; lbd per backend (health_check), so they
// are collected here and lifted to the backend when the section ends.
type srvOpts struct {
	check, backup, agent        setting[bool]
	weight, maxconn, rise, fall setting[int]
	port, agentPort, errorLimit setting[int]
	inter, fastinter, downinter setting[time.Duration]
	slowstart, agentInter       setting[time.Duration]
	cookie, observe, onError    setting[string]
	agentSend, sendProxy        setting[string]
	checkSendProxy              setting[bool]
	tls                         srvTLS // haproxy_tls_server.go
}

// merge returns o with every option set in over replacing it.
func (o srvOpts) merge(over srvOpts) srvOpts {
	mergeSet(&o.check, over.check)
	mergeSet(&o.backup, over.backup)
	mergeSet(&o.agent, over.agent)
	mergeSet(&o.weight, over.weight)
	mergeSet(&o.maxconn, over.maxconn)
	mergeSet(&o.rise, over.rise)
	mergeSet(&o.fall, over.fall)
	mergeSet(&o.port, over.port)
	mergeSet(&o.agentPort, over.agentPort)
	mergeSet(&o.errorLimit, over.errorLimit)
	mergeSet(&o.inter, over.inter)
	mergeSet(&o.fastinter, over.fastinter)
	mergeSet(&o.downinter, over.downinter)
	mergeSet(&o.slowstart, over.slowstart)
	mergeSet(&o.agentInter, over.agentInter)
	mergeSet(&o.cookie, over.cookie)
	mergeSet(&o.observe, over.observe)
	mergeSet(&o.onError, over.onError)
	mergeSet(&o.agentSend, over.agentSend)
	mergeSet(&o.sendProxy, over.sendProxy)
	mergeSet(&o.checkSendProxy, over.checkSendProxy)
	o.tls = o.tls.merge(over.tls)
	return o
}

func mergeSet[T any](dst *setting[T], src setting[T]) {
	if src.set {
		*dst = src
	}
}

// hapServer is one server line.
type hapServer struct {
	name, addr string
	line       *srcLine
	defs       srvOpts // default-server lines in force at this line
	own        srvOpts
}

func (s *hapServer) opts() srvOpts { return s.defs.merge(s.own) }

// srvOption is one row of the server line's option table.
type srvOption struct {
	args   int
	ignore string
	reject string
	conv   func(o *srvOpts, c *hctx, arg string) bool // false: the value was reported bad
}

func boolOpt(f func(*srvOpts) *setting[bool], v bool) func(*srvOpts, *hctx, string) bool {
	return func(o *srvOpts, c *hctx, _ string) bool { f(o).put(v, c.l, c.fromDef); return true }
}

func intOpt(f func(*srvOpts) *setting[int], lo, hi int) func(*srvOpts, *hctx, string) bool {
	return func(o *srvOpts, c *hctx, arg string) bool {
		n, err := parseInt(arg, lo, hi)
		if err != nil {
			c.notConverted("%v", err)
			return false
		}
		f(o).put(n, c.l, c.fromDef)
		return true
	}
}

func timeOpt(f func(*srvOpts) *setting[time.Duration]) func(*srvOpts, *hctx, string) bool {
	return func(o *srvOpts, c *hctx, arg string) bool {
		d, err := parseHAProxyTime(arg, time.Millisecond)
		if err != nil {
			c.notConverted("%v", err)
			return false
		}
		f(o).put(d, c.l, c.fromDef)
		return true
	}
}

func constOpt(f func(*srvOpts) *setting[string], v string) func(*srvOpts, *hctx, string) bool {
	return func(o *srvOpts, c *hctx, _ string) bool { f(o).put(v, c.l, c.fromDef); return true }
}

func strOpt(f func(*srvOpts) *setting[string]) func(*srvOpts, *hctx, string) bool {
	return func(o *srvOpts, c *hctx, arg string) bool { f(o).put(arg, c.l, c.fromDef); return true }
}

// serverOptions converts the options of server and default-server lines.
// Server TLS, PROXY protocol and HTTP/2 to servers add their rows here.
var serverOptions = map[string]srvOption{
	"check":                {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.check }, true)},
	"no-check":             {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.check }, false)},
	"backup":               {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.backup }, true)},
	"no-backup":            {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.backup }, false)},
	"weight":               {args: 1, conv: intOpt(func(o *srvOpts) *setting[int] { return &o.weight }, 0, 256)},
	"maxconn":              {args: 1, conv: intOpt(func(o *srvOpts) *setting[int] { return &o.maxconn }, 0, 10_000_000)},
	"rise":                 {args: 1, conv: intOpt(func(o *srvOpts) *setting[int] { return &o.rise }, 1, 1000)},
	"fall":                 {args: 1, conv: intOpt(func(o *srvOpts) *setting[int] { return &o.fall }, 1, 1000)},
	"port":                 {args: 1, conv: intOpt(func(o *srvOpts) *setting[int] { return &o.port }, 1, 65535)},
	"inter":                {args: 1, conv: timeOpt(func(o *srvOpts) *setting[time.Duration] { return &o.inter })},
	"fastinter":            {args: 1, conv: timeOpt(func(o *srvOpts) *setting[time.Duration] { return &o.fastinter })},
	"downinter":            {args: 1, conv: timeOpt(func(o *srvOpts) *setting[time.Duration] { return &o.downinter })},
	"slowstart":            {args: 1, conv: timeOpt(func(o *srvOpts) *setting[time.Duration] { return &o.slowstart })},
	"cookie":               {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.cookie })},
	"observe":              {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.observe })},
	"error-limit":          {args: 1, conv: intOpt(func(o *srvOpts) *setting[int] { return &o.errorLimit }, 1, 1_000_000)},
	"on-error":             {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.onError })},
	"agent-check":          {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.agent }, true)},
	"no-agent-check":       {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.agent }, false)},
	"agent-port":           {args: 1, conv: intOpt(func(o *srvOpts) *setting[int] { return &o.agentPort }, 1, 65535)},
	"agent-inter":          {args: 1, conv: timeOpt(func(o *srvOpts) *setting[time.Duration] { return &o.agentInter })},
	"agent-send":           {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.agentSend })},
	"enabled":              {ignore: "servers start enabled"},
	"id":                   {args: 1, ignore: "lbd names servers, it does not number them"},
	"init-addr":            {args: 1, ignore: "lbd resolves server names when the configuration is loaded"},
	"pool-max-conn":        {args: 1, ignore: "lbd manages its idle server connections itself"},
	"pool-low-conn":        {args: 1, ignore: "lbd manages its idle server connections itself"},
	"pool-purge-delay":     {args: 1, ignore: "lbd closes server connections idle for 10s"},
	"max-reuse":            {args: 1, ignore: "lbd manages its idle server connections itself"},
	"guid":                 {args: 1, ignore: "no meaning in lbd"},
	"shard":                {args: 1, ignore: "no meaning in lbd"},
	"disabled":             {reject: "lbd starts every server; set it to maint after start with lbctl server state BACKEND/SERVER maint"},
	"minconn":              {args: 1, reject: "lbd has no dynamic maxconn (minconn/fullconn); maxconn is used"},
	"maxqueue":             {args: 1, reject: "lbd bounds queues by time (timeouts.queue), not by length"},
	"addr":                 {args: 1, reject: "lbd checks the server's own address"},
	"agent-addr":           {args: 1, reject: "lbd's agent is on the server's address"},
	"track":                {args: 1, reject: "lbd has no tracked servers; each server is checked"},
	"redir":                {args: 1, reject: "lbd has no redirect servers"},
	"resolvers":            {args: 1, reject: "lbd resolves server names when the configuration is loaded, not at runtime"},
	"resolve-prefer":       {args: 1, reject: "lbd resolves server names when the configuration is loaded, not at runtime"},
	"resolve-net":          {args: 1, reject: "lbd resolves server names when the configuration is loaded, not at runtime"},
	"resolve-opts":         {args: 1, reject: "lbd resolves server names when the configuration is loaded, not at runtime"},
	"source":               {args: 1, reject: "lbd connects from the node's own address"},
	"usesrc":               {args: 1, reject: "lbd connects from the node's own address"},
	"namespace":            {args: 1, reject: "lbd connects in its own network namespace"},
	"tfo":                  {reject: "lbd does not use TCP Fast Open"},
	"tcp-ut":               {args: 1, reject: "not configurable in lbd"},
	"non-stick":            {reject: "lbd has no stick tables yet"},
	"socks4":               {args: 1, reject: "lbd does not connect through SOCKS"},
	"send-proxy":           {conv: constOpt(func(o *srvOpts) *setting[string] { return &o.sendProxy }, "v1")},
	"send-proxy-v2":        {conv: constOpt(func(o *srvOpts) *setting[string] { return &o.sendProxy }, "v2")},
	"no-send-proxy":        {conv: constOpt(func(o *srvOpts) *setting[string] { return &o.sendProxy }, "")},
	"no-send-proxy-v2":     {conv: constOpt(func(o *srvOpts) *setting[string] { return &o.sendProxy }, "")},
	"send-proxy-v2-ssl":    {reject: "lbd sends no SSL TLVs in its PROXY v2 header (send-proxy-v2 is converted)"},
	"send-proxy-v2-ssl-cn": {reject: "lbd sends no SSL TLVs in its PROXY v2 header (send-proxy-v2 is converted)"},
	"proxy-v2-options":     {args: 1, reject: "lbd sends no TLVs in its PROXY v2 header"},
	"check-send-proxy":     {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.checkSendProxy }, true)},
	"ssl":                  {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.tls.ssl }, true)},
	"no-ssl":               {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.tls.ssl }, false)},
	"check-ssl":            {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.tls.checkSSL }, true)},
	"no-check-ssl":         {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.tls.checkSSL }, false)},
	"verify":               {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.verify })},
	"verifyhost":           {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.verifyHost })},
	"ca-file":              {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.caFile })},
	"crt":                  {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.crt })},
	"sni":                  {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.sni })},
	"check-sni":            {args: 1, ignore: "lbd's TLS checks send the server's sni"},
	"ciphers":              {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.ciphers })},
	"alpn":                 {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.alpn })},
	"check-alpn":           {args: 1, ignore: "lbd's TLS checks offer the server's alpn"},
	"no-ssl-reuse":         {conv: boolOpt(func(o *srvOpts) *setting[bool] { return &o.tls.noReuse }, true)},
	"ssl-min-ver":          {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.minVer })},
	"ssl-max-ver":          {args: 1, conv: strOpt(func(o *srvOpts) *setting[string] { return &o.tls.maxVer })},
	"proto":                {args: 1, reject: "lbd speaks HTTP/1.1 to servers"},
	"check-proto":          {args: 1, reject: "lbd speaks HTTP/1.1 to servers"},
	"ws":                   {args: 1, reject: "lbd speaks HTTP/1.1 to servers"},
}

// parseSrvOpts reads server options; a rejected or unknown one is noted
// and the others still apply (the server exists either way).
func parseSrvOpts(c *hctx, words []string) srvOpts {
	var o srvOpts
	for i := 0; i < len(words); i++ {
		name := words[i]
		row, ok := serverOptions[name]
		if !ok {
			c.notConverted("server option %q is unknown to the importer", name)
			continue
		}
		arg := ""
		if row.args > 0 {
			if i+1 >= len(words) {
				c.notConverted("server option %q expects a value", name)
				break
			}
			i++
			arg = words[i]
		}
		switch {
		case row.reject != "":
			c.notConverted("server option %q: %s", name, row.reject)
		case row.ignore != "":
			c.ignored("server option %q: %s", name, row.ignore)
		default:
			row.conv(&o, c, arg)
		}
	}
	return o
}

func convDefaultServer(c *hctx) {
	o := parseSrvOpts(c, c.args)
	c.p.defSrv = c.p.defSrv.merge(o)
}

func convServer(c *hctx) {
	if len(c.args) < 2 {
		c.notConverted("expects a name and an address")
		return
	}
	if c.fromDef {
		return // HAProxy refuses servers in defaults
	}
	s := &hapServer{name: c.args[0], line: c.l, defs: c.p.defSrv}
	addr, err := serverAddr(c.args[1])
	if err != "" {
		c.notConverted("%s", err)
		return
	}
	s.addr = addr
	s.own = parseSrvOpts(c, c.args[2:])
	c.p.servers = append(c.p.servers, s)
}

// serverAddr turns HAProxy's server address into lbd's "host:port".
func serverAddr(a string) (string, string) {
	if fam, rest, ok := strings.Cut(a, "@"); ok {
		switch fam {
		case "ipv4", "ipv6", "tcp", "tcp4", "tcp6":
			a = rest
		default:
			return "", "address family " + fam + "@ is not supported by lbd (tcp servers only)"
		}
	}
	if strings.HasPrefix(a, "/") {
		return "", "lbd connects to tcp servers only, not unix sockets"
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 || strings.HasSuffix(a, "]") {
		return "", "server address " + strconv.Quote(a) + " has no port: lbd needs one (HAProxy would use the client's destination port)"
	}
	host, port := a[:i], a[i+1:]
	if strings.HasPrefix(port, "+") || strings.HasPrefix(port, "-") {
		return "", "a port offset (" + port + ") is not supported by lbd"
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || host == "" || strings.ContainsAny(host, " /\t") {
		return "", "server address " + strconv.Quote(a) + " is not host:port"
	}
	return net.JoinHostPort(host, port), ""
}

// finishServers writes the server blocks and lifts the check timing of
// the checked servers into the backend's health_check block.
func (hc *hapConv) finishServers(p *proxy) {
	be := p.be
	var checked []*hapServer
	backups := 0
	for _, s := range p.servers {
		o := s.opts()
		sb := newNode("server", s.line.pos, s.name)
		sb.set("address", strV(s.addr), s.line.pos, "")
		if o.weight.set {
			sb.set("weight", intV(o.weight.v), o.weight.pos(), "")
		}
		if o.maxconn.set {
			sb.set("maxconn", intV(o.maxconn.v), o.maxconn.pos(), "")
		}
		if o.backup.set && o.backup.v {
			sb.set("backup", boolV(true), o.backup.pos(), "")
			backups++
		}
		if p.cookie != nil {
			if o.cookie.set {
				sb.set("cookie", strV(o.cookie.v), o.cookie.pos(), "")
			} else {
				hc.ns.add(s.line.pos, NotConverted, s.line.text(),
					"server %q has no cookie value: HAProxy sets no persistence cookie for it (it removes the client's); lbd uses its name, %q", s.name, s.name)
			}
		}
		if o.slowstart.set {
			sb.set("slowstart", durV(o.slowstart.v), o.slowstart.pos(), "")
		}
		if o.sendProxy.set && o.sendProxy.v != "" {
			sb.set("send_proxy", strV(o.sendProxy.v), o.sendProxy.pos(), "")
		}
		if o.checkSendProxy.set && o.checkSendProxy.v {
			sb.set("check_send_proxy", boolV(true), o.checkSendProxy.pos(), "")
		}
		hc.serverTLS(sb, o, s) // haproxy_tls_server.go
		if o.check.v || o.agent.v {
			checked = append(checked, s)
		} else {
			sb.set("check", boolV(false), s.line.pos, "no check on the HAProxy server line")
		}
		be.blocks = append(be.blocks, sb)
	}
	if backups > 1 && !hc.hasOption(p, "option allbackups") {
		hc.ns.add(p.sec.head.pos, NotConverted, p.sec.head.text(),
			"HAProxy sends traffic to the first usable backup server only (no option allbackups); lbd spreads it over all %d", backups)
	}
	hc.finishCheck(p, checked)
}

// hasOption reports whether the proxy or its defaults write that option.
func (hc *hapConv) hasOption(p *proxy, opt string) bool {
	for _, s := range []*hapSection{p.def, p.sec} {
		if s == nil {
			continue
		}
		for _, l := range s.lines {
			if strings.Join(l.words, " ") == opt {
				return true
			}
		}
	}
	return false
}
