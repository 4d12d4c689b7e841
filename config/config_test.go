package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid file the snippets below build on.
const minimal = `
frontend "web" {
  bind            = ["127.0.0.1:8080"]
  default_backend = "app"
}
backend "app" {
  server "a" { address = "127.0.0.1:9001" }
}
`

// TestParseTable is the config contract: each snippet is a whole file and
// want lists the diagnostics it must produce, as "LINE:COL: text" (the text
// may be a prefix of the message). An empty want means the file is valid.
func TestParseTable(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{name: "minimal is valid", src: minimal},
		{name: "empty file is valid", src: ``},
		{name: "example file shape", src: minimal + `
stats {
  bind = "127.0.0.1:8404"
  auth {
    user     = "admin"
    password = "pw"
  }
}
vrrp_script "chk" {
  script = "/bin/true"
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.100/24"]
  track_script      = ["chk"]
  track_backend "app" {
    weight = -50
  }
}`},
		{name: "HCL syntax error", src: "frontend \"web\" {\n  bind = [\n", want: []string{"3:1: Missing expression"}},
		{name: "unknown top-level block", src: "listen \"x\" {}\n", want: []string{`1:1: Unsupported block type: Blocks of type "listen" are not expected here.`}},
		{name: "unknown attribute", src: "global {\n  maxconns = 1\n}\n", want: []string{`2:3: Unsupported argument: An argument named "maxconns" is not expected here. Did you mean "maxconn"?`}},
		{name: "unknown nested block", src: minimal + "backend \"b\" {\n  check {}\n}\n", want: []string{`10:3: Unsupported block type`}},
		{name: "wrong type number", src: "global {\n  maxconn = \"lots\"\n}\n", want: []string{"2:13: maxconn: a whole number is required, got a string"}},
		{name: "fractional number", src: "global {\n  maxconn = 1.5\n}\n", want: []string{"2:13: maxconn: a whole number is required, got 1.5"}},
		{name: "wrong type bool", src: strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  forward_for = \"yes\"", 1), want: []string{"5:17: forward_for: true or false is required, got a string"}},
		{name: "wrong type list", src: strings.Replace(minimal, `["127.0.0.1:8080"]`, `"127.0.0.1:8080"`, 1), want: []string{"3:21: bind: a list is required, got a string"}},
		{name: "wrong type in list", src: strings.Replace(minimal, `["127.0.0.1:8080"]`, `["127.0.0.1:8080", 80]`, 1), want: []string{"3:40: bind[1]: a string is required, got a number"}},
		{name: "variables are refused", src: "global {\n  admin_socket = var.x\n}\n", want: []string{"2:18: Variables not allowed"}},
		{name: "bad duration", src: "global {\n  grace = \"10 sec\"\n}\n", want: []string{`2:11: grace: invalid duration "10 sec"`}},
		{name: "duration without unit", src: "global {\n  grace = 10\n}\n", want: []string{`2:11: grace: a duration string such as "2s" is required, got a number`}},
		{name: "negative duration", src: "global {\n  grace = \"-1s\"\n}\n", want: []string{`2:11: grace: -1s is out of range`}},
		{name: "zero timeout", src: "defaults {\n  timeouts {\n    connect = \"0s\"\n  }\n}\n", want: []string{"3:15: connect: 0s is out of range 1ms..168h0m0s"}},
		{name: "bad enum", src: "global {\n  log_level = \"loud\"\n}\n", want: []string{`2:15: log_level: "loud" is not one of "trace", "debug", "info", "warn", "error"`}},
		{name: "bad mode", src: "defaults {\n  mode = \"udp\"\n}\n", want: []string{`2:10: mode: "udp" is not one of "http", "tcp"`}},
		{name: "duplicate global", src: "global {}\nglobal {}\n", want: []string{"2:1: duplicate global block; the first one is at line 1"}},
		{name: "duplicate frontend", src: minimal + "frontend \"web\" {\n  bind = [\"127.0.0.1:8081\"]\n  default_backend = \"app\"\n}\n", want: []string{`9:1: duplicate frontend "web"; the first one is at line 2`}},
		{name: "duplicate backend", src: minimal + "backend \"app\" {}\n", want: []string{`9:1: duplicate backend "app"; the first one is at line 6`}},
		{name: "duplicate server", src: strings.Replace(minimal, `server "a" { address = "127.0.0.1:9001" }`, "server \"a\" { address = \"127.0.0.1:9001\" }\n  server \"a\" { address = \"127.0.0.1:9002\" }", 1), want: []string{`8:3: duplicate server "a" in backend "app"; the first one is at line 7`}},
		{name: "unknown default_backend", src: strings.Replace(minimal, `default_backend = "app"`, `default_backend = "ap"`, 1), want: []string{`4:21: unknown backend "ap" (did you mean "app"?)`}},
		{name: "unknown route backend", src: strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  route \"r\" {\n    backend = \"nope\"\n  }", 1), want: []string{`6:15: unknown backend "nope"`}},
		{name: "missing default_backend", src: "frontend \"web\" {\n  bind = [\"127.0.0.1:80\"]\n}\n", want: []string{`1:1: frontend "web": default_backend is required (or at least one route)`}},
		{name: "missing bind", src: "frontend \"web\" {\n  default_backend = \"app\"\n}\nbackend \"app\" {}\n", want: []string{`1:1: frontend "web": bind is required (or a tls block with its own bind)`}},
		{name: "empty bind", src: strings.Replace(minimal, `["127.0.0.1:8080"]`, `[]`, 1), want: []string{"3:21: bind: at least one address is required"}},
		{name: "bind not host:port", src: strings.Replace(minimal, `["127.0.0.1:8080"]`, `["127.0.0.1"]`, 1), want: []string{`3:22: bind: "127.0.0.1" is not host:port`}},
		{name: "bind host name", src: strings.Replace(minimal, `["127.0.0.1:8080"]`, `["localhost:80"]`, 1), want: []string{`3:22: bind: "localhost:80": host must be an IP address`}},
		{name: "two frontends on one address", src: minimal + "frontend \"web2\" {\n  bind = [\"127.0.0.1:8080\"]\n  default_backend = \"app\"\n}\n", want: []string{`10:11: frontend "web2": 127.0.0.1:8080 is already bound by frontend "web" (line 3)`}},
		{name: "wildcard overlaps specific", src: minimal + "frontend \"web2\" {\n  bind = [\"*:8080\"]\n  default_backend = \"app\"\n}\n", want: []string{`10:11: frontend "web2": 0.0.0.0:8080 overlaps 127.0.0.1:8080 bound by frontend "web" (line 3)`}},
		{name: "same address twice in one frontend", src: strings.Replace(minimal, `["127.0.0.1:8080"]`, `["127.0.0.1:8080", "127.0.0.1:8080"]`, 1), want: []string{`3:40: frontend "web": 127.0.0.1:8080 is already bound by frontend "web" (line 3)`}},
		{name: "stats on a frontend address", src: minimal + "stats {\n  bind = \"127.0.0.1:8080\"\n}\n", want: []string{`10:10: stats: 127.0.0.1:8080 is already bound by frontend "web" (line 3)`}},
		{name: "different ports do not conflict", src: minimal + "frontend \"web2\" {\n  bind = [\"0.0.0.0:8081\"]\n  default_backend = \"app\"\n}\n"},
		{name: "mode mismatch", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  mode = \"tcp\"", 1), want: []string{`4:21: frontend "web" is mode http but backend "app" is mode tcp`}},
		{name: "route in tcp frontend", src: "defaults {\n  mode = \"tcp\"\n}\n" + strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  route \"r\" {\n    backend = \"app\"\n  }", 1), want: []string{`8:3: frontend "web": route "r": a tcp route needs sni`}},
		{name: "forward_for in tcp", src: "defaults {\n  mode = \"tcp\"\n}\n" + strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  forward_for = true", 1), want: []string{`8:17: frontend "web": forward_for needs mode = "http"`}},
		{name: "cookie in tcp backend", src: "defaults {\n  mode = \"tcp\"\n}\n" + strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  cookie \"SRV\" {}", 1), want: []string{`10:3: cookie persistence needs mode = "http"`}},
		{name: "balance uri in tcp", src: "defaults {\n  mode = \"tcp\"\n}\n" + strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  balance = \"uri\"", 1), want: []string{`10:13: balance "uri" needs mode = "http"`}},
		{name: "unknown balance", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  balance = \"fastest\"", 1), want: []string{`7:13: balance: "fastest" is not one of`}},
		{name: "url_param needs hash_key", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  balance = \"url_param\"", 1), want: []string{`7:13: balance "url_param" needs hash_key (the URL parameter to hash)`}},
		{name: "weight out of range", src: strings.Replace(minimal, `server "a" { address = "127.0.0.1:9001" }`, "server \"a\" {\n    address = \"127.0.0.1:9001\"\n    weight = 300\n  }", 1), want: []string{"9:14: weight: 300 is out of range 0..256"}},
		{name: "server address without port", src: strings.Replace(minimal, `"127.0.0.1:9001"`, `"127.0.0.1"`, 1), want: []string{`7:26: address: "127.0.0.1" is not host:port`}},
		{name: "server name with slash", src: strings.Replace(minimal, `server "a"`, `server "a/b"`, 1), want: []string{`7:10: server name "a/b" must not be empty, "." or "..", start with "-" or contain "/" or blanks`}},
		{name: "backend name dot-dot", src: strings.Replace(minimal, `backend "app"`, `backend ".."`, 1), want: []string{`4:21: unknown backend "app"`, `6:9: backend name ".." must not be empty`}},
		{name: "vrrp_instance name with a blank", src: "vrrp_instance \"V I\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`1:15: vrrp_instance name "V I" must not be empty`}},
		{name: "duplicate cookie value", src: strings.Replace(minimal, `server "a" { address = "127.0.0.1:9001" }`, "cookie \"S\" {}\n  server \"a\" { address = \"127.0.0.1:9001\" }\n  server \"b\" {\n    address = \"127.0.0.1:9002\"\n    cookie = \"a\"\n  }", 1), want: []string{`11:14: server "b": cookie value "a" is already used by server "a"`}},
		{name: "bad cookie mode", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  cookie \"S\" {\n    mode = \"append\"\n  }", 1), want: []string{`8:12: mode: "append" is not one of "insert", "prefix", "rewrite"`}},
		{name: "health check type", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    type = \"icmp\"\n  }", 1), want: []string{`8:12: type: "icmp" is not one of "tcp", "http", "tcp-check", "agent", "grpc"`}},
		{name: "tcp-check needs send or expect", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    type = \"tcp-check\"\n  }", 1), want: []string{`7:3: health_check type "tcp-check" needs send or expect`}},
		{name: "agent needs port", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    type = \"agent\"\n  }", 1), want: []string{`7:3: health_check type "agent" needs port`}},
		{name: "expect_status element", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    type = \"http\"\n    expect_status = [200, 999]\n  }", 1), want: []string{`9:27: expect_status[1]: 999 is out of range 100..599`}},
		{name: "http attributes on a tcp check", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    path = \"/health\"\n    expect_status = [204]\n  }", 1), want: []string{`8:12: path: only used by type http checks, this one is type "tcp"`, `9:21: expect_status: only used by type http checks, this one is type "tcp"`}},
		{name: "send on an http check", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    type = \"http\"\n    send = \"PING\"\n  }", 1), want: []string{`9:12: send: only used by type tcp-check/agent checks, this one is type "http"`}},
		{name: "every attribute at its default", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    type = \"agent\"\n    port = 9999\n    method = \"GET\"\n    path = \"/\"\n    host = \"\"\n    expect_status = [200]\n    expect_body = \"\"\n    send = \"\"\n    expect = \"\"\n  }", 1)},
		{name: "expect_body with HEAD", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    type = \"http\"\n    method = \"HEAD\"\n    expect_body = \"ok\"\n  }", 1), want: []string{`10:19: expect_body: the answer to a HEAD request has no body`}},
		{name: "timeouts of the other side", src: strings.Replace(strings.Replace(minimal, "default_backend = \"app\"", "default_backend = \"app\"\n  timeouts {\n    client = \"5s\"\n    server = \"5s\"\n  }", 1), "backend \"app\" {", "backend \"app\" {\n  timeouts {\n    http_request = \"5s\"\n    queue = \"5s\"\n  }", 1), want: []string{
			`7:14: server: a frontend does not use this timeout (the backend's does); set it in the backend or in defaults`,
			`12:20: http_request: a backend does not use this timeout (the frontend's does); set it in the frontend or in defaults`,
		}},
		{name: "every timeout in defaults", src: "defaults {\n  timeouts {\n    connect = \"1s\"\n    client = \"1s\"\n    server = \"1s\"\n    http_request = \"1s\"\n    http_keep_alive = \"1s\"\n    queue = \"1s\"\n    tunnel = \"1s\"\n  }\n}\n" + minimal},
		{name: "rise zero", src: strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  health_check {\n    rise = 0\n  }", 1), want: []string{`8:12: rise: 0 is out of range 1..1000`}},
		{name: "path_prefix without slash", src: strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  route \"r\" {\n    path_prefix = [\"api\"]\n    backend = \"app\"\n  }", 1), want: []string{`6:20: path_prefix: "api" must start with "/"`}},
		{name: "trusted proxies", src: strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\", \"nope\"]", 1), want: []string{`5:49: trusted_proxies: "nope" is not a CIDR`}},
		{name: "error_file status lbd never sends", src: strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  error_file {\n    status = 418\n    path = \"missing.http\"\n  }", 1), want: []string{`6:14: status: lbd never answers 418 itself (servers' answers pass through); error_file applies to 200 400 401 403 404 405 407 408 410 413 414 425 429 431 500 501 502 503 504 505`, `7:12: path: cannot read error file`}},
		{name: "error_file missing", src: strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  error_file {\n    status = 503\n    path = \"missing.http\"\n  }", 1), want: []string{`7:12: path: cannot read error file`}},
		{name: "vrrp: unknown script", src: minimal + "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 51\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n  track_script = [\"nope\"]\n}\n", want: []string{`13:18: track_script: unknown vrrp_script "nope"`}},
		{name: "vrrp: unknown tracked backend", src: minimal + "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 51\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n  track_backend \"apps\" {}\n}\n", want: []string{`13:3: track_backend: unknown backend "apps" (did you mean "app"?)`}},
		{name: "vrrp: VIP not a CIDR", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 51\n  virtual_ipaddress = [\"192.0.2.100\"]\n}\n", want: []string{`4:24: virtual_ipaddress: "192.0.2.100" is not a CIDR such as "192.0.2.100/24"`}},
		{name: "vrrp: VIP v6", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 51\n  virtual_ipaddress = [\"2001:db8::1/64\"]\n}\n", want: []string{`4:24: virtual_ipaddress: 2001:db8::1/64 is IPv6; VRRPv2 carries IPv4 addresses only: set version = 3`}},
		{name: "vrrp: VRID out of range", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 256\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`3:23: virtual_router_id: 256 is out of range 1..255`}},
		{name: "vrrp: VRID zero", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 0\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`3:23: virtual_router_id: 0 is out of range 1..255`}},
		{name: "vrrp: priority out of range", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  priority = 256\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`4:14: priority: 256 is out of range 1..255`}},
		{name: "vrrp: priority zero", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  priority = 0\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`4:14: priority: 0 is out of range 1..255`}},
		{name: "vrrp: advert_int fraction", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  advert_int = \"1500ms\"\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`4:16: advert_int: VRRPv2 adverts are sent in whole seconds, 1.5s is not (version = 3 allows 10ms steps)`}},
		{name: "vrrp: advert_int too small", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  advert_int = \"500ms\"\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`4:16: advert_int: 500ms is out of range 1s..4m15s`}},
		{name: "vrrp: auth_pass too long", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  auth_pass = \"123456789\"\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`4:15: auth_pass: 9 bytes is too long; VRRPv2 simple authentication carries at most 8`}},
		{name: "vrrp: auth_pass of 8 is fine", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  auth_pass = \"12345678\"\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n"},
		{name: "vrrp: bad state", src: "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  state = \"master\"\n  virtual_router_id = 1\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`3:11: state: "master" is not one of "MASTER", "BACKUP"`}},
		{name: "vrrp: same VRID twice on an interface", src: "vrrp_instance \"A\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\nvrrp_instance \"B\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  virtual_ipaddress = [\"192.0.2.101/24\"]\n}\n", want: []string{`8:23: virtual_router_id 1 on eth0 is already used by vrrp_instance "A"`}},
		{name: "vrrp: same VIP twice", src: "vrrp_instance \"A\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\nvrrp_instance \"B\" {\n  interface = \"eth0\"\n  virtual_router_id = 2\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n}\n", want: []string{`9:23: virtual_ipaddress 192.0.2.100 is already held by vrrp_instance "A"`}},
		{name: "vrrp: missing required", src: "vrrp_instance \"A\" {\n}\n", want: []string{`1:19: Missing required argument: The argument "interface" is required`, `1:19: Missing required argument: The argument "virtual_router_id" is required`, `1:19: Missing required argument: The argument "virtual_ipaddress" is required`}},
		{name: "vrrp: bad unicast peer", src: "vrrp_instance \"A\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  virtual_ipaddress = [\"192.0.2.100/24\"]\n  unicast_src = \"192.0.2.11\"\n  unicast_peers = [\"192.0.2.12\", \"peer\"]\n}\n", want: []string{`6:34: unicast_peers: "peer" is not an IPv4 address`}},
		{name: "vrrp_script weight range", src: "vrrp_script \"s\" {\n  script = \"/bin/true\"\n  weight = -255\n}\n", want: []string{`3:12: weight: -255 is out of range -254..254`}},
		{name: "vrrp_script unterminated quote", src: "vrrp_script \"s\" {\n  script = \"/bin/sh -c 'exit 1\"\n}\n", want: []string{`2:12: script: unterminated ' quote`}},
		{name: "vrrp_script empty", src: "vrrp_script \"s\" {\n  script = \"  \"\n}\n", want: []string{`2:12: script: a command is required`}},
		{name: "duplicate vrrp_script", src: "vrrp_script \"s\" {\n  script = \"/bin/true\"\n}\nvrrp_script \"s\" {\n  script = \"/bin/true\"\n}\n", want: []string{`4:1: duplicate vrrp_script "s"; the first one is at line 1`}},
		{name: "stats uri", src: "stats {\n  uri = \"stats\"\n}\n", want: []string{`2:9: uri: "stats" must be a path such as "/stats"`}},
		{name: "every problem at once", src: "global {\n  maxconn = 0\n  log_format = \"xml\"\n}\nvrrp_instance \"A\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n  priority = 300\n  virtual_ipaddress = [\"192.0.2.100\"]\n}\n", want: []string{
			"2:13: maxconn: 0 is out of range",
			`3:16: log_format: "xml" is not one of "json", "console"`,
			"8:14: priority: 300 is out of range 1..255",
			`9:24: virtual_ipaddress: "192.0.2.100" is not a CIDR`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "lbd.hcl")
			_, err := Parse(path, []byte(tc.src))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				return
			}
			var diags Diagnostics
			if !errors.As(err, &diags) {
				t.Fatalf("want diagnostics, got %v", err)
			}
			if len(diags) != len(tc.want) {
				t.Errorf("want %d diagnostics, got %d:\n%v", len(tc.want), len(diags), err)
			}
			for i, w := range tc.want {
				if i >= len(diags) {
					break
				}
				got := diags[i].String()
				if !strings.HasPrefix(got, path+":"+w) {
					t.Errorf("diagnostic %d:\n got  %s\n want %s:%s", i, got, path, w)
				}
			}
		})
	}
}

func TestDefaultsAndInheritance(t *testing.T) {
	src := `
defaults {
  mode = "tcp"
  timeouts {
    connect = "2s"
    server  = "1m"
  }
}
frontend "f" {
  bind            = ["*:9000"]
  default_backend = "b"
  timeouts {
    client = "5s"
  }
}
backend "b" {
  server "s" { address = "127.0.0.1:1" }
}
vrrp_instance "V" {
  interface         = "eth0"
  virtual_router_id = 7
  virtual_ipaddress = ["192.0.2.100/24"]
}
`
	cfg, err := Parse("t.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Global, defaultGlobal()) {
		t.Errorf("global defaults: %+v", cfg.Global)
	}
	f := cfg.Frontend("f")
	if f.Mode != ModeTCP || f.Bind[0] != "0.0.0.0:9000" {
		t.Errorf("frontend mode/bind: %v %v", f.Mode, f.Bind)
	}
	wantT := Timeouts{Connect: 2 * time.Second, Client: 5 * time.Second, Server: time.Minute,
		HTTPRequest: 10 * time.Second, HTTPKeepAlive: 10 * time.Second, Queue: 30 * time.Second, Tunnel: time.Hour}
	if f.Timeouts != wantT {
		t.Errorf("frontend timeouts:\n got  %+v\n want %+v", f.Timeouts, wantT)
	}
	b := cfg.Backend("b")
	wantT.Client = 30 * time.Second
	if b.Mode != ModeTCP || b.Timeouts != wantT {
		t.Errorf("backend: mode %v timeouts %+v", b.Mode, b.Timeouts)
	}
	if b.Balance != "roundrobin" || b.HashType != "map-based" || b.Retries != 3 || b.ErrorLimit != 10 {
		t.Errorf("backend defaults: %+v", b)
	}
	hc := b.HealthCheck
	if hc.Type != "tcp" || hc.Rise != 2 || hc.Fall != 3 || hc.Interval != 2*time.Second || len(hc.ExpectStatus) != 1 {
		t.Errorf("health check defaults: %+v", hc)
	}
	s := b.Servers[0]
	if s.Weight != 1 || !s.Check || s.Cookie != "s" || s.Backup {
		t.Errorf("server defaults: %+v", s)
	}
	vi := cfg.VRRPInstances[0]
	if vi.State != "BACKUP" || vi.Priority != 100 || vi.AdvertInt != time.Second || !vi.Preempt ||
		vi.GARPMasterDelay != 5*time.Second || vi.GARPMasterRepeat != 5 || vi.UnicastSrc.IsValid() {
		t.Errorf("vrrp defaults: %+v", vi)
	}
	if vi.VirtualIPAddresses[0] != netip.MustParsePrefix("192.0.2.100/24") {
		t.Errorf("vip: %v", vi.VirtualIPAddresses)
	}
}

func TestCookieDefaults(t *testing.T) {
	cfg, err := Parse("t.hcl", []byte(strings.Replace(minimal, "backend \"app\" {", "backend \"app\" {\n  cookie \"SERVERID\" {}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	ck := cfg.Backend("app").Cookie
	want := Cookie{Name: "SERVERID", Mode: "insert", Indirect: true, NoCache: true, HTTPOnly: true,
		MaxIdle: 30 * time.Minute, MaxLife: 8 * time.Hour}
	ck.rng = blockRanges{}
	if !reflect.DeepEqual(*ck, want) {
		t.Errorf("cookie:\n got  %+v\n want %+v", *ck, want)
	}
}

func TestErrorFileNormalized(t *testing.T) {
	dir := t.TempDir()
	raw := "HTTP/1.1 503 Service Unavailable\nContent-Type: text/html\nContent-Length: 5\n\nbusy!"
	if err := os.WriteFile(filepath.Join(dir, "503.http"), []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  error_file {\n    status = 503\n    path = \"503.http\"\n  }", 1)
	cfg, err := Parse(filepath.Join(dir, "lbd.hcl"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := string(cfg.Frontend("web").ErrorFiles[0].Response)
	want := "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nbusy!"
	if got != want {
		t.Errorf("got %q want %q", got, want)
	}

	for _, bad := range []string{"<html>busy</html>", "HTTP/1.1 503 Busy\r\nno colon\r\n\r\n", "HTTP/1.1 5x3 Busy\r\n\r\n", "HTTP/1.1 503 Busy\r\nA: b"} {
		if _, err := normalizeErrorFile([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "/bin/true", want: []string{"/bin/true"}},
		{in: "  /usr/bin/killall   -0 haproxy ", want: []string{"/usr/bin/killall", "-0", "haproxy"}},
		{in: `/bin/sh -c 'curl -s http://x/ | grep "ok"'`, want: []string{"/bin/sh", "-c", `curl -s http://x/ | grep "ok"`}},
		{in: `a "b c" d\ e`, want: []string{"a", "b c", "d e"}},
		{in: `a ""`, want: []string{"a", ""}},
		{in: `a 'b`, err: true},
		{in: `a \`, err: true},
	}
	for _, tc := range cases {
		got, err := SplitCommand(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("%q: got %q want %q", tc.in, got, tc.want)
		}
	}
}

func TestExampleFileIsValid(t *testing.T) {
	if _, err := Load("../appliance.hcl.example"); err != nil {
		t.Fatalf("appliance.hcl.example:\n%v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("/nonexistent/lbd.hcl")
	if err == nil || !strings.HasPrefix(err.Error(), "/nonexistent/lbd.hcl: cannot read configuration") {
		t.Fatalf("got %v", err)
	}
}
