package importer

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"lbd/config"
)

// bindOption is one row of the bind line's option table: how many
// arguments it takes and what becomes of it.
type bindOption struct {
	args   int
	ignore string
	reject string
	conv   func(c *hctx, arg string)
}

// bindOptions converts the options of "bind ADDR [options]". A TLS
// listener, PROXY protocol or HTTP/2 adds its rows here.
var bindOptions = map[string]bindOption{
	"name":                 {args: 1, ignore: "lbd names listeners by their address"},
	"id":                   {args: 1, ignore: "lbd names listeners by their address"},
	"process":              {args: 1, ignore: "lbd is one process"},
	"thread":               {args: 1, ignore: "lbd spreads connections over every core"},
	"nice":                 {args: 1, ignore: "lbd has no per-listener priorities"},
	"defer-accept":         {conv: convDeferAccept},
	"v4v6":                 {ignore: "an address \"::\" listens on IPv4 and IPv6 in lbd"},
	"expose-fd":            {args: 1, ignore: "lbd keeps its sockets across reloads itself"},
	"backlog":              {args: 1, ignore: "lbd sizes its accept queue itself"},
	"v6only":               {reject: "lbd has no IPv6-only listeners"},
	"transparent":          {reject: "lbd has no transparent proxying"},
	"interface":            {args: 1, reject: "lbd binds addresses, not interfaces"},
	"namespace":            {args: 1, reject: "lbd binds in its own network namespace"},
	"maxconn":              {args: 1, reject: "lbd limits connections per frontend (frontend maxconn), not per bind line"},
	"mss":                  {args: 1, reject: "not configurable in lbd"},
	"tfo":                  {reject: "lbd does not enable TCP Fast Open"},
	"tcp-ut":               {args: 1, reject: "not configurable in lbd"},
	"accept-proxy":         {conv: convAcceptProxy},
	"accept-netscaler-cip": {args: 1, reject: "lbd does not read NetScaler client IP headers"},
	"ssl":                  {reject: "a TLS option on a bind line without ssl"},
	"crt":                  {args: 1, reject: "a TLS option on a bind line without ssl"},
	"crt-list":             {args: 1, reject: "a TLS option on a bind line without ssl"},
	"ca-file":              {args: 1, reject: "a TLS option on a bind line without ssl"},
	"verify":               {args: 1, reject: "a TLS option on a bind line without ssl"},
	"alpn":                 {args: 1, reject: "a TLS option on a bind line without ssl"},
	"npn":                  {args: 1, reject: "a TLS option on a bind line without ssl"},
	"ciphers":              {args: 1, reject: "a TLS option on a bind line without ssl"},
	"ciphersuites":         {args: 1, reject: "a TLS option on a bind line without ssl"},
	"curves":               {args: 1, reject: "a TLS option on a bind line without ssl"},
	"ssl-min-ver":          {args: 1, reject: "a TLS option on a bind line without ssl"},
	"ssl-max-ver":          {args: 1, reject: "a TLS option on a bind line without ssl"},
	"strict-sni":           {reject: "a TLS option on a bind line without ssl"},
	"no-sslv3":             {reject: "a TLS option on a bind line without ssl"},
	"no-tlsv10":            {reject: "a TLS option on a bind line without ssl"},
	"no-tlsv11":            {reject: "a TLS option on a bind line without ssl"},
	"no-tls-tickets":       {reject: "a TLS option on a bind line without ssl"},
	"proto":                {args: 1, reject: "lbd speaks HTTP/1.1 only yet"},
	"quic-cc-algo":         {args: 1, reject: "lbd has no QUIC"},
	"level":                {args: 1, reject: "lbd binds no stats sockets on frontends"},
	"mode":                 {args: 1, reject: "lbd binds no unix sockets for traffic"},
	"user":                 {args: 1, reject: "lbd binds no unix sockets for traffic"},
	"group":                {args: 1, reject: "lbd binds no unix sockets for traffic"},
	"uid":                  {args: 1, reject: "lbd binds no unix sockets for traffic"},
	"gid":                  {args: 1, reject: "lbd binds no unix sockets for traffic"},
}

func convBind(c *hctx) {
	if c.p.fe == nil {
		return
	}
	if len(c.args) == 0 {
		c.notConverted("expects an address")
		return
	}
	opts := c.args[1:]
	if hasWord(opts, "ssl") {
		convTLSBind(c) // haproxy_tls.go
		return
	}
	for i := 0; i < len(opts); i++ {
		o, ok := bindOptions[opts[i]]
		if !ok {
			c.notConverted("bind option %q is unknown to the importer", opts[i])
			return
		}
		arg := ""
		if o.args > 0 {
			if i+1 >= len(opts) {
				c.notConverted("bind option %q expects a value", opts[i])
				return
			}
			arg = opts[i+1]
			i++
		}
		switch {
		case o.reject != "":
			c.notConverted("bind option %q: %s", opts[i-o.args], o.reject)
			return
		case o.ignore != "":
			c.ignored("bind option %q: %s", opts[i-o.args], o.ignore)
		case o.conv != nil:
			o.conv(c, arg)
		}
	}
	convBindAddrs(c, c.args[0])
}

// convBindAddrs adds "ADDR[,ADDR...]" to the frontend's bind list.
func convBindAddrs(c *hctx, list string) {
	fe := c.p.fe
	var binds []string
	if a := fe.get("bind"); a != nil {
		binds = append(binds, a.val.(strListV)...)
	}
	for _, a := range strings.Split(list, ",") {
		b, err := bindAddr(a)
		if err != "" {
			c.notConverted("%s", err)
			continue
		}
		binds = append(binds, b)
	}
	if len(binds) > 0 {
		fe.set("bind", strListV(binds), c.at(), "")
	}
}

// bindAddr turns one HAProxy listening address into lbd's "host:port";
// err says why it cannot.
func bindAddr(a string) (string, string) {
	if fam, rest, ok := strings.Cut(a, "@"); ok {
		switch fam {
		case "ipv4", "ipv6", "tcp", "tcp4", "tcp6":
			a = rest
		default:
			return "", "address family " + fam + "@ is not supported by lbd (tcp listeners only)"
		}
	}
	if strings.HasPrefix(a, "/") {
		return "", "lbd binds no unix sockets for traffic"
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return "", "address " + strconv.Quote(a) + " has no port"
	}
	host, port := a[:i], a[i+1:]
	if strings.Contains(port, "-") {
		return "", "port range " + port + " is not supported by lbd (one port per address)"
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	out := net.JoinHostPort(host, port)
	if host == "" || host == "*" {
		out = "*:" + port
	}
	if host == "::" {
		out = "[::]:" + port
	}
	if _, err := config.ParseBind(out); err != nil {
		return "", err.Error()
	}
	return out, ""
}

// convDeferAccept: lbd defers accepts on http frontends unless told not
// to; on a tcp frontend HAProxy's defer-accept is lbd's defer_accept.
// lbd's is per frontend, HAProxy's per bind line.
func convDeferAccept(c *hctx, _ string) {
	c.p.fe.set("defer_accept", boolV(true), c.at(), "")
}

// convAcceptProxy: HAProxy's accept-proxy reads the header from anyone
// on that bind; lbd reads it from the networks its accept_proxy lists
// (and closes connections from elsewhere), so the conversion lists every
// address, which is HAProxy's behaviour, and says to narrow it. lbd's is
// per frontend, HAProxy's per bind line.
func convAcceptProxy(c *hctx, _ string) {
	fe := c.p.fe
	ap := fe.child("accept_proxy", c.at(), true)
	ap.set("from", strListV{"0.0.0.0/0", "::/0"}, c.at(), "HAProxy's accept-proxy trusts every source: list only your proxies' networks")
	for _, l := range c.p.sec.lines {
		if len(l.words) > 0 && l.words[0] == "bind" && !slices.Contains(l.words, "accept-proxy") {
			c.notConverted("lbd reads the PROXY protocol on every bind of the frontend, HAProxy on this bind line only (line %d has none)", l.line)
			return
		}
	}
}
