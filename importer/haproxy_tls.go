package importer

import (
	"strconv"
	"strings"
	"time"

	"lbd/tlsconf"
)

// HAProxy's TLS directives (issue 12): "bind ... ssl crt ..." lines become
// tls blocks of the frontend, "server ... ssl ..." a tls block of the
// server, ssl-default-bind-*/ssl-default-server-* global's ssl_default_bind
// and ssl_default_server blocks, "redirect scheme https" redirect_https.

// bindTLS collects the TLS options of one "bind ... ssl" line.
type bindTLS struct {
	crt              []string
	crtList          string
	caFile, crlFile  string
	verify           string
	ciphers          string
	curves           []string
	alpn             []string
	minVer, maxVer   string
	strict, noTicket bool
}

// tlsBindOption is one TLS option of a bind line: its argument count and
// what it sets; false stops the line (noted).
type tlsBindOption struct {
	args int
	conv func(t *bindTLS, c *hctx, arg string) bool
}

var tlsBindOptions = map[string]tlsBindOption{
	"ssl":      {0, func(*bindTLS, *hctx, string) bool { return true }},
	"crt":      {1, func(t *bindTLS, _ *hctx, a string) bool { t.crt = append(t.crt, a); return true }},
	"crt-list": {1, func(t *bindTLS, _ *hctx, a string) bool { t.crtList = a; return true }},
	"ca-file":  {1, func(t *bindTLS, _ *hctx, a string) bool { t.caFile = a; return true }},
	"crl-file": {1, func(t *bindTLS, _ *hctx, a string) bool { t.crlFile = a; return true }},
	"verify": {1, func(t *bindTLS, c *hctx, a string) bool {
		if a != "none" && a != "optional" && a != "required" {
			c.notConverted("verify %q is not none, optional or required", a)
			return false
		}
		t.verify = a
		return true
	}},
	"ciphers": {1, func(t *bindTLS, c *hctx, a string) bool { return tlsCiphers(c, a, &t.ciphers) }},
	"ciphersuites": {1, func(_ *bindTLS, c *hctx, a string) bool {
		tlsCipherSuites(c, a)
		return true
	}},
	"curves": {1, func(t *bindTLS, c *hctx, a string) bool { return tlsCurves(c, a, &t.curves) }},
	"ecdhe":  {1, func(t *bindTLS, c *hctx, a string) bool { return tlsCurves(c, a, &t.curves) }},
	"alpn":   {1, func(t *bindTLS, c *hctx, a string) bool { t.alpn = tlsALPN(c, a); return true }},
	"ssl-min-ver": {1, func(t *bindTLS, c *hctx, a string) bool {
		return tlsVersion(c, a, &t.minVer)
	}},
	"ssl-max-ver": {1, func(t *bindTLS, c *hctx, a string) bool {
		return tlsVersion(c, a, &t.maxVer)
	}},
	"strict-sni":     {0, func(t *bindTLS, _ *hctx, _ string) bool { t.strict = true; return true }},
	"no-tls-tickets": {0, func(t *bindTLS, _ *hctx, _ string) bool { t.noTicket = true; return true }},
	"no-tlsv13": {0, func(t *bindTLS, _ *hctx, _ string) bool {
		t.maxVer = "TLSv1.2"
		return true
	}},
	"no-sslv3": {0, func(_ *bindTLS, c *hctx, _ string) bool {
		c.ignored("bind option \"no-sslv3\": lbd never offers SSLv3")
		return true
	}},
	"no-tlsv10": {0, func(_ *bindTLS, c *hctx, _ string) bool {
		c.ignored("bind option \"no-tlsv10\": lbd's minimum is TLS 1.2 unless min_version says otherwise")
		return true
	}},
	"no-tlsv11": {0, func(_ *bindTLS, c *hctx, _ string) bool {
		c.ignored("bind option \"no-tlsv11\": lbd's minimum is TLS 1.2 unless min_version says otherwise")
		return true
	}},
	"prefer-client-ciphers": {0, func(_ *bindTLS, c *hctx, _ string) bool {
		c.ignored("bind option \"prefer-client-ciphers\": Go's TLS orders suites by the client's hardware itself")
		return true
	}},
	"npn": {1, func(_ *bindTLS, c *hctx, _ string) bool {
		c.ignored("bind option \"npn\": NPN is obsolete; lbd negotiates with ALPN")
		return true
	}},
	"tls-ticket-keys": {1, func(_ *bindTLS, c *hctx, a string) bool {
		c.hc.doc.block("global", c.at()).set("tls_ticket_secret", strV(a), c.at(), "")
		c.note(Replaced, "tls-ticket-keys: lbd derives its ticket keys from this file's content, for every bind, and rotates them every tls_ticket_rotate (12h); the same file on both nodes")
		return true
	}},
}

// tlsBindRejects are TLS bind options lbd cannot honour.
var tlsBindRejects = map[string]string{
	"allow-0rtt":            "lbd does not accept TLS 1.3 early data",
	"generate-certificates": "lbd does not forge certificates",
	"ca-sign-file":          "lbd does not forge certificates",
	"ca-ignore-err":         "lbd refuses client certificates that do not verify",
	"crt-ignore-err":        "lbd refuses client certificates that do not verify",
	"no-ca-names":           "lbd always names its client CAs",
	"force-sslv3":           "lbd never offers SSLv3",
	"no-tlsv12":             "use ssl-min-ver TLSv1.3 (min_version)",
	"force-tlsv10":          "use ssl-min-ver and ssl-max-ver (min_version, max_version)",
	"force-tlsv11":          "use ssl-min-ver and ssl-max-ver (min_version, max_version)",
	"force-tlsv12":          "use ssl-min-ver and ssl-max-ver (min_version, max_version)",
	"force-tlsv13":          "use ssl-min-ver and ssl-max-ver (min_version, max_version)",
}

// hasWord reports whether w is among words.
func hasWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// convTLSBind converts "bind ADDR[,ADDR] ... ssl ..." into a tls block of
// the frontend.
func convTLSBind(c *hctx) {
	t := &bindTLS{}
	opts := c.args[1:]
	for i := 0; i < len(opts); i++ {
		name := opts[i]
		if why, bad := tlsBindRejects[name]; bad {
			c.notConverted("bind option %q: %s", name, why)
			return
		}
		if row, ok := tlsBindOptions[name]; ok {
			arg := ""
			if row.args > 0 {
				if i+1 >= len(opts) {
					c.notConverted("bind option %q expects a value", name)
					return
				}
				i++
				arg = opts[i]
			}
			if !row.conv(t, c, arg) {
				return
			}
			continue
		}
		o, ok := bindOptions[name]
		if !ok {
			c.notConverted("bind option %q is unknown to the importer", name)
			return
		}
		if o.args > 0 {
			i++
		}
		switch {
		case o.reject != "":
			c.notConverted("bind option %q: %s", name, o.reject)
			return
		case o.ignore != "":
			c.ignored("bind option %q: %s", name, o.ignore)
		}
	}
	if len(t.crt) == 0 && t.crtList == "" {
		c.notConverted("a TLS bind needs crt or crt-list")
		return
	}
	var binds []string
	for _, a := range strings.Split(c.args[0], ",") {
		b, err := bindAddr(a)
		if err != "" {
			c.notConverted("%s", err)
			return
		}
		binds = append(binds, b)
	}
	n := newNode("tls", c.at())
	at := c.at()
	n.set("bind", strListV(binds), at, "")
	if len(t.crt) > 0 {
		n.set("crt", strListV(t.crt), at, "")
	}
	setStr := func(name, v string) {
		if v != "" {
			n.set(name, strV(v), at, "")
		}
	}
	setStr("crt_list", t.crtList)
	if t.strict {
		n.set("strict_sni", boolV(true), at, "")
	}
	if t.alpn != nil {
		n.set("alpn", strListV(t.alpn), at, "")
	}
	setStr("min_version", t.minVer)
	setStr("max_version", t.maxVer)
	setStr("ciphers", t.ciphers)
	if t.curves != nil {
		n.set("curves", strListV(t.curves), at, "")
	}
	setStr("verify", t.verify)
	setStr("ca_file", t.caFile)
	setStr("crl_file", t.crlFile)
	if t.noTicket {
		n.set("tickets", boolV(false), at, "")
	}
	c.p.fe.blocks = append(c.p.fe.blocks, n)
}

func tlsCiphers(c *hctx, s string, dst *string) bool {
	if _, _, err := tlsconf.ParseCiphers(s); err != nil {
		c.notConverted("ciphers: %v", err)
		return false
	}
	*dst = s
	return true
}

// tlsCipherSuites: lbd (Go) always offers the three TLS 1.3 suites.
func tlsCipherSuites(c *hctx, s string) {
	all := true
	for _, n := range []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"} {
		all = all && strings.Contains(s, n)
	}
	if all {
		c.ignored("ciphersuites: lbd always offers the three TLS 1.3 suites listed")
		return
	}
	c.notConverted("ciphersuites: lbd always offers TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256; TLS 1.3 suites cannot be restricted")
}

func tlsCurves(c *hctx, s string, dst *[]string) bool {
	var out []string
	for _, n := range strings.Split(s, ":") {
		if _, err := tlsconf.ParseCurve(n); err != nil {
			c.notConverted("curves: %v", err)
			return false
		}
		out = append(out, n)
	}
	*dst = out
	return true
}

// tlsALPN keeps the protocols lbd speaks: h2 is dropped (noted).
func tlsALPN(c *hctx, s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p == "h2" {
			c.notConverted("alpn: h2 dropped: lbd speaks HTTP/1.1 to clients, who fall back to it")
			continue
		}
		out = append(out, p)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func tlsVersion(c *hctx, v string, dst *string) bool {
	if _, err := tlsconf.ParseVersion(v); err != nil {
		c.notConverted("%v", err)
		return false
	}
	*dst = v
	return true
}

// convSSLDefault converts ssl-default-bind-* and ssl-default-server-*
// into global's ssl_default_bind and ssl_default_server blocks.
func convSSLDefault(block, what string) func(c *hctx) {
	return func(c *hctx) {
		if len(c.args) == 0 {
			c.notConverted("expects a value")
			return
		}
		b := c.hc.doc.block("global", c.at()).child(block, c.at(), true)
		at := c.at()
		switch what {
		case "ciphers":
			var s string
			if tlsCiphers(c, c.args[0], &s) {
				b.set("ciphers", strV(s), at, "")
			}
		case "ciphersuites":
			tlsCipherSuites(c, c.args[0])
		case "curves":
			var cs []string
			if tlsCurves(c, c.args[0], &cs) {
				b.set("curves", strListV(cs), at, "")
			}
		case "options":
			for i := 0; i < len(c.args); i++ {
				switch o := c.args[i]; o {
				case "ssl-min-ver", "ssl-max-ver":
					if i+1 >= len(c.args) {
						c.notConverted("%s expects a version", o)
						return
					}
					i++
					var v string
					if tlsVersion(c, c.args[i], &v) {
						b.set(map[string]string{"ssl-min-ver": "min_version", "ssl-max-ver": "max_version"}[o], strV(v), at, "")
					}
				case "no-sslv3", "no-tlsv10", "no-tlsv11":
					c.ignored("%s: lbd's minimum is TLS 1.2 unless min_version says otherwise", o)
				case "no-tlsv13":
					b.set("max_version", strV("TLSv1.2"), at, "")
				case "prefer-client-ciphers":
					c.ignored("prefer-client-ciphers: Go's TLS orders suites by the client's hardware itself")
				case "no-tls-tickets":
					c.notConverted("no-tls-tickets: set tickets = false in each frontend's tls block")
				default:
					c.notConverted("ssl-default-%s-options %q is not converted", strings.TrimPrefix(block, "ssl_default_"), o)
				}
			}
		}
	}
}

// tlsGlobalRows are the global TLS keywords with conversions.
var tlsGlobalRows = map[string]*keyword{
	"ssl-default-bind-ciphers":        {in: inGlobal, conv: convSSLDefault("ssl_default_bind", "ciphers")},
	"ssl-default-bind-ciphersuites":   {in: inGlobal, conv: convSSLDefault("ssl_default_bind", "ciphersuites")},
	"ssl-default-bind-curves":         {in: inGlobal, conv: convSSLDefault("ssl_default_bind", "curves")},
	"ssl-default-bind-options":        {in: inGlobal, conv: convSSLDefault("ssl_default_bind", "options")},
	"ssl-default-server-ciphers":      {in: inGlobal, conv: convSSLDefault("ssl_default_server", "ciphers")},
	"ssl-default-server-ciphersuites": {in: inGlobal, conv: convSSLDefault("ssl_default_server", "ciphersuites")},
	"ssl-default-server-curves":       {in: inGlobal, conv: convSSLDefault("ssl_default_server", "curves")},
	"ssl-default-server-options":      {in: inGlobal, conv: convSSLDefault("ssl_default_server", "options")},
	"tune.ssl.cachesize": {in: inGlobal, conv: func(c *hctx) {
		if n, err := strconv.Atoi(firstArg(c)); err == nil && n >= 0 {
			c.hc.doc.block("global", c.at()).set("tls_session_cache", intV(n), c.at(), "")
			return
		}
		c.notConverted("expects a number of sessions")
	}},
	"tune.ssl.lifetime": {in: inGlobal, conv: func(c *hctx) {
		d, err := parseHAProxyTime(firstArg(c), time.Second)
		if err != nil || d < time.Second {
			c.notConverted("expects a duration of a second or more")
			return
		}
		c.hc.doc.block("global", c.at()).set("tls_session_lifetime", durV(d), c.at(), "")
	}},
}

func firstArg(c *hctx) string {
	if len(c.args) == 0 {
		return ""
	}
	return c.args[0]
}

// convRedirect converts "redirect scheme https [code N] [if|unless COND]"
// (and "http-request redirect ..." through convHTTPRequest): lbd's
// redirect_https, which applies to the frontend's plain binds, so the
// usual conditions ("if !{ ssl_fc }", "unless { ssl_fc }") are what it
// does already; HAProxy's default code is 302.
func convRedirect(c *hctx) {
	a := c.args
	if len(a) < 2 || a[0] != "scheme" || a[1] != "https" {
		c.notConverted("lbd redirects only to https (redirect scheme https)")
		return
	}
	if c.p.fe == nil {
		c.notConverted("redirect_https is a frontend setting")
		return
	}
	code := 302
	rest := a[2:]
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case "code":
			if i+1 >= len(rest) {
				c.notConverted("code expects a status")
				return
			}
			i++
			n, err := strconv.Atoi(rest[i])
			if err != nil || (n != 301 && n != 302 && n != 303 && n != 307 && n != 308) {
				c.notConverted("code %q is not 301, 302, 303, 307 or 308", rest[i])
				return
			}
			code = n
		case "if", "unless":
			cond := strings.Join(rest[i:], " ")
			switch cond {
			case "if !{ ssl_fc }", "unless { ssl_fc }", "if ! { ssl_fc }":
			default:
				c.notConverted("condition %q: lbd redirects every request of the plain binds (unless { ssl_fc })", cond)
				return
			}
			i = len(rest)
		case "drop-query", "append-slash", "set-cookie", "clear-cookie", "ignore-empty":
			c.notConverted("redirect option %q is not supported by lbd", rest[i])
			return
		}
	}
	c.p.fe.set("redirect_https", intV(code), c.at(), "")
}

// convHTTPRequest converts the http-request rules lbd has: the redirect
// to https.
func convHTTPRequest(c *hctx) {
	if len(c.args) > 0 && c.args[0] == "redirect" {
		c.args = c.args[1:]
		convRedirect(c)
		return
	}
	c.notConverted("lbd has no http-request rules yet")
}

func init() {
	for k, row := range tlsGlobalRows {
		globalKeywords[k] = row
	}
}
