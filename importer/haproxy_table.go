package importer

import (
	"strings"
	"time"
)

// proxyKeywords is the conversion table of haproxy.cfg's proxy sections
// (defaults, frontend, backend, listen): one row per keyword, saying in
// which sections HAProxy accepts it and what becomes of it. A keyword that
// is not here is reported as not converted. See the package doc for how to
// add a row.
var proxyKeywords = map[string]*keyword{
	// Modes, addresses, limits.
	"mode":              {in: inProxy, conv: convMode},
	"bind":              {in: inFrontend | inListen, conv: convBind},
	"maxconn":           {in: inFE, conv: feInt("maxconn", 0, 10_000_000)},
	"default_backend":   {in: inFE, conv: convDefaultBackend},
	"use_backend":       {in: inFrontend | inListen, conv: convUseBackend},
	"acl":               {in: inFrontend | inBackend | inListen, conv: convACL},
	"option forwardfor": {in: inProxy, conv: convForwardFor},

	// Timeouts (lbd splits them between the client side, in a frontend, and
	// the server side, in a backend, as HAProxy does).
	"timeout client":          {in: inFE, conv: convTimeout("client")},
	"timeout http-request":    {in: inFE, conv: convTimeout("http_request")},
	"timeout http-keep-alive": {in: inProxy, conv: convTimeout("http_keep_alive")},
	"timeout connect":         {in: inBE, conv: convTimeout("connect")},
	"timeout server":          {in: inBE, conv: convTimeout("server")},
	"timeout queue":           {in: inBE, conv: convTimeout("queue")},
	"timeout tunnel":          {in: inBE, conv: convTimeout("tunnel")},
	"timeout check":           {in: inBE, conv: convTimeoutCheck},
	"timeout client-fin":      {in: inFE, reject: "lbd has no separate timeout for half-closed client connections (timeouts.client applies)"},
	"timeout server-fin":      {in: inBE, reject: "lbd has no separate timeout for half-closed server connections (timeouts.server applies)"},
	"timeout tarpit":          {in: inProxy, reject: "lbd has no tarpit"},
	"contimeout":              {in: inBE, reject: "removed from HAProxy 2.x: write timeout connect"},
	"clitimeout":              {in: inFE, reject: "removed from HAProxy 2.x: write timeout client"},
	"srvtimeout":              {in: inBE, reject: "removed from HAProxy 2.x: write timeout server"},

	// Balancing and retries.
	"balance":                   {in: inBE, conv: convBalance},
	"hash-type":                 {in: inBE, conv: convHashType},
	"retries":                   {in: inBE, conv: beInt("retries", 0, 100)},
	"option redispatch":         {in: inBE, negatable: true, conv: convRedispatch},
	"option allbackups":         {in: inBE, ignore: "lbd always spreads the load over every usable backup server"},
	"option persist":            {in: inBE, reject: "lbd redispatches a request whose persistence cookie names a DOWN server; it cannot insist on it"},
	"option prefer-last-server": {in: inBE, reject: "lbd balances every request of a kept-alive connection"},
	"fullconn":                  {in: inBE, reject: "lbd has no dynamic maxconn (minconn/fullconn); write the servers' maxconn"},
	"dispatch":                  {in: inBE, reject: "lbd has no dispatch address; write a server"},

	// Servers and their health checks.
	"server":                    {in: inBE, conv: convServer},
	"default-server":            {in: inBE, conv: convDefaultServer},
	"server-template":           {in: inBE, reject: "lbd has no server templates (DNS service discovery); write each server"},
	"option httpchk":            {in: inBE, conv: convHTTPChk},
	"http-check expect":         {in: inBE, conv: convHTTPCheckExpect},
	"http-check send":           {in: inBE, conv: convHTTPCheckSend},
	"http-check connect":        {in: inBE, reject: "lbd's http check connects to the server (or health_check.port) without options"},
	"http-check comment":        {in: inBE, ignore: "a comment of the check's log message"},
	"http-check disable-on-404": {in: inBE, reject: "lbd has no NOLB state on 404; drain servers with lbctl server state"},
	"http-check send-state":     {in: inBE, reject: "lbd does not send its server state in checks"},
	"option tcp-check":          {in: inBE, conv: convTCPCheckOption},
	"tcp-check connect":         {in: inBE, conv: convTCPCheckConnect},
	"tcp-check send":            {in: inBE, conv: convTCPCheckSend},
	"tcp-check send-binary":     {in: inBE, conv: convTCPCheckSendBinary},
	"tcp-check expect":          {in: inBE, conv: convTCPCheckExpect},
	"tcp-check comment":         {in: inBE, ignore: "a comment of the check's log message"},
	"option redis-check":        {in: inBE, conv: convRedisCheck},
	"option ssl-hello-chk":      {in: inBE, reject: "lbd has no SSL hello check yet"},
	"option smtpchk":            {in: inBE, reject: "lbd has no SMTP check; a tcp-check with expect = \"220 \" checks the banner"},
	"option mysql-check":        {in: inBE, reject: "lbd has no MySQL check"},
	"option pgsql-check":        {in: inBE, reject: "lbd has no PostgreSQL check"},
	"option ldap-check":         {in: inBE, reject: "lbd has no LDAP check"},
	"option spop-check":         {in: inBE, reject: "lbd has no SPOP check"},
	"option external-check":     {in: inBE, reject: "lbd runs no external check programs"},
	"external-check":            {in: inBE, reject: "lbd runs no external check programs"},
	"option log-health-checks":  {in: inBE, reject: "lbd logs each UP/DOWN change, not each check result"},

	// Cookies.
	"cookie": {in: inBE, conv: convCookie},

	// Error pages.
	"errorfile":   {in: inProxy, conv: convErrorFile},
	"errorfiles":  {in: inProxy, reject: "lbd has no http-errors sections; write an error_file per status"},
	"errorloc":    {in: inProxy, reject: "lbd answers its errors itself; it cannot redirect them"},
	"errorloc302": {in: inProxy, reject: "lbd answers its errors itself; it cannot redirect them"},
	"errorloc303": {in: inProxy, reject: "lbd answers its errors itself; it cannot redirect them"},
	"http-error":  {in: inProxy, reject: "lbd has no http-error rules; write an error_file per status"},

	// Logging.
	"log":                        {in: inProxy, negatable: true, conv: convProxyLog},
	"option httplog":             {in: inProxy, conv: convHTTPLog},
	"option tcplog":              {in: inProxy, conv: convTCPLog},
	"log-format":                 {in: inProxy, conv: convLogFormat},
	"option dontlognull":         {in: inProxy, ignore: "lbd never logs connections that sent nothing"},
	"option dontlog-normal":      {in: inProxy, reject: "lbd logs every request"},
	"option log-separate-errors": {in: inProxy, reject: "lbd logs every request at level info"},
	"option logasap":             {in: inProxy, reject: "lbd logs a request when it ends"},
	"log-tag":                    {in: inProxy, reject: "lbd has one syslog tag for the process (global log_tag)"},
	"capture request header":     {in: inFrontend | inListen, conv: convCapture("capture_request_header")},
	"capture response header":    {in: inFrontend | inListen, conv: convCapture("capture_response_header")},
	"capture cookie":             {in: inFrontend | inListen, reject: "lbd does not capture cookies; capture the Cookie header instead"},
	"declare capture":            {in: inFrontend | inListen, reject: "lbd has no capture slots for rules"},
	"unique-id-format":           {in: inProxy, reject: "lbd has no unique request ids yet"},
	"unique-id-header":           {in: inProxy, reject: "lbd has no unique request ids yet"},

	// Connection handling.
	"option httpclose":                    {in: inProxy, reject: "lbd keeps client and server connections alive; it cannot close them after each response"},
	"option http-server-close":            {in: inProxy, reject: "lbd keeps server connections alive; it cannot close them after each response"},
	"option http-keep-alive":              {in: inProxy, ignore: "keep-alive on both sides is what lbd does"},
	"option http-pretend-keepalive":       {in: inProxy, ignore: "lbd keeps server connections alive"},
	"option forceclose":                   {in: inProxy, reject: "removed from HAProxy 2.x; lbd keeps connections alive"},
	"option http-tunnel":                  {in: inProxy, reject: "removed from HAProxy 2.x"},
	"http-reuse":                          {in: inBE, conv: convHTTPReuse},
	"option abortonclose":                 {in: inBE, reject: "not configurable in lbd"},
	"option http-ignore-probes":           {in: inFE, reject: "not configurable in lbd"},
	"option http-buffer-request":          {in: inBE, reject: "lbd streams request bodies"},
	"option accept-invalid-http-request":  {in: inFE, reject: "lbd refuses invalid requests (400)"},
	"option accept-invalid-http-response": {in: inBE, reject: "lbd refuses invalid responses (502)"},
	"option http-use-htx":                 {in: inProxy, ignore: "obsolete in HAProxy 2.x"},
	"option splice-auto":                  {in: inProxy, ignore: "lbd splices bulk tcp streams by itself"},
	"option splice-request":               {in: inProxy, ignore: "lbd splices bulk tcp streams by itself"},
	"option splice-response":              {in: inProxy, ignore: "lbd splices bulk tcp streams by itself"},
	"option tcp-smart-accept":             {in: inFE, ignore: "a socket tuning lbd does not need"},
	"option tcp-smart-connect":            {in: inBE, ignore: "a socket tuning lbd does not need"},
	"option tcpka":                        {in: inProxy, reject: "lbd does not set TCP keep-alive probes"},
	"option clitcpka":                     {in: inFE, reject: "lbd does not set TCP keep-alive probes"},
	"option srvtcpka":                     {in: inBE, reject: "lbd does not set TCP keep-alive probes"},
	"option nolinger":                     {in: inProxy, reject: "not configurable in lbd"},
	"option contstats":                    {in: inFE, ignore: "lbd's counters are continuous"},
	"option socket-stats":                 {in: inFE, ignore: "lbd's stats are per frontend"},
	"option independent-streams":          {in: inProxy, ignore: "lbd times each direction of a tunnel together (timeouts.tunnel)"},
	"option http-no-delay":                {in: inProxy, ignore: "lbd sends as soon as it can"},
	"option checkcache":                   {in: inBE, reject: "lbd does not inspect the cacheability of responses"},
	"option originalto":                   {in: inProxy, reject: "lbd does not add X-Original-To"},
	"option transparent":                  {in: inBE, reject: "lbd has no transparent proxying"},
	"source":                              {in: inBE, reject: "lbd connects from the node's own address"},
	"rate-limit sessions":                 {in: inFE, reject: "lbd has no session rate limit"},
	"monitor-uri":                         {in: inFE, reject: "lbd has no monitor URI; the stats listener's /metrics or a tcp check of the frontend does that job"},
	"monitor fail":                        {in: inFE, reject: "lbd has no monitor URI"},
	"monitor-net":                         {in: inFE, reject: "removed from HAProxy 2.x"},
	"compression":                         {in: inProxy, reject: "lbd does not compress responses"},
	"email-alert":                         {in: inProxy, reject: "lbd sends no mail; use a notify script or the metrics"},

	// Rules: each becomes a row of its own once lbd has rules.
	"http-request":          {in: inProxy, conv: convRule},
	"http-response":         {in: inProxy, conv: convRule},
	"http-after-response":   {in: inProxy, reject: "lbd has no http-after-response rules yet"},
	"tcp-request":           {in: inProxy, conv: convRule},
	"tcp-response":          {in: inBE, reject: "lbd has no tcp-response rules yet"},
	"use-server":            {in: inBE, reject: "lbd has no use-server rules"},
	"redirect":              {in: inProxy, conv: convRedirect},
	"stick-table":           {in: inFrontend | inBackend | inListen, conv: convStickTable},
	"stick":                 {in: inBE, reject: "lbd's stick tables rate-limit; server persistence is the cookie block or balance source"},
	"stick on":              {in: inBE, reject: "lbd's stick tables rate-limit; server persistence is the cookie block or balance source"},
	"stick match":           {in: inBE, reject: "lbd's stick tables rate-limit; server persistence is the cookie block or balance source"},
	"stick store-request":   {in: inBE, reject: "lbd's stick tables rate-limit; server persistence is the cookie block or balance source"},
	"stick store-response":  {in: inBE, reject: "lbd's stick tables rate-limit; server persistence is the cookie block or balance source"},
	"filter":                {in: inProxy, reject: "lbd has no filters"},
	"http-send-name-header": {in: inBE, reject: "lbd does not send the server's name to it"},

	// Statistics page.
	"stats enable":       {in: inProxy, conv: convStats},
	"stats uri":          {in: inProxy, conv: convStats},
	"stats refresh":      {in: inProxy, conv: convStats},
	"stats auth":         {in: inProxy, conv: convStats},
	"stats realm":        {in: inProxy, conv: convStats},
	"stats hide-version": {in: inProxy, conv: convStats},
	"stats admin":        {in: inProxy, conv: convStats},
	"stats show-legends": {in: inProxy, conv: convStats},
	"stats show-modules": {in: inProxy, conv: convStats},
	"stats show-node":    {in: inProxy, conv: convStats},
	"stats show-desc":    {in: inProxy, conv: convStats},
	"stats scope":        {in: inProxy, conv: convStats},
	"stats http-request": {in: inProxy, conv: convStats},
	"stats bind-process": {in: inProxy, ignore: "lbd is one process"},

	// Identity.
	"description":  {in: inProxy, ignore: "a description shown on HAProxy's stats page"},
	"id":           {in: inProxy, ignore: "lbd names proxies, it does not number them"},
	"disabled":     {in: inProxy, reject: "lbd has no disabled proxies; leave the section out"},
	"enabled":      {in: inProxy, ignore: "proxies are enabled"},
	"bind-process": {in: inProxy, ignore: "lbd is one process"},
}

// globalKeywords is the conversion table of haproxy.cfg's global section.
var globalKeywords = map[string]*keyword{
	"maxconn":           {in: inGlobal, conv: globalInt("maxconn", 1, 10_000_000)},
	"hard-stop-after":   {in: inGlobal, conv: convHardStopAfter},
	"log":               {in: inGlobal, conv: convGlobalLog},
	"log-tag":           {in: inGlobal, conv: convLogTag},
	"log-send-hostname": {in: inGlobal, reject: "lbd's syslog lines carry no host name; the receiver adds its own"},

	"daemon":                         {in: inGlobal, ignore: "lbd runs in the foreground under systemd"},
	"master-worker":                  {in: inGlobal, ignore: "lbd runs in the foreground under systemd"},
	"chroot":                         {in: inGlobal, ignore: "lbd's systemd unit confines it (ProtectSystem, PrivateTmp ...)"},
	"user":                           {in: inGlobal, ignore: "lbd's systemd unit runs it as user lbd"},
	"group":                          {in: inGlobal, ignore: "lbd's systemd unit runs it as user lbd"},
	"uid":                            {in: inGlobal, ignore: "lbd's systemd unit runs it as user lbd"},
	"gid":                            {in: inGlobal, ignore: "lbd's systemd unit runs it as user lbd"},
	"pidfile":                        {in: inGlobal, ignore: "systemd tracks lbd's pid"},
	"nbproc":                         {in: inGlobal, ignore: "lbd is one process using every core"},
	"nbthread":                       {in: inGlobal, ignore: "lbd uses every core"},
	"cpu-map":                        {in: inGlobal, ignore: "lbd uses every core; pin it with systemd's CPUAffinity"},
	"stats socket":                   {in: inGlobal, ignore: "lbd's runtime API is global.admin_socket (default /run/lbd/admin.sock), driven by lbctl; scripts that speak HAProxy's CLI protocol need lbctl"},
	"stats timeout":                  {in: inGlobal, ignore: "lbd's admin API has its own timeouts"},
	"stats maxconn":                  {in: inGlobal, ignore: "lbd's admin API has its own limits"},
	"ulimit-n":                       {in: inGlobal, ignore: "lbd's systemd unit sets LimitNOFILE"},
	"default-path":                   {in: inGlobal, ignore: "lbd resolves relative paths from the configuration file's directory"},
	"zero-warning":                   {in: inGlobal, ignore: "lbd refuses every problem of its file"},
	"strict-limits":                  {in: inGlobal, ignore: "lbd refuses limits it cannot have"},
	"quiet":                          {in: inGlobal, ignore: "lbd logs through its own levels (global.log_level)"},
	"description":                    {in: inGlobal, ignore: "a description shown on HAProxy's stats page"},
	"node":                           {in: inGlobal, ignore: "a name shown on HAProxy's stats page"},
	"ca-base":                        {in: inGlobal, ignore: "only used by TLS settings"},
	"crt-base":                       {in: inGlobal, ignore: "only used by TLS settings"},
	"maxsslconn":                     {in: inGlobal, ignore: "only used by TLS listeners"},
	"ssl-server-verify":              {in: inGlobal, ignore: "only used by TLS servers"},
	"server-state-file":              {in: inGlobal, ignore: "lbd keeps server states across reloads in memory"},
	"server-state-base":              {in: inGlobal, ignore: "lbd keeps server states across reloads in memory"},
	"expose-experimental-directives": {in: inGlobal, ignore: "no meaning in lbd"},
	"insecure-fork-wanted":           {in: inGlobal, ignore: "no meaning in lbd"},
	"insecure-setuid-wanted":         {in: inGlobal, ignore: "no meaning in lbd"},
	"set-dumpable":                   {in: inGlobal, ignore: "no meaning in lbd"},
	"maxpipes":                       {in: inGlobal, ignore: "lbd sizes its splice pipes itself"},
	"noepoll":                        {in: inGlobal, ignore: "lbd uses epoll"},
	"nosplice":                       {in: inGlobal, reject: "lbd always splices bulk tcp streams"},
	"busy-polling":                   {in: inGlobal, ignore: "a scheduler tuning lbd does not need"},
	"spread-checks":                  {in: inGlobal, ignore: "lbd spreads the first checks of a backend over fast_interval"},
	"max-spread-checks":              {in: inGlobal, ignore: "lbd spreads the first checks of a backend over fast_interval"},
	"localpeer":                      {in: inGlobal, conv: convLocalPeer},
	"lua-load":                       {in: inGlobal, reject: "lbd runs no Lua"},
	"lua-prepend-path":               {in: inGlobal, reject: "lbd runs no Lua"},
	"setenv":                         {in: inGlobal, reject: "lbd does not expand environment variables"},
	"presetenv":                      {in: inGlobal, reject: "lbd does not expand environment variables"},
	"resetenv":                       {in: inGlobal, reject: "lbd does not expand environment variables"},
	"unsetenv":                       {in: inGlobal, reject: "lbd does not expand environment variables"},
	"maxconnrate":                    {in: inGlobal, reject: "lbd has no connection rate limit"},
	"maxsessrate":                    {in: inGlobal, reject: "lbd has no session rate limit"},
	"h1-case-adjust":                 {in: inGlobal, reject: "lbd forwards header names as received"},
	"h1-case-adjust-file":            {in: inGlobal, reject: "lbd forwards header names as received"},
	"unix-bind":                      {in: inGlobal, reject: "lbd binds no unix sockets for traffic"},
}

// globalPrefixes covers families of global keywords by their prefix.
var globalPrefixes = []struct {
	prefix string
	row    *keyword
}{
	{"tune.", &keyword{in: inGlobal, ignore: "lbd sizes its buffers and queues itself"}},
	{"ssl-default-", &keyword{in: inGlobal, ignore: "only used by TLS listeners and servers"}},
	{"ssl-", &keyword{in: inGlobal, ignore: "only used by TLS listeners and servers"}},
	{"ocsp-", &keyword{in: inGlobal, ignore: "only used by TLS listeners"}},
	{"profiling.", &keyword{in: inGlobal, ignore: "no meaning in lbd"}},
	{"stats ", &keyword{in: inGlobal, ignore: "lbd's runtime API is global.admin_socket, driven by lbctl"}},
	{"51degrees-", &keyword{in: inGlobal, reject: "lbd has no device detection"}},
	{"wurfl-", &keyword{in: inGlobal, reject: "lbd has no device detection"}},
	{"deviceatlas-", &keyword{in: inGlobal, reject: "lbd has no device detection"}},
}

// --- simple rows ---------------------------------------------------------------

// feInt sets an integer attribute of the frontend block.
func feInt(name string, lo, hi int) func(*hctx) {
	return func(c *hctx) {
		if c.p.fe == nil {
			return
		}
		if n, ok := c.oneInt(lo, hi); ok {
			c.p.fe.set(name, intV(n), c.at(), c.defNote())
		}
	}
}

// beInt sets an integer attribute of the backend block.
func beInt(name string, lo, hi int) func(*hctx) {
	return func(c *hctx) {
		if c.p.be == nil {
			return
		}
		if n, ok := c.oneInt(lo, hi); ok {
			c.p.be.set(name, intV(n), c.at(), c.defNote())
		}
	}
}

// globalInt sets an integer attribute of lbd's global block.
func globalInt(name string, lo, hi int) func(*hctx) {
	return func(c *hctx) {
		if n, ok := c.oneInt(lo, hi); ok {
			c.hc.doc.block("global", c.at()).set(name, intV(n), c.at(), "")
		}
	}
}

// oneInt reads the only argument as a whole number in [lo, hi].
func (c *hctx) oneInt(lo, hi int) (int, bool) {
	if len(c.args) != 1 {
		c.notConverted("expects one number")
		return 0, false
	}
	n, err := parseInt(c.args[0], lo, hi)
	if err != nil {
		c.notConverted("%v", err)
		return 0, false
	}
	return n, true
}

// oneTime reads the only argument as an HAProxy time.
func (c *hctx) oneTime(defUnit time.Duration) (time.Duration, bool) {
	if len(c.args) != 1 {
		c.notConverted("expects one time")
		return 0, false
	}
	d, err := parseHAProxyTime(c.args[0], defUnit)
	if err != nil {
		c.notConverted("%v", err)
		return 0, false
	}
	return d, true
}

// defNote is the trailing comment of a value that comes from a defaults
// section: the line is named by the attribute's position already, this
// says it is inherited.
func (c *hctx) defNote() string {
	if c.fromDef {
		return "inherited from defaults"
	}
	return ""
}

func convMode(c *hctx) {
	if len(c.args) != 1 {
		c.notConverted("expects http or tcp")
		return
	}
	switch c.args[0] {
	case "http", "tcp":
		c.p.mode.put(c.args[0], c.l, c.fromDef)
	case "health":
		c.notConverted("mode health was removed from HAProxy 2.x; lbd's stats listener or a tcp check does its job")
	default:
		c.notConverted("unknown mode %q", c.args[0])
	}
}

func convDefaultBackend(c *hctx) {
	if c.p.fe == nil {
		return
	}
	if len(c.args) != 1 {
		c.notConverted("expects one backend name")
		return
	}
	if strings.Contains(c.args[0], "%[") {
		c.notConverted("a dynamic backend name is not convertible")
		return
	}
	c.p.fe.set("default_backend", strV(c.args[0]), c.at(), c.defNote())
}

func convTimeout(name string) func(*hctx) {
	return func(c *hctx) {
		if d, ok := c.oneTime(time.Millisecond); ok {
			if d < time.Millisecond || d > 7*24*time.Hour {
				c.notConverted("%s is out of lbd's range 1ms..7d", c.args[0])
				return
			}
			c.p.timeouts[name] = setting[time.Duration]{v: d, src: c.l, fromDef: c.fromDef, set: true}
		}
	}
}

func convTimeoutCheck(c *hctx) {
	if d, ok := c.oneTime(time.Millisecond); ok {
		c.p.check.timeout.put(d, c.l, c.fromDef)
	}
}

func convRedispatch(c *hctx) {
	if c.no {
		c.notConverted("lbd always sends the last retry to another server")
		return
	}
	if len(c.args) > 0 {
		c.notConverted("lbd redispatches on the last retry only; an interval is not convertible")
		return
	}
	c.ignored("lbd always sends the last retry to another server")
}

func convHTTPReuse(c *hctx) {
	if len(c.args) != 1 {
		c.notConverted("expects never, safe, aggressive or always")
		return
	}
	switch c.args[0] {
	case "never":
		c.notConverted("lbd reuses idle server connections; it cannot be turned off")
	case "safe", "aggressive", "always":
		c.ignored("lbd reuses idle server connections, replaying only idempotent requests on a connection the server closed")
	default:
		c.notConverted("unknown mode %q", c.args[0])
	}
}

func convBalance(c *hctx) {
	if len(c.args) == 0 {
		c.notConverted("expects an algorithm")
		return
	}
	alg, rest := c.args[0], c.args[1:]
	be := c.p.be
	set := func(v string) { be.set("balance", strV(v), c.at(), c.defNote()) }
	switch {
	case alg == "roundrobin" || alg == "static-rr" || alg == "leastconn" || alg == "first" || alg == "source":
		set(alg)
	case alg == "random" || alg == "random(2)":
		set("random")
	case strings.HasPrefix(alg, "random("):
		set("random")
		c.notConverted("lbd's random draws 2 servers and takes the less loaded (random(2)); %s draws another number", alg)
		return
	case alg == "uri":
		set("uri")
		if len(rest) > 0 {
			c.notConverted("lbd hashes the path without the query string; the options %q are not convertible", strings.Join(rest, " "))
		}
		return
	case alg == "url_param":
		if len(rest) == 0 {
			c.notConverted("url_param needs a parameter name")
			return
		}
		set("url_param")
		be.set("hash_key", strV(rest[0]), c.at(), c.defNote())
		if len(rest) > 1 {
			c.notConverted("lbd hashes the parameter of the query string only; %q is not convertible", strings.Join(rest[1:], " "))
		}
		return
	case strings.HasPrefix(alg, "hdr(") && strings.HasSuffix(alg, ")") && len(alg) > 5:
		set("hdr")
		be.set("hash_key", strV(alg[4:len(alg)-1]), c.at(), c.defNote())
		if len(rest) > 0 {
			c.notConverted("lbd hashes the whole header value; %q is not convertible", strings.Join(rest, " "))
		}
		return
	default:
		c.notConverted("lbd has no %q balancing", alg)
		return
	}
	if len(rest) > 0 {
		c.notConverted("unexpected words after %s", alg)
	}
}

func convHashType(c *hctx) {
	if len(c.args) == 0 {
		c.notConverted("expects map-based or consistent")
		return
	}
	switch c.args[0] {
	case "map-based", "consistent":
		c.p.be.set("hash_type", strV(c.args[0]), c.at(), c.defNote())
	default:
		c.notConverted("lbd has no %q hash type", c.args[0])
		return
	}
	if len(c.args) > 1 {
		c.notConverted("lbd uses its own hash function: keys spread evenly, but not onto the same servers as HAProxy's %s", strings.Join(c.args[1:], " "))
	}
}

func convForwardFor(c *hctx) {
	if c.no {
		c.p.forward.put(false, c.l, c.fromDef)
		return
	}
	for i := 0; i < len(c.args); i++ {
		switch c.args[i] {
		case "except", "header":
			c.notConverted("lbd adds X-Forwarded-For for every client (trusted_proxies says whose incoming header it appends to); %q is not convertible", c.args[i])
			return
		case "if-none":
			c.notConverted("lbd replaces an X-Forwarded-For from untrusted clients (trusted_proxies appends); if-none is not convertible")
			return
		default:
			c.notConverted("unknown option %q", c.args[i])
			return
		}
	}
	c.p.forward.put(true, c.l, c.fromDef)
}

func convHardStopAfter(c *hctx) {
	if d, ok := c.oneTime(time.Millisecond); ok {
		if d > 24*time.Hour {
			c.notConverted("lbd's grace is at most 24h")
			return
		}
		c.hc.doc.block("global", c.at()).set("grace", durV(d), c.at(), "how long connections may finish on stop and reload")
	}
}
