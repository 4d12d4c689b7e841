package proxy

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// echoHeaders answers with the request line and headers it got, one per
// line, sorted after the first.
func policyEcho(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var lines []string
		for k, vs := range r.Header {
			for _, v := range vs {
				lines = append(lines, k+": "+v)
			}
		}
		sort.Strings(lines)
		w.Header().Set("X-Server", name)
		w.Header().Set("Server", "echo/1.0")
		fmt.Fprintf(w, "%s %s\nHost: %s\n%s\n", r.Method, r.RequestURI, r.Host, strings.Join(lines, "\n"))
	}
}

const policyHTTP = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
map "hosts" {
  file = "{{dir}}/hosts.map"
}
frontend "web" {
  bind = ["{{fe}}"]
  default_backend = "app"

  acl "api" {
    path_beg = ["/api/"]
  }
  acl "admin" {
    path_beg = ["/admin"]
  }
  acl "local" {
    src = ["127.0.0.0/8"]
  }
  acl "blocked_ua" {
    hdr "User-Agent" {
      sub = ["badbot"]
    }
    ignore_case = true
  }
  acl "old" {
    path_reg = ["^/old/(.*)$"]
  }
  acl "debug" {
    url_param "debug" {
      value = ["1"]
    }
  }
  acl "beta" {
    cookie "beta" {
      found = true
    }
  }
  acl "tea" {
    path = ["/teapot"]
  }
  acl "go_https" {
    path_beg = ["/secure"]
  }

  http_request "deny" {
    if     = "blocked_ua"
    status = 403
  }
  http_request "deny" {
    if     = "admin !local"
    status = 403
  }
  http_request "return" {
    if           = "tea"
    status       = 418
    content_type = "text/plain"
    body         = "short and stout %[path]"
    headers      = { "X-Teapot" = "yes" }
  }
  http_request "redirect" {
    if     = "go_https"
    scheme = "https"
    code   = 301
  }
  http_request "replace_path" {
    if      = "old"
    regex   = "^/old/(.*)$"
    replace = "/new/\\1"
  }
  http_request "set_header" {
    name  = "X-Backend-Hint"
    value = "%[req.hdr(host),lower,map(hosts,none)]"
  }
  http_request "add_header" {
    if    = "debug"
    name  = "X-Debug"
    value = "on"
  }
  http_request "del_header" {
    name = "X-Secret"
  }
  http_request "set_header" {
    if    = "beta"
    name  = "X-Beta"
    value = "cookie=%[req.cook(beta)]"
  }
  http_response "del_header" {
    name = "Server"
  }
  http_response "set_header" {
    name  = "Strict-Transport-Security"
    value = "max-age=31536000"
  }
  http_response "set_header" {
    if    = "api"
    name  = "X-API"
    value = "1"
  }

  route "by_host" {
    backend = "%[req.hdr(host),lower,map(hosts)]"
  }
  route "api" {
    if      = "api"
    backend = "api"
  }
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
backend "api" {
  server "s2" {
    address = "{{s2}}"
    check = false
  }
}
`

func policyRig(t *testing.T) (*rig, string) {
	t.Helper()
	s1 := backendServer(t, "app", policyEcho("app"))
	s2 := backendServer(t, "api", policyEcho("api"))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hosts.map"), []byte("# host backend\napi.example.com api\nnothere.example.com nosuchbackend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fe := freePort(t)
	vars := map[string]string{"fe": fe, "s1": hostport(s1), "s2": hostport(s2), "dir": dir}
	r := newRig(t, policyHTTP, vars)
	if err := r.apply(policyHTTP, vars); err != nil {
		t.Fatal(err)
	}
	return r, fe
}

// TestPolicyThroughProxy runs a representative rule set through the
// engine with real sockets: every action does what it says, on the
// wire.
func TestPolicyThroughProxy(t *testing.T) {
	r, fe := policyRig(t)
	get := func(target string, hdrs ...string) string {
		req := "GET " + target + " HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n" + strings.Join(hdrs, "") + "\r\n"
		return rawRequest(t, fe, req, 5*time.Second)
	}
	tests := []struct {
		name   string
		target string
		hdrs   []string
		want   []string // substrings of the raw response
		not    []string
	}{
		{"plain", "/x", nil, []string{"200 OK", "X-Server: app", "X-Backend-Hint: none", "Strict-Transport-Security: max-age=31536000"}, []string{"Server: echo", "X-API"}},
		{"deny by user agent", "/x", []string{"User-Agent: Mozilla BadBot/1\r\n"}, []string{"403 Forbidden", "Request forbidden by administrative rules"}, []string{"X-Server"}},
		{"admin from loopback passes", "/admin", nil, []string{"200 OK"}, nil},
		{"return", "/teapot", nil, []string{"418 I'm a teapot", "content-type: text/plain", "X-Teapot: yes", "\r\n\r\nshort and stout /teapot"}, nil},
		{"redirect", "/secure/a?b=1", nil, []string{"301 Moved Permanently", "location: https://www.example.com/secure/a?b=1", "content-length: 0"}, nil},
		{"replace path", "/old/page?q", nil, []string{"GET /new/page?q"}, nil},
		{"add header", "/x?debug=1", nil, []string{"X-Debug: on"}, nil},
		{"no debug without =", "/x?debug", nil, []string{"200 OK"}, []string{"X-Debug"}},
		{"del header", "/x", []string{"X-Secret: s3cr3t\r\n"}, []string{"200 OK"}, []string{"s3cr3t"}},
		{"cookie", "/x", []string{"Cookie: a=1; beta=yes\r\n"}, []string{"X-Beta: cookie=yes"}, nil},
		{"route by acl", "/api/v1", nil, []string{"X-Server: api", "X-API: 1"}, nil},
	}
	for _, tc := range tests {
		out := get(tc.target, tc.hdrs...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: %q not in\n%s", tc.name, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("%s: %q in\n%s", tc.name, n, out)
			}
		}
	}
	// The map routes by host: api.example.com goes to api; a value that is
	// no backend falls through to the next route, then the default.
	out := rawRequest(t, fe, "GET /x HTTP/1.1\r\nHost: API.example.com\r\nConnection: close\r\n\r\n", 5*time.Second)
	if !strings.Contains(out, "X-Server: api") || !strings.Contains(out, "X-Backend-Hint: api") {
		t.Errorf("map route: %s", out)
	}
	out = rawRequest(t, fe, "GET /x HTTP/1.1\r\nHost: nothere.example.com\r\nConnection: close\r\n\r\n", 5*time.Second)
	if !strings.Contains(out, "X-Server: app") {
		t.Errorf("map value naming no backend: %s", out)
	}
	r.logs.waitFor(t, `"status":418`, `"termination_state":"LR"`)
	r.logs.waitFor(t, `"status":403`, `"termination_state":"PR"`)
}
