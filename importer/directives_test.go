package importer

import (
	"regexp"
	"strings"
	"testing"
)

// hapTemplate is the haproxy.cfg a directive row is put into: the row's
// line goes where its section's marker is.
const hapTemplate = `global
	@global
defaults
	mode http
	option dontlognull
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	@defaults
frontend fe
	bind 192.0.2.10:80
	default_backend be
	@frontend
backend be
	@backend
	server s1 192.0.2.21:80 check
`

// kaTemplate is the keepalived.conf a directive row is put into.
const kaTemplate = `vrrp_script chk {
	script "/usr/bin/true"
	@script
}
vrrp_instance VI_1 {
	interface eth0
	virtual_router_id 51
	virtual_ipaddress {
		192.0.2.100/24
	}
	track_script {
		chk
	}
	@instance
}
@top
`

var blanks = regexp.MustCompile(`[ \t]+`)

// TestDirectives converts one directive at a time: what it becomes in
// the HCL (want, blanks collapsed), or the note it gets. Every directive
// the importer converts, ignores or refuses has a row here: a new row of
// a conversion table comes with a row of this test.
func TestDirectives(t *testing.T) {
	const none = Kind(-1)
	for _, tc := range []struct {
		at   string // template marker: global, defaults, frontend, backend, script, instance, top
		line string
		want []string // substrings of the HCL
		kind Kind     // the note expected, none for a clean conversion
		note string   // substring of the note's reason
	}{
		// global
		{"global", "maxconn 4096", []string{"maxconn = 4096"}, none, ""},
		{"global", "maxconn many", nil, NotConverted, "not a whole number"},
		{"global", "hard-stop-after 30s", []string{`grace = "30s"`}, none, ""},
		{"global", "log 127.0.0.1:514 local0", []string{`log "127.0.0.1:514" {`, `facility = "local0"`, `level = "debug"`, `log_tag = "haproxy"`}, none, ""},
		{"global", "log /dev/log len 2048 format rfc5424 local2 info notice", []string{`log "/dev/log" {`, `len = 2048`, `format = "rfc5424"`, `facility = "local2"`, `level = "info"`, `min_level = "notice"`}, none, ""},
		{"global", "log stderr format raw daemon", []string{`log "stderr" {`, `format = "raw"`}, none, ""},
		{"global", "log ring@buf local0", nil, NotConverted, "udp@, unix@"},
		{"global", "log 127.0.0.1 local9", nil, NotConverted, "unknown facility"},
		{"global", "log 127.0.0.1 sample 1:2 local0", nil, NotConverted, "sample"},
		{"global", "log-tag web", []string{`log_tag = "web"`}, none, ""},
		{"global", "daemon", nil, Ignored, "systemd"},
		{"global", "chroot /var/lib/haproxy", nil, Ignored, "confines"},
		{"global", "user haproxy", nil, Ignored, "user lbd"},
		{"global", "stats socket /run/haproxy/admin.sock mode 660 level admin", nil, Ignored, "lbctl"},
		{"global", "tune.bufsize 32768", nil, Ignored, "buffers"},
		{"global", "ssl-default-bind-options no-sslv3", nil, Ignored, "minimum is TLS 1.2"},
		{"global", "ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets", []string{"ssl_default_bind {", `min_version = "TLSv1.2"`}, NotConverted, "tickets = false"},
		{"global", "ssl-default-bind-ciphers ECDHE+AESGCM:!aNULL", []string{`ciphers = "ECDHE+AESGCM:!aNULL"`}, none, ""},
		{"global", "ssl-default-bind-ciphers NOPE", nil, NotConverted, "unknown cipher"},
		{"global", "ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", nil, Ignored, "three TLS 1.3 suites"},
		{"global", "ssl-default-bind-ciphersuites TLS_AES_256_GCM_SHA384", nil, NotConverted, "cannot be restricted"},
		{"global", "ssl-default-bind-curves X25519:P-256", []string{`curves = ["X25519", "P-256"]`}, none, ""},
		{"global", "ssl-default-server-options ssl-max-ver TLSv1.2", []string{"ssl_default_server {", `max_version = "TLSv1.2"`}, none, ""},
		{"global", "tune.ssl.cachesize 50000", []string{"tls_session_cache = 50000"}, none, ""},
		{"global", "tune.ssl.lifetime 10m", []string{`tls_session_lifetime = "10m"`}, none, ""},
		{"global", "lua-load /etc/haproxy/x.lua", nil, NotConverted, "Lua"},
		{"global", "nonsense-keyword 1", nil, NotConverted, "unknown to the importer"},
		{"global", `setenv X "${HOME}"`, nil, NotConverted, "environment variable"},

		// modes and timeouts
		{"frontend", "mode tcp", []string{`mode = "http"`}, Replaced, "upgrades"}, // a tcp frontend with an http backend
		{"backend", "mode tcp", []string{`mode = "tcp"`}, NotConverted, "cannot use a tcp backend"},
		{"frontend", "timeout client 5s", []string{"timeouts {", `client = "5s"`, `http_request = "5s"`}, none, ""},
		{"frontend", "timeout http-request 4s", []string{`http_request = "4s"`}, none, ""},
		{"frontend", "timeout http-keep-alive 2s", []string{`http_keep_alive = "2s"`}, none, ""},
		{"backend", "timeout connect 1500", []string{`connect = "1500ms"`, `queue = "1500ms"`}, none, ""},
		{"backend", "timeout queue 2m", []string{`queue = "2m"`}, none, ""},
		{"backend", "timeout tunnel 1h", []string{`tunnel = "1h"`}, none, ""},
		{"backend", "timeout server 1x", nil, NotConverted, "unknown unit"},
		{"frontend", "timeout tarpit 5s", nil, NotConverted, "tarpit"},
		{"backend", "timeout client 5s", nil, Ignored, "does not use"},

		// frontends
		{"frontend", "bind :8080", []string{`bind = ["192.0.2.10:80", "*:8080"]`}, none, ""},
		{"frontend", "bind [2001:db8::1]:80", []string{`"[2001:db8::1]:80"`}, none, ""},
		{"frontend", "bind ipv4@192.0.2.11:80,192.0.2.12:80", []string{`"192.0.2.11:80", "192.0.2.12:80"`}, none, ""},
		{"frontend", "bind :8081 name clear", []string{`"*:8081"`}, Ignored, "names listeners"},
		{"frontend", "bind :443 ssl crt /etc/ssl/x.pem", []string{"tls {", `bind = ["*:443"]`, `crt = ["/etc/ssl/x.pem"]`}, none, ""},
		{"frontend", "bind :443,:8443 ssl crt /etc/ssl/certs/ alpn h2,http/1.1 ssl-min-ver TLSv1.2 strict-sni no-tls-tickets", []string{`bind = ["*:443", "*:8443"]`, `crt = ["/etc/ssl/certs/"]`, `alpn = ["http/1.1"]`, `min_version = "TLSv1.2"`, `strict_sni = true`, `tickets = false`}, NotConverted, "h2 dropped"},
		{"frontend", "bind :443 ssl crt /etc/ssl/x.pem verify required ca-file /etc/ssl/ca.pem crl-file /etc/ssl/crl.pem", []string{`verify = "required"`, `ca_file = "/etc/ssl/ca.pem"`, `crl_file = "/etc/ssl/crl.pem"`}, none, ""},
		{"frontend", "bind :443 ssl crt /etc/ssl/x.pem ciphers ECDHE-ECDSA-AES128-GCM-SHA256 curves X25519:P-256 no-sslv3", []string{`ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"`, `curves = ["X25519", "P-256"]`}, Ignored, "never offers SSLv3"},
		{"frontend", "bind :443 ssl", nil, NotConverted, "needs crt or crt-list"},
		{"frontend", "bind :443 ssl crt /etc/ssl/x.pem allow-0rtt", nil, NotConverted, "early data"},
		{"frontend", "bind :443 ssl crt /etc/ssl/x.pem tls-ticket-keys /etc/ssl/ticket.keys", []string{`tls_ticket_secret = "/etc/ssl/ticket.keys"`}, Replaced, "derives its ticket keys"},
		{"frontend", "redirect scheme https code 301 if !{ ssl_fc }", []string{"redirect_https = 301"}, none, ""},
		{"frontend", "http-request redirect scheme https unless { ssl_fc }", []string{"redirect_https = 302"}, none, ""},
		{"frontend", "redirect scheme https if { path_beg /secure }", nil, NotConverted, "plain binds"},
		{"frontend", "redirect location /elsewhere", nil, NotConverted, "only to https"},
		{"frontend", "bind :8000-8010", nil, NotConverted, "port range"},
		{"frontend", "bind /run/x.sock", nil, NotConverted, "unix"},
		{"frontend", "bind :8080 accept-proxy", []string{"accept_proxy {", `from = ["0.0.0.0/0", "::/0"]`}, NotConverted, "every bind"}, // the row's frontend has a bind without it
		{"frontend", "bind :8080 defer-accept", []string{`"*:8080"`, "defer_accept = true"}, none, ""},
		{"frontend", "maxconn 3000", []string{"maxconn = 3000"}, none, ""},
		{"frontend", "option forwardfor", []string{"forward_for = true"}, none, ""},
		{"frontend", "option forwardfor except 127.0.0.0/8", nil, NotConverted, "except"},
		{"frontend", "errorfile 503 /etc/haproxy/errors/503.http", []string{"error_file {", "status = 503", `path = "/etc/haproxy/errors/503.http"`}, none, ""},
		{"frontend", "errorfile 403 /etc/haproxy/errors/403.http", []string{"error_file {", "status = 403", `path = "/etc/haproxy/errors/403.http"`}, none, ""},
		{"frontend", "errorfile 418 /etc/haproxy/errors/418.http", nil, NotConverted, "never answers 418"},
		{"frontend", "acl api path_beg /api/\n\tuse_backend be if api", []string{`route "api" {`, `path_prefix = ["/api/"]`, `backend = "be"`}, none, ""},
		{"frontend", "acl h hdr(host) -i API.example.com\n\tuse_backend be if h", []string{`host = ["api.example.com"]`}, none, ""},
		{"frontend", "acl h hdr(host) -i a.example.com\n\tacl p path_beg /x\n\tuse_backend be if h p", []string{`host = ["a.example.com"]`, `path_prefix = ["/x"]`}, none, ""},
		{"frontend", "acl a path_beg /a\n\tacl b path_beg /b\n\tuse_backend be if a || b", []string{`route "be" {`, `route "be_2" {`}, none, ""},
		{"frontend", "use_backend be if { path_beg /img /css }", []string{`path_prefix = ["/img", "/css"]`}, none, ""},
		{"frontend", "use_backend be", []string{`route "be" {`}, none, ""},
		{"frontend", "acl a path_beg /a\n\tuse_backend be if !a", []string{`acl "a" {`, `path_beg = ["/a"]`, `route "be" {`, `if = "!a"`}, none, ""},
		{"frontend", "acl a path_beg /a\n\tuse_backend be unless a", []string{`unless = "a"`, `backend = "be"`}, none, ""},
		{"frontend", "use_backend be if { hdr_beg(host) -i img }", []string{`acl "anon_1" {`, `host_beg = ["img"]`, `if = "anon_1"`}, none, ""},
		{"frontend", "use_backend be if { path_beg -i /Img }", []string{`path_beg = ["/Img"]`, "ignore_case = true"}, none, ""},
		{"frontend", "use_backend be if undefined_acl", nil, NotConverted, "not defined"},
		{"frontend", "use_backend %[req.hdr(host),lower]", []string{`route "dynamic" {`, `backend = "%[req.hdr(host),lower]"`}, none, ""},
		{"frontend", "option httplog", []string{"access_log = false"}, none, ""}, // without log global HAProxy logs nothing
		{"frontend", "log global\n\toption httplog", []string{`log_format = "httplog"`}, none, ""},
		{"frontend", "log global", nil, NotConverted, "default format"},
		{"frontend", "log global\n\toption tcplog", []string{`log_format = "tcplog"`}, none, ""},
		{"frontend", `log global` + "\n\t" + `log-format "%ci:%cp %ST %{+Q}r"`, []string{`log_format = "%ci:%cp %ST %%{+Q}r"`}, none, ""},
		{"frontend", `log global` + "\n\t" + `log-format "%[src]"`, nil, NotConverted, "sample expressions"},
		{"frontend", "log 127.0.0.1 local0", nil, NotConverted, "own targets"},
		{"frontend", "log global\n\tno log", []string{"access_log = false"}, none, ""},
		{"frontend", "capture request header Host len 64", []string{`capture_request_header "Host" {`, "len = 64"}, none, ""},
		{"frontend", "capture response header Content-Type len 20", []string{`capture_response_header "Content-Type" {`, "len = 20"}, none, ""},
		{"frontend", "capture cookie JSESSIONID len 32", nil, NotConverted, "Cookie header"},
		{"frontend", "option dontlognull", nil, Ignored, "sent nothing"},
		{"frontend", "option httpclose", nil, NotConverted, "keeps client and server connections alive"},
		{"frontend", "option http-keep-alive", nil, Ignored, "keep-alive"},
		{"frontend", "http-request deny if { src 10.0.0.0/8 }", []string{`acl "anon_1" {`, `src = ["10.0.0.0/8"]`, `http_request "deny" {`, `if = "anon_1"`}, none, ""},
		{"frontend", "tcp-request connection reject if { src 10.0.0.0/8 }", []string{`tcp_request "connection" "reject" {`, `if = "anon_1"`}, none, ""},
		// the traffic policy: acl criteria
		{"frontend", "acl a path /x /y\n\thttp-request deny if a", []string{`path = ["/x", "/y"]`}, none, ""},
		{"frontend", "acl a path_end .php\n\thttp-request deny if a", []string{`path_end = [".php"]`}, none, ""},
		{"frontend", "acl a path -m sub admin\n\thttp-request deny if a", []string{`path_sub = ["admin"]`}, none, ""},
		{"frontend", "acl a path_reg ^/u/[0-9]+$\n\thttp-request deny if a", []string{`path_reg = ["^/u/[0-9]+$"]`}, none, ""},
		{"frontend", "acl a path_dir img\n\thttp-request deny if a", []string{`path_dir = ["img"]`}, none, ""},
		{"frontend", "acl a path_dom example\n\thttp-request deny if a", []string{`path_dom = ["example"]`}, none, ""},
		{"frontend", "acl a url_beg /a?\n\thttp-request deny if a", []string{`url_beg = ["/a?"]`}, none, ""},
		{"frontend", "acl a path_len gt 100\n\thttp-request deny if a", []string{`path_len = ["gt 100"]`}, none, ""},
		{"frontend", "acl a hdr(host) -i www.example.com\n\thttp-request deny if a", []string{`host = ["www.example.com"]`}, none, ""},
		{"frontend", "acl a hdr_end(host) -i .example.com\n\thttp-request deny if a", []string{`host_end = [".example.com"]`}, none, ""},
		{"frontend", "acl a hdr_reg(host) -i ^a\\.\n\thttp-request deny if a", []string{`host_reg = ["^a\\."]`}, none, ""},
		{"frontend", "acl a hdr(X-Requested-With) XMLHttpRequest\n\thttp-request deny if a", []string{`hdr "X-Requested-With" {`, `value = ["XMLHttpRequest"]`}, none, ""},
		{"frontend", "acl a hdr(X-Token) -m found\n\thttp-request deny if a", []string{`hdr "X-Token" {`, "found = true"}, none, ""},
		{"frontend", "acl a hdr_sub(user-agent) -i bot\n\thttp-request deny if a", []string{`hdr "user-agent" {`, `sub = ["bot"]`, "ignore_case = true"}, none, ""},
		{"frontend", "acl a req.fhdr(accept) -m beg text\n\thttp-request deny if a", []string{`fhdr "accept" {`, `beg = ["text"]`}, none, ""},
		{"frontend", "acl a hdr_cnt(host) gt 1\n\thttp-request deny if a", []string{`sample "req.hdr_cnt(host)" {`, `value = ["gt 1"]`}, none, ""},
		{"frontend", "acl a req.cook(beta) -m found\n\thttp-request deny if a", []string{`cookie "beta" {`, "found = true"}, none, ""},
		{"frontend", "acl a cook(sid) abc\n\thttp-request deny if a", []string{`cookie "sid" {`, `value = ["abc"]`}, none, ""},
		{"frontend", "acl a urlp(debug) 1\n\thttp-request deny if a", []string{`url_param "debug" {`, `value = ["1"]`}, none, ""},
		{"frontend", "acl a src 10.0.0.0/8 192.168.1.1\n\thttp-request deny if a", []string{`src = ["10.0.0.0/8", "192.168.1.1"]`}, none, ""},
		{"frontend", "acl a src -f /etc/haproxy/blocked.lst\n\thttp-request deny if a", []string{`src_file = "/etc/haproxy/blocked.lst"`}, none, ""},
		{"frontend", "acl a path_beg -f /etc/haproxy/paths.lst\n\thttp-request deny if a", nil, NotConverted, "pattern files for src only"},
		{"frontend", "acl a dst_port 8080 8443\n\thttp-request deny if a", []string{`dst_port = ["8080", "8443"]`}, none, ""},
		{"frontend", "acl a method POST PUT\n\thttp-request deny if a", []string{`method = ["POST", "PUT"]`}, none, ""},
		{"frontend", "acl a req.ver 1.0\n\thttp-request deny if a", []string{`http_ver = ["1.0"]`}, none, ""},
		{"frontend", "acl a req_ssl_sni -m end .example.com\n\thttp-request deny if a", []string{`sni_end = [".example.com"]`}, none, ""},
		{"frontend", "acl a ssl_fc_sni -i a.example.com\n\thttp-request deny if a", []string{`sni = ["a.example.com"]`}, none, ""},
		{"frontend", "acl a path_beg /a\n\tacl a path_beg /b\n\thttp-request deny if a", []string{`acl "a_1" {`, `acl "a_2" {`, `if = "(a_1 || a_2)"`}, none, ""},
		{"frontend", "acl a nosuchfetch x\n\thttp-request deny if a", nil, NotConverted, "not convertible"},
		{"frontend", "http-request deny if TRUE", []string{`if = "TRUE"`}, none, ""},
		{"frontend", "http-request deny if METH_POST !HTTP_1.1", []string{`if = "METH_POST !HTTP_1.1"`}, none, ""},
		// the traffic policy: request rules
		{"frontend", "http-request allow if { src 10.0.0.0/8 }", []string{`http_request "allow" {`}, none, ""},
		{"frontend", "http-request deny deny_status 429", []string{`http_request "deny" {`, "status = 429"}, none, ""},
		{"frontend", "http-request tarpit deny_status 403", []string{`http_request "tarpit" {`, "status = 403"}, none, ""},
		{"frontend", `http-request return status 200 content-type text/plain string "ok 100%" hdr X-A 1`, []string{`http_request "return" {`, "status = 200", `content_type = "text/plain"`, `body = "ok 100%%"`, `headers = { "X-A" = "1" }`}, none, ""},
		{"frontend", `http-request return status 200 lf-string "you are %[src]"`, []string{`body = "you are %[src]"`}, none, ""},
		{"frontend", "http-request redirect scheme https code 301 if { path_beg /x }", []string{`http_request "redirect" {`, `scheme = "https"`, "code = 301"}, none, ""},
		{"frontend", "http-request redirect scheme http code 301", []string{`http_request "redirect" {`, `scheme = "http"`}, none, ""},
		{"frontend", "http-request redirect prefix https://new.example.com drop-query append-slash", []string{`prefix = "https://new.example.com"`, "drop_query = true", "append_slash = true"}, none, ""},
		{"frontend", "http-request redirect location /login?from=%[path] code 303", []string{`location = "/login?from=%[path]"`, "code = 303"}, none, ""},
		{"frontend", "http-request set-header X-Real-IP %[src]", []string{`http_request "set_header" {`, `name = "X-Real-IP"`, `value = "%[src]"`}, none, ""},
		{"frontend", "http-request add-header X-A b", []string{`http_request "add_header" {`}, none, ""},
		{"frontend", "http-request del-header X-Secret", []string{`http_request "del_header" {`, `name = "X-Secret"`}, none, ""},
		{"frontend", `http-request replace-header Cookie (.*)sid=[^;]*(.*) \1\2`, []string{`http_request "replace_header" {`, `replace = "\\1\\2"`}, none, ""},
		{"frontend", "http-request replace-value X-Roles ^adm(.*)$ ADM\\1", []string{`http_request "replace_value" {`}, none, ""},
		{"frontend", "http-request set-path /static%[path]", []string{`http_request "set_path" {`, `value = "/static%[path]"`}, none, ""},
		{"frontend", "http-request set-query %[query]&x=1", []string{`http_request "set_query" {`}, none, ""},
		{"frontend", "http-request set-uri /new", []string{`http_request "set_uri" {`}, none, ""},
		{"frontend", "http-request set-method GET", []string{`http_request "set_method" {`}, none, ""},
		{"frontend", `http-request replace-path ^/old/(.*) /new/\1`, []string{`http_request "replace_path" {`, `regex = "^/old/(.*)"`}, none, ""},
		{"frontend", `http-request replace-uri ^http://[^/]*(.*) \1`, []string{`http_request "replace_uri" {`}, none, ""},
		{"frontend", "http-request set-log-level silent if { path /health }", []string{`http_request "set_log_level" {`, `level = "silent"`}, none, ""},
		{"frontend", "http-request set-header X-Host %[req.hdr(host),lower,map(/etc/haproxy/hosts.map,none)]", []string{`map "hosts" {`, `file = "/etc/haproxy/hosts.map"`, `value = "%[req.hdr(host),lower,map(hosts,none)]"`}, none, ""},
		{"frontend", "use_backend %[req.hdr(host),lower,map_dom(/etc/haproxy/domains.map,be)]", []string{`map "domains" {`, `backend = "%[req.hdr(host),lower,map_dom(domains,be)]"`}, none, ""},
		{"frontend", "http-request set-var(txn.x) str(1)", nil, NotConverted, "not convertible"},
		{"frontend", "http-request set-header X-Id %ID", nil, NotConverted, "log-format variable"},
		{"backend", "http-request deny", nil, NotConverted, "belong to a frontend"},
		// the traffic policy: response rules
		{"frontend", "http-response set-header Strict-Transport-Security max-age=31536000", []string{`http_response "set_header" {`}, none, ""},
		{"frontend", "http-response del-header Server", []string{`http_response "del_header" {`}, none, ""},
		{"frontend", "http-response deny if { status 500 }", []string{`http_response "deny" {`, `status = ["500"]`}, none, ""},
		{"frontend", "http-response set-status 503 reason Busy", []string{`http_response "set_status" {`, "status = 503", `reason = "Busy"`}, none, ""},
		{"frontend", "http-response return status 404 if { res.hdr(x-missing) -m found }", []string{`res_hdr "x-missing" {`}, none, ""},
		// the traffic policy: tcp rules
		{"frontend", "tcp-request inspect-delay 5s\n\ttcp-request content accept if { req_ssl_sni -i a.example.com }", nil, NotConverted, "tcp frontends only"},
		{"frontend", "tcp-request session reject", []string{`tcp_request "connection" "reject" {}`}, Replaced, "before the TLS handshake"},
		{"frontend", "stick-table type ip size 1k store conn_cur\n\ttcp-request session track-sc0 src\n\ttcp-request session reject if { sc0_conn_cur gt 10 }", []string{`tcp_request "connection" "track_sc0" {`, `sc0_conn_cur = ["gt 10"]`}, Replaced, "tcp_request \"connection\""},
		{"frontend", "tcp-request session", nil, NotConverted, "not convertible"},
		{"frontend", "monitor-uri /health", nil, NotConverted, "monitor URI"},
		{"frontend", "compression algo gzip", nil, NotConverted, "compress"},
		{"frontend", "stats uri /stats", nil, NotConverted, "listener of its own"},
		{"frontend", "description public site", nil, Ignored, "description"},

		// backends
		{"backend", "balance leastconn", []string{`balance = "leastconn"`}, none, ""},
		{"backend", "balance static-rr", []string{`balance = "static-rr"`}, none, ""},
		{"backend", "balance first", []string{`balance = "first"`}, none, ""},
		{"backend", "balance source", []string{`balance = "source"`}, none, ""},
		{"backend", "balance uri", []string{`balance = "uri"`}, none, ""},
		{"backend", "balance uri whole", []string{`balance = "uri"`}, NotConverted, "whole"},
		{"backend", "balance url_param userid", []string{`balance = "url_param"`, `hash_key = "userid"`}, none, ""},
		{"backend", "balance hdr(User-Agent)", []string{`balance = "hdr"`, `hash_key = "User-Agent"`}, none, ""},
		{"backend", "balance random", []string{`balance = "random"`}, none, ""},
		{"backend", "balance random(3)", []string{`balance = "random"`}, NotConverted, "draws 2"},
		{"backend", "balance rdp-cookie", nil, NotConverted, "rdp-cookie"},
		{"backend", "hash-type consistent", []string{`hash_type = "consistent"`}, none, ""},
		{"backend", "hash-type consistent djb2", []string{`hash_type = "consistent"`}, NotConverted, "hash function"},
		{"backend", "retries 5", []string{"retries = 5"}, none, ""},
		{"backend", "option redispatch", nil, Ignored, "always"},
		{"backend", "no option redispatch", nil, NotConverted, "always"},
		{"backend", "option allbackups", nil, Ignored, "every usable backup"},
		{"backend", "cookie SERVERID insert indirect nocache", []string{`cookie "SERVERID" {`, `mode = "insert"`, "indirect = true", "nocache = true", "httponly = false", `maxidle = "0s"`, `maxlife = "0s"`}, NotConverted, "no cookie value"},
		{"backend", "cookie JSESSIONID prefix nocache", []string{`cookie "JSESSIONID" {`, `mode = "prefix"`}, NotConverted, "no cookie value"},
		{"backend", "cookie SRV insert httponly secure maxidle 30m maxlife 8h", []string{"httponly = true", "secure = true", `maxidle = "30m"`, `maxlife = "8h"`}, NotConverted, "no cookie value"},
		{"backend", "cookie SRV", nil, NotConverted, "passive persistence"},
		{"backend", "cookie SRV insert postonly", nil, NotConverted, "postonly"},
		{"backend", "option httpchk", []string{`type = "http"`, `method = "OPTIONS"`, `expect_status = ["200-399"]`}, none, ""},
		{"backend", "option httpchk /health", []string{`path = "/health"`, `method = "OPTIONS"`}, none, ""},
		{"backend", "option httpchk GET /health HTTP/1.1", []string{`method = "GET"`, `path = "/health"`}, none, ""},
		{"backend", `option httpchk GET /health HTTP/1.1\r\nHost:\ www.example.com`, []string{`host = "www.example.com"`}, none, ""},
		{"backend", "option httpchk OPTIONS * HTTP/1.1", nil, NotConverted, "starting with"},
		{"backend", "option httpchk\n\thttp-check expect status 200,204", []string{"expect_status = [200, 204]"}, none, ""},
		{"backend", "option httpchk\n\thttp-check expect status 200-299", []string{`expect_status = ["200-299"]`}, none, ""},
		{"backend", "option httpchk\n\thttp-check expect string ok", []string{`expect_body = "ok"`, `expect_status = ["100-599"]`}, none, ""},
		{"backend", "option httpchk\n\thttp-check expect ! status 500", nil, NotConverted, "invert"},
		{"backend", "option httpchk\n\thttp-check expect rstring ^ok", nil, NotConverted, "rstring"},
		{"backend", "option httpchk\n\thttp-check send meth HEAD uri /ping hdr Host svc.example.com", []string{`method = "HEAD"`, `path = "/ping"`, `host = "svc.example.com"`}, none, ""},
		{"backend", "option tcp-check\n\ttcp-check send PING\\r\\n\n\ttcp-check expect string +PONG", []string{`type = "tcp-check"`, `send = "PING\r\n"`, `expect = "+PONG"`}, none, ""},
		{"backend", "option tcp-check\n\ttcp-check send-binary 50494e470d0a\n\ttcp-check expect binary 2b504f4e47", []string{`send = "PING\r\n"`, `expect = "+PONG"`}, none, ""},
		{"backend", "option tcp-check\n\ttcp-check connect port 6379\n\ttcp-check expect string +PONG", []string{"port = 6379"}, none, ""},
		{"backend", "option tcp-check\n\ttcp-check send A\n\ttcp-check send B", nil, NotConverted, "sends once"},
		{"backend", "option redis-check", []string{`send = "PING\r\n"`, `expect = "+PONG"`}, none, ""},
		{"backend", "option mysql-check user haproxy", nil, NotConverted, "MySQL"},
		{"backend", "timeout check 2s", []string{`timeout = "2s"`}, none, ""},
		{"backend", "default-server inter 3s fall 5 rise 4", []string{`interval = "3s"`, `fast_interval = "3s"`, `down_interval = "3s"`, "fall = 5", "rise = 4"}, none, ""},
		{"backend", "default-server fastinter 500ms downinter 10s", []string{`fast_interval = "500ms"`, `down_interval = "10s"`}, none, ""},
		{"backend", "server s2 192.0.2.22:80 weight 10 maxconn 100 backup slowstart 30s check", []string{"weight = 10", "maxconn = 100", "backup = true", `slowstart = "30s"`}, none, ""},
		{"backend", "server s2 192.0.2.22:80", []string{"check = false"}, none, ""},
		{"backend", "server s2 web2.example.com:8080 check", []string{`address = "web2.example.com:8080"`}, none, ""},
		{"backend", "server s2 192.0.2.22 check", nil, NotConverted, "has no port"},
		{"backend", "server s2 192.0.2.22:80 check disabled", nil, NotConverted, "maint"},
		{"backend", "server s2 192.0.2.22:80 check send-proxy", []string{`send_proxy = "v1"`}, none, ""},
		{"backend", "server s2 192.0.2.22:80 check send-proxy-v2 check-send-proxy", []string{`send_proxy = "v2"`, "check_send_proxy = true"}, none, ""},
		{"backend", "default-server send-proxy-v2\n\tserver s2 192.0.2.22:80 check no-send-proxy-v2", []string{`server "s2"`}, none, ""},
		{"backend", "server s2 192.0.2.22:80 check send-proxy-v2-ssl", nil, NotConverted, "SSL TLVs"},
		{"backend", "server s2 192.0.2.22:443 check ssl verify none", []string{"tls {", `verify = "none"`}, none, ""},
		{"backend", "server s2 192.0.2.22:443 check ssl verify required ca-file /etc/ssl/ca.pem sni str(app.example.com) crt /etc/ssl/client.pem alpn h2,http/1.1", []string{`ca_file = "/etc/ssl/ca.pem"`, `sni = "app.example.com"`, `crt = "/etc/ssl/client.pem"`, `alpn = ["http/1.1"]`}, NotConverted, "h2 dropped"},
		{"backend", "default-server ssl verify none\n\tserver s2 192.0.2.22:443 check sni ssl_fc_sni", []string{`verify = "none"`, "sni_from_client = true"}, none, ""},
		{"backend", "server s2 192.0.2.22:443 ssl sni req.hdr(host)", nil, NotConverted, "fixed name"},
		{"backend", "server s2 192.0.2.22:80 check check-ssl", nil, NotConverted, "health_check { tls = true }"},
		{"backend", "server s2 192.0.2.22:80 check inter 5s", nil, NotConverted, "differ from the first"},
		{"backend", "server s2 192.0.2.22:80 check port 8080", nil, NotConverted, "differ from the first"},
		{"backend", "default-server port 8080", []string{"port = 8080"}, none, ""},
		{"backend", "default-server agent-check agent-port 9999 agent-inter 3s", nil, NotConverted, "agent check replaces"},
		{"backend", "default-server observe layer7 error-limit 5 on-error mark-down", []string{`observe = "layer7"`, "error_limit = 5"}, none, ""},
		{"backend", "default-server observe layer4", []string{`observe = "layer4"`}, NotConverted, "fail-check"},
		{"backend", "http-reuse safe", nil, Ignored, "reuses"},
		{"backend", "http-reuse never", nil, NotConverted, "cannot be turned off"},
		{"backend", "stick-table type ip size 1m expire 30s store http_req_rate(10s),conn_cur store http_err_rate(60000)", []string{"stick_table {", `type = "ip"`, `size = "1m"`, `expire = "30s"`, `store = ["http_req_rate(10s)", "conn_cur", "http_err_rate(1m)"]`}, none, ""},
		{"backend", "stick-table type string len 64 size 100k store http_req_cnt", []string{`type = "string"`, "len = 64", `size = "100k"`, `store = ["http_req_cnt"]`}, none, ""},
		{"backend", "stick-table type integer size 1k", nil, NotConverted, "ip, ipv6 or string"},
		{"backend", "stick-table type ip size 1m store gpc0,http_req_rate(10s)", nil, NotConverted, "general purpose counters"},
		{"backend", "stick-table type ip size 1m store http_req_rate", nil, NotConverted, "needs its period"},
		{"backend", "stick-table type ip size 1m nopurge", nil, NotConverted, "nopurge"},
		{"backend", "stick-table type ip size 1m srvkey addr", nil, NotConverted, "server persistence"},
		{"backend", "stick on src", nil, NotConverted, "server persistence"},
		{"frontend", "stick-table type ip size 100k expire 1m store http_req_rate(10s)\n\thttp-request track-sc0 src\n\thttp-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }",
			[]string{"stick_table {", `http_request "track_sc0" {`, `table = "fe"`, `sc0_http_req_rate = ["gt 10"]`, `http_request "deny" {`, "status = 429"}, none, ""},
		{"frontend", "stick-table type ip size 100k store conn_cur,conn_rate(3s)\n\ttcp-request connection track-sc1 src\n\tacl busy sc1_conn_cur gt 10\n\tacl fast src_conn_rate gt 20\n\ttcp-request connection reject if busy || fast",
			[]string{`tcp_request "connection" "track_sc1" {`, `sc1_conn_cur = ["gt 10"]`, `src_conn_rate = ["gt 20"]`, `tcp_request "connection" "reject" {`}, none, ""},
		{"frontend", "stick-table type string len 40 size 1k store http_req_cnt\n\thttp-request track-sc2 req.hdr(x-api-key)\n\tacl heavy sc2_http_req_cnt(fe) gt 1000\n\tuse_backend be if heavy",
			[]string{`key = "req.hdr(x-api-key)"`, `table = "fe"`, `sample "sc2_http_req_cnt(fe)"`}, none, ""},
		{"global", "localpeer lb2", nil, none, ""},
		{"backend", "fullconn 1000", nil, NotConverted, "dynamic maxconn"},
		{"backend", "maxconn 100", nil, Ignored, "does not use"},

		// keepalived: scripts
		{"script", "interval 3", []string{`interval = "3s"`}, none, ""},
		{"script", "interval 0.5", []string{`interval = "500ms"`}, none, ""},
		{"script", "timeout 4", []string{`timeout = "4s"`}, none, ""},
		{"script", "weight -20", []string{"weight = -20"}, none, ""},
		{"script", "weight 20 reverse", nil, NotConverted, "reverse"},
		{"script", "rise 3", []string{"rise = 3"}, none, ""},
		{"script", "fall 4", []string{"fall = 4"}, none, ""},
		{"script", "user nobody", nil, NotConverted, "own user"},
		{"script", "init_fail", nil, NotConverted, "first result"},
		// keepalived: instances
		{"instance", "state MASTER", []string{`state = "MASTER"`}, none, ""},
		{"instance", "state LEADER", nil, NotConverted, "MASTER or BACKUP"},
		{"instance", "priority 150", []string{"priority = 150"}, none, ""},
		{"instance", "priority 300", nil, NotConverted, "out of range"},
		{"instance", "advert_int 2", []string{`advert_int = "2s"`}, none, ""},
		{"instance", "advert_int 0.5", []string{`advert_int = "1s"`}, NotConverted, "whole second"},
		{"instance", "nopreempt", []string{"preempt = false"}, none, ""},
		{"instance", "preempt_delay 30", []string{`preempt_delay = "30s"`}, none, ""},
		{"instance", "authentication {\n\t\tauth_type PASS\n\t\tauth_pass s3cret\n\t}", []string{`auth_pass = "s3cret"`}, none, ""},
		{"instance", "authentication {\n\t\tauth_type PASS\n\t\tauth_pass longerthan8\n\t}", []string{`auth_pass = "longerth"`}, Replaced, "first 8"},
		{"instance", "authentication {\n\t\tauth_type AH\n\t\tauth_pass x\n\t}", nil, NotConverted, "AH"},
		{"instance", "unicast_src_ip 192.0.2.11\n\tunicast_peer {\n\t\t192.0.2.12\n\t}", []string{`unicast_src = "192.0.2.11"`, `unicast_peers = ["192.0.2.12"]`}, none, ""},
		{"instance", "track_interface {\n\t\teth1\n\t}", []string{`track_interface = ["eth1"]`}, none, ""},
		{"instance", "track_interface {\n\t\teth1 weight 10\n\t}", nil, NotConverted, "interface weights"},
		{"instance", "notify_master \"/usr/local/bin/notify.sh master\"", []string{`notify_master = "/usr/local/bin/notify.sh master"`}, none, ""},
		{"instance", "notify /usr/local/bin/notify.sh", []string{`notify = "/usr/local/bin/notify.sh"`}, none, ""},
		{"instance", "notify_stop /x", nil, NotConverted, "stops"},
		{"instance", "garp_master_delay 10", []string{`garp_master_delay = "10s"`}, none, ""},
		{"instance", "garp_master_repeat 3", []string{"garp_master_repeat = 3"}, none, ""},
		{"instance", "garp_master_refresh 60", []string{`garp_master_refresh = "1m"`}, none, ""},
		{"instance", "smtp_alert", nil, NotConverted, "mail"},
		{"instance", "use_vmac", []string{"use_vmac = true"}, none, ""},
		{"instance", "use_vmac vrrp51", []string{`use_vmac = "vrrp51"`}, none, ""},
		{"instance", "use_vmac\n\tvmac_xmit_base", []string{"use_vmac = true", "vmac_xmit_base = true"}, none, ""},
		{"instance", "version 3", []string{"version = 3"}, none, ""},
		{"instance", "version 3\n\tadvert_int 0.1", []string{"version = 3", `advert_int = "100ms"`}, none, ""},
		{"instance", "advert_int 0.1\n\tversion 3", []string{"version = 3", `advert_int = "100ms"`}, none, ""},
		{"instance", "version 3\n\tadvert_int 0.125", []string{`advert_int = "130ms"`}, Replaced, "centiseconds"},
		{"instance", "version 3\n\tadvert_int 50", []string{`advert_int = "40950ms"`}, NotConverted, "0.01 to 40.95"},
		{"instance", "version 3\n\tauthentication {\n\t\tauth_type PASS\n\t\tauth_pass s3cret\n\t}", []string{"version = 3"}, Ignored, "no authentication"},
		{"instance", "version 4", nil, NotConverted, "2 or 3"},
		{"instance", "native_ipv6", nil, Ignored, "family"},
		{"instance", "gna_interval 0.01", nil, NotConverted, "neighbour advertisements"},
		{"instance", "virtual_routes {\n\t\t192.0.2.0/24 via 192.0.2.1\n\t}", nil, NotConverted, "routes"},
		// keepalived: top level
		{"top", "global_defs {\n\trouter_id lb1\n}", nil, Ignored, "name"},
		{"top", "global_defs {\n\tvrrp_garp_master_delay 8\n}", []string{`garp_master_delay = "8s"`}, none, ""},
		{"top", "global_defs {\n\tvrrp_version 3\n}", []string{"version = 3"}, none, ""},
		{"top", "global_defs {\n\tvrrp_version 2\n}", nil, none, ""},
		{"top", "global_defs {\n\tvrrp_gna_interval 0.01\n}", nil, NotConverted, "neighbour advertisements"},
		{"top", "global_defs {\n\tvrrp_mcast_group6 ff02::12\n}", nil, NotConverted, "ff02::12"},
		{"top", "vrrp_instance VI_6 {\n\tinterface eth0\n\tvirtual_router_id 52\n\tadvert_int 0.1\n\tvirtual_ipaddress {\n\t\t2001:db8::100/64\n\t}\n}", []string{`vrrp_instance "VI_6"`, "version = 3", `advert_int = "100ms"`, `virtual_ipaddress = ["2001:db8::100/64"]`}, none, ""},
		{"top", "global_defs {\n\tvrrp_version 2\n}\nvrrp_instance VI_6 {\n\tinterface eth0\n\tvirtual_router_id 52\n\tvirtual_ipaddress {\n\t\t2001:db8::100/64\n\t}\n}", []string{"version = 3"}, Replaced, "only VRRPv3"},
		{"top", "vrrp_instance VI_6 {\n\tinterface eth0\n\tvirtual_router_id 52\n\tvirtual_ipaddress {\n\t\t192.0.2.101/24\n\t\t2001:db8::100/64\n\t}\n}", []string{`virtual_ipaddress = ["192.0.2.101/24"]`}, NotConverted, "one address family"},
		{"top", "global_defs {\n\tscript_user root\n}", nil, NotConverted, "own user"},
		{"top", "vrrp_sync_group G1 {\n\tgroup {\n\t\tVI_1\n\t}\n\tnotify_master /usr/local/bin/up.sh\n\tnotify_backup /usr/local/bin/down.sh\n\tnotify_fault \"/usr/local/bin/fault.sh G1\"\n\tnotify /usr/local/bin/notify.sh\n}", []string{`vrrp_sync_group "G1" {`, `group = ["VI_1"]`, `notify_master = "/usr/local/bin/up.sh"`, `notify_backup = "/usr/local/bin/down.sh"`, `notify_fault = "/usr/local/bin/fault.sh G1"`, `notify = "/usr/local/bin/notify.sh"`}, none, ""},
		{"top", "vrrp_sync_group G1 {\n\tgroup {\n\t\tVI_1\n\t}\n\tsync_group_tracking_weight\n}", []string{"sync_group_tracking_weight = true"}, none, ""},
		{"top", "vrrp_sync_group G1 {\n\tgroup {\n\t\tVI_1\n\t}\n\tglobal_tracking\n}", []string{"sync_group_tracking_weight = true"}, none, ""},
		{"top", "vrrp_sync_group G1 {\n\tgroup {\n\t\tVI_1\n\t\tVI_9\n\t}\n}", []string{`group = ["VI_1"]`}, NotConverted, "not converted (or does not exist)"},
		{"top", "vrrp_sync_group G1 {\n\tgroup {\n\t\tVI_1\n\t}\n\tnotify_master /usr/local/bin/up.sh root\n}", []string{`notify_master = "/usr/local/bin/up.sh"`}, NotConverted, "own user"},
		{"top", "vrrp_sync_group G1 {\n\tgroup {\n\t\tVI_1\n\t}\n\ttrack_script {\n\t\tchk\n\t}\n}", []string{`group = ["VI_1"]`}, NotConverted, "each member's track_script"},
		{"top", "virtual_server 192.0.2.100 80 {\n\tlb_algo rr\n}", nil, NotConverted, "LVS"},
		{"top", "static_routes {\n\t192.0.2.0/24 via 192.0.2.1\n}", nil, NotConverted, "routes"},
	} {
		name := tc.at + ": " + strings.SplitN(tc.line, "\n", 2)[0]
		t.Run(name, func(t *testing.T) {
			var opts Options
			switch tc.at {
			case "script", "instance", "top":
				src := strings.NewReplacer("@script", "", "@instance", "", "@top", "").Replace(
					strings.Replace(kaTemplate, "@"+tc.at, tc.line, 1))
				opts.Keepalived = &Source{Name: "keepalived.conf", Data: []byte(src)}
			default:
				src := strings.NewReplacer("@global", "", "@defaults", "", "@frontend", "", "@backend", "").Replace(
					strings.Replace(hapTemplate, "@"+tc.at, tc.line, 1))
				opts.HAProxy = &Source{Name: "haproxy.cfg", Data: []byte(src)}
			}
			r, err := Convert(opts)
			if err != nil {
				t.Fatal(err)
			}
			got := blanks.ReplaceAllString(string(r.HCL), " ")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("want %q in the output:\n%s", w, r.HCL)
				}
			}
			var notes []Note
			for _, n := range r.Notes {
				if n.Directive == "option dontlognull" && tc.line != "option dontlognull" {
					continue // the template's own line
				}
				notes = append(notes, n)
			}
			if tc.kind == none {
				if len(notes) > 0 {
					t.Errorf("want no note, got:\n%s", notesText(notes))
				}
			} else {
				found := false
				for _, n := range notes {
					if n.Kind == tc.kind && strings.Contains(n.Reason, tc.note) {
						found = true
					}
				}
				if !found {
					t.Errorf("want a %q note containing %q, got:\n%s", tc.kind, tc.note, notesText(notes))
				}
			}
			validate(t, "directive", r.HCL)
		})
	}
}
