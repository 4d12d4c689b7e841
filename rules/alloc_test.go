package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"lbd/h1"
)

// benchPolicy is the bench's rule set (bench/cmd/benchrun uses the same
// shape): 20 conditions and rules over the request, a 10,000-entry map
// read by a header rewrite and by the routing.
func benchPolicy(entries int) (string, map[string]string) {
	var m strings.Builder
	for i := 0; i < entries; i++ {
		fmt.Fprintf(&m, "host%d.example.com be%d\n", i, i%4)
	}
	src := `
map "hosts" {
  file = "hosts.map"
}
frontend "web" {
  bind            = ["127.0.0.1:8080"]
  default_backend = "app"
  acl "api"      { path_beg = ["/api/", "/v2/"] }
  acl "static"   { path_end = [".css", ".js", ".png"] }
  acl "admin"    { path_beg = ["/admin"] }
  acl "internal" { src = ["10.0.0.0/8", "192.168.0.0/16"] }
  acl "bot" {
    hdr "User-Agent" {
      reg = ["(?i)(bot|crawler|spider)"]
    }
  }
  acl "json" {
    hdr "Accept" {
      sub = ["json"]
    }
  }
  acl "debug" {
    url_param "debug" {
      found = true
    }
  }
  acl "session" {
    cookie "sid" {
      found = true
    }
  }
  acl "post" { method = ["POST", "PUT", "DELETE"] }
  acl "legacy" { host_end = [".legacy.example.com"] }
  http_request "deny" {
    if = "admin !internal"
  }
  http_request "deny" {
    if     = "bot post"
    status = 429
  }
  http_request "redirect" {
    if     = "legacy"
    prefix = "https://www.example.com"
  }
  http_request "return" {
    if     = "debug internal"
    status = 200
    body   = "debug"
  }
  http_request "set_header" {
    name  = "X-Backend-Hint"
    value = "%[req.hdr(host),lower,map(hosts,none)]"
  }
  http_request "set_header" {
    if    = "api json"
    name  = "X-API"
    value = "1"
  }
  http_request "del_header" {
    name = "X-Debug-Token"
  }
  http_request "set_header" {
    if    = "session"
    name  = "X-Has-Session"
    value = "1"
  }
  http_request "set_header" {
    if    = "static"
    name  = "X-Static"
    value = "1"
  }
  route "by_host" {
    if      = "!static"
    backend = "%[req.hdr(host),lower,map(hosts)]"
  }
  route "api" {
    if      = "api"
    backend = "app"
  }
}
backend "app" {
  server "a" { address = "127.0.0.1:9001" }
}
`
	return src, map[string]string{"hosts.map": m.String()}
}

// TestRulePathAllocs: running 20 conditions and rules (with a rewrite, a
// 10,000-entry map lookup in a header value and in the routing) costs no
// allocation per request once the transaction's buffers are warm.
func TestRulePathAllocs(t *testing.T) {
	src, files := benchPolicy(10000)
	p, _ := compileFE(t, src, files)
	raw := []byte("GET /api/items?x=1 HTTP/1.1\r\nHost: host42.example.com\r\nUser-Agent: curl/8\r\nAccept: application/json\r\nCookie: a=1; sid=2\r\n\r\n")
	var head h1.Head
	var c Ctx
	var ed Editor
	h := &hooks{}
	run := func() {
		head.ParseRequest(raw)
		c.Reset()
		c.Req, c.Src = &head, netip.MustParseAddrPort("192.0.2.1:5555")
		v, err := p.RunRequest(&c, &ed, h)
		if err != nil || v.Rule != nil {
			t.Fatalf("%+v %v", v, err)
		}
		if i, name := p.Route(&c, 0); i != 0 || string(name) != "be2" {
			t.Fatalf("route %d %q", i, name)
		}
	}
	run()
	if got := headerOf(&head, "X-Backend-Hint"); len(got) != 1 || got[0] != "be2" {
		t.Fatalf("hint %q", got)
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per request on the rule path", n)
	}
	// A request that ends in a deny renders without allocating too.
	raw2 := []byte("POST /x HTTP/1.1\r\nHost: a\r\nUser-Agent: SomeBot\r\nContent-Length: 0\r\n\r\n")
	var out []byte
	deny := func() {
		head.ParseRequest(raw2)
		c.Reset()
		c.Req, c.Src = &head, netip.MustParseAddrPort("192.0.2.1:5555")
		v, _ := p.RunRequest(&c, &ed, h)
		if v.Rule == nil || v.Rule.Status != 429 {
			t.Fatalf("%+v", v)
		}
	}
	deny()
	if n := testing.AllocsPerRun(200, deny); n != 0 {
		t.Errorf("%v allocations per denied request", n)
	}
	_ = out
}

func BenchmarkRulePath(b *testing.B) {
	src, files := benchPolicy(10000)
	p, _ := compileFE(b, src, files)
	raw := []byte("GET /api/items?x=1 HTTP/1.1\r\nHost: host42.example.com\r\nUser-Agent: curl/8\r\nAccept: application/json\r\nCookie: a=1; sid=2\r\n\r\n")
	var head h1.Head
	var c Ctx
	var ed Editor
	h := &hooks{}
	client := netip.MustParseAddrPort("192.0.2.1:5555")
	b.ReportAllocs()
	for b.Loop() {
		head.ParseRequest(raw)
		c.Reset()
		c.Req, c.Src = &head, client
		p.RunRequest(&c, &ed, h)
		p.Route(&c, 0)
	}
}

func BenchmarkParseOnly(b *testing.B) {
	raw := []byte("GET /api/items?x=1 HTTP/1.1\r\nHost: host42.example.com\r\nUser-Agent: curl/8\r\nAccept: application/json\r\nCookie: a=1; sid=2\r\n\r\n")
	var head h1.Head
	for b.Loop() {
		head.ParseRequest(raw)
	}
}
