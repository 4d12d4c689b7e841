//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// echoServer serves, in host's namespace on addr, a JSON echo of each
// request (method, URI, headers) with X-Server: name and an
// X-Powered-By the rules remove.
func (l *Lab) echoServer(t *testing.T, host, addr, name string) {
	t.Helper()
	var ln net.Listener
	if err := l.InNetns(host, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hdr := map[string][]string{}
		for k, v := range r.Header {
			hdr[strings.ToLower(k)] = v
		}
		w.Header().Set("X-Server", name)
		w.Header().Set("X-Powered-By", "echo")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "uri": r.RequestURI, "host": r.Host, "headers": hdr})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// The same policy for HAProxy and for lbd: one acl per line, the same
// rules in the same order.
const policyHAProxy = `global
  log stdout format raw local0
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend fe
  bind %[1]s:80
  acl api path_beg /api/
  acl static path_end .css .js
  acl admin path_beg -i /admin
  acl internal src 198.51.100.0/24
  acl blocked hdr_sub(user-agent) -i badbot
  acl debug urlp(debug) 1
  acl beta req.cook(beta) -m found
  acl tea path /teapot
  acl old path_reg ^/old/
  acl jsonacc hdr_sub(accept) json
  acl host_api hdr(host) -i api.example.com
  acl legacy hdr_end(host) -i .legacy.example.com
  acl secure path_beg /secure
  acl moved path_beg /moved
  acl meth_write method POST PUT DELETE
  acl has_tok hdr(x-token) -m found
  acl xlist hdr(x-list) b
  acl dir_img path_dir img
  acl purge method PURGE
  http-request deny if blocked
  http-request deny deny_status 429 if meth_write !has_tok
  http-request deny if admin !internal
  http-request return status 418 content-type text/plain string "teapot %%[path]" if tea
  http-request redirect location https://www.example.com%%[path] code 301 if legacy
  http-request redirect scheme https if secure
  http-request redirect prefix https://new.example.com drop-query code 308 if moved
  http-request replace-path ^/old/(.*) /new/\1 if old
  http-request set-header X-API yes if api jsonacc
  http-request add-header X-Debug on if debug
  http-request del-header X-Secret
  http-request set-header X-Beta %%[req.cook(beta)] if beta
  http-request set-query %%[query]&via=lb if api
  http-request set-header X-List-B 1 if xlist
  http-request set-path /static%%[path] if static
  http-request set-header X-Img 1 if dir_img
  http-request set-method GET if purge
  http-request replace-value X-Roles ^adm(.*)$ ADM\1
  http-response set-header X-Frame-Options DENY
  http-response del-header X-Powered-By
  use_backend api if api
  use_backend api if host_api
  default_backend app
backend app
  server s %[2]s
backend api
  server s %[3]s
`

const policyLBD = `
frontend "fe" {
  bind            = ["%[1]s:80"]
  default_backend = "app"
  acl "api"       { path_beg = ["/api/"] }
  acl "static"    { path_end = [".css", ".js"] }
  acl "admin" {
    path_beg    = ["/admin"]
    ignore_case = true
  }
  acl "internal"  { src = ["198.51.100.0/24"] }
  acl "blocked" {
    hdr "User-Agent" {
      sub         = ["badbot"]
      ignore_case = true
    }
  }
  acl "debug" {
    url_param "debug" { value = ["1"] }
  }
  acl "beta" {
    cookie "beta" { found = true }
  }
  acl "tea"      { path = ["/teapot"] }
  acl "old"      { path_reg = ["^/old/"] }
  acl "jsonacc" {
    hdr "Accept" { sub = ["json"] }
  }
  acl "host_api" { host = ["api.example.com"] }
  acl "legacy"   { host_end = [".legacy.example.com"] }
  acl "secure"   { path_beg = ["/secure"] }
  acl "moved"    { path_beg = ["/moved"] }
  acl "meth_write" { method = ["POST", "PUT", "DELETE"] }
  acl "has_tok" {
    hdr "X-Token" { found = true }
  }
  acl "xlist" {
    hdr "X-List" { value = ["b"] }
  }
  acl "dir_img"  { path_dir = ["img"] }
  acl "purge"    { method = ["PURGE"] }

  http_request "deny" {
    if = "blocked"
  }
  http_request "deny" {
    if     = "meth_write !has_tok"
    status = 429
  }
  http_request "deny" {
    if = "admin !internal"
  }
  http_request "return" {
    if           = "tea"
    status       = 418
    content_type = "text/plain"
    body         = "teapot %%[path]"
  }
  http_request "redirect" {
    if       = "legacy"
    location = "https://www.example.com%%[path]"
    code     = 301
  }
  http_request "redirect" {
    if     = "secure"
    scheme = "https"
  }
  http_request "redirect" {
    if         = "moved"
    prefix     = "https://new.example.com"
    drop_query = true
    code       = 308
  }
  http_request "replace_path" {
    if      = "old"
    regex   = "^/old/(.*)"
    replace = "/new/\\1"
  }
  http_request "set_header" {
    if    = "api jsonacc"
    name  = "X-API"
    value = "yes"
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
    value = "%%[req.cook(beta)]"
  }
  http_request "set_query" {
    if    = "api"
    value = "%%[query]&via=lb"
  }
  http_request "set_header" {
    if    = "xlist"
    name  = "X-List-B"
    value = "1"
  }
  http_request "set_path" {
    if    = "static"
    value = "/static%%[path]"
  }
  http_request "set_header" {
    if    = "dir_img"
    name  = "X-Img"
    value = "1"
  }
  http_request "set_method" {
    if    = "purge"
    value = "GET"
  }
  http_request "replace_value" {
    name    = "X-Roles"
    regex   = "^adm(.*)$"
    replace = "ADM\\1"
  }
  http_response "set_header" {
    name  = "X-Frame-Options"
    value = "DENY"
  }
  http_response "del_header" {
    name = "X-Powered-By"
  }
  route "api" {
    if      = "api || host_api"
    backend = "api"
  }
}
backend "app" {
  server "s" {
    address = "%[2]s"
    check   = false
  }
}
backend "api" {
  server "s" {
    address = "%[3]s"
    check   = false
  }
}
`

// corpusReq is one request of the comparison corpus.
type corpusReq struct {
	method, target, host string
	hdrs                 [][2]string
	body                 string
}

func policyCorpus() []corpusReq {
	h := func(kv ...string) [][2]string {
		var out [][2]string
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, [2]string{kv[i], kv[i+1]})
		}
		return out
	}
	return []corpusReq{
		{"GET", "/", "www.example.com", nil, ""},
		{"GET", "/page?x=1", "www.example.com", nil, ""},
		{"GET", "/x", "www.example.com", h("User-Agent", "Mozilla/5.0 (BadBot 1.0)"), ""},
		{"GET", "/x", "www.example.com", h("User-Agent", "BADBOT"), ""},
		{"GET", "/x", "www.example.com", h("User-Agent", "goodbot"), ""},
		{"POST", "/form", "www.example.com", nil, "a=1"},
		{"POST", "/form", "www.example.com", h("X-Token", ""), "a=1"},
		{"PUT", "/form", "www.example.com", h("X-Token", "t"), "a=1"},
		{"DELETE", "/thing", "www.example.com", nil, ""},
		{"GET", "/admin", "www.example.com", nil, ""},
		{"GET", "/ADMIN/users", "www.example.com", nil, ""},
		{"GET", "/administrator", "www.example.com", nil, ""},
		{"GET", "/teapot", "www.example.com", nil, ""},
		{"GET", "/teapot?x", "www.example.com", nil, ""},
		{"GET", "/teapot/", "www.example.com", nil, ""},
		{"GET", "/a/b?c=d", "shop.legacy.example.com", nil, ""},
		{"GET", "/a", "legacy.example.com", nil, ""},
		{"GET", "/secure/login?next=/", "www.example.com", nil, ""},
		{"GET", "/moved/here?q=1", "www.example.com", nil, ""},
		{"GET", "/old/page?keep=1", "www.example.com", nil, ""},
		{"GET", "/older/page", "www.example.com", nil, ""},
		{"GET", "/api/v1/items", "www.example.com", h("Accept", "application/json"), ""},
		{"GET", "/api/v1/items?x=1", "www.example.com", h("Accept", "text/html"), ""},
		{"GET", "/api/", "www.example.com", nil, ""},
		{"GET", "/anything", "api.example.com", nil, ""},
		{"GET", "/anything", "API.EXAMPLE.COM", nil, ""},
		{"GET", "/x?debug=1", "www.example.com", nil, ""},
		{"GET", "/x?debug=2&debug=1", "www.example.com", nil, ""},
		{"GET", "/x?debug", "www.example.com", nil, ""},
		{"GET", "/x?nodebug=1", "www.example.com", nil, ""},
		{"GET", "/x", "www.example.com", h("X-Secret", "s3cr3t", "X-Secret", "again"), ""},
		{"GET", "/x", "www.example.com", h("Cookie", "a=1; beta=on"), ""},
		{"GET", "/x", "www.example.com", h("Cookie", "a=1", "Cookie", "beta=second"), ""},
		{"GET", "/x", "www.example.com", h("Cookie", "xbeta=1"), ""},
		{"GET", "/x", "www.example.com", h("X-List", "a, b, c"), ""},
		{"GET", "/x", "www.example.com", h("X-List", "a", "X-List", "b"), ""},
		{"GET", "/x", "www.example.com", h("X-List", "ab"), ""},
		{"GET", "/css/site.css", "www.example.com", nil, ""},
		{"GET", "/app.js?v=2", "www.example.com", nil, ""},
		{"GET", "/static/img/logo.png", "www.example.com", nil, ""},
		{"GET", "/images/logo.png", "www.example.com", nil, ""},
		{"PURGE", "/cache/x", "www.example.com", nil, ""},
		{"GET", "/x", "www.example.com", h("X-Roles", "user, admin, adm-ops"), ""},
		{"GET", "/x", "www.example.com", h("X-Roles", "guest"), ""},
		{"HEAD", "/", "www.example.com", nil, ""},
		{"OPTIONS", "*", "www.example.com", nil, ""},
	}
}

// TestPolicyMatchesHAProxy: the same rule set in haproxy.cfg and in
// lbd's HCL gives the same responses to a corpus of requests: status,
// Location, the body and type of returned responses, the backend chosen,
// and the request the backend received (method, URI, Host, and every
// X- header), with the response rules' headers.
func TestPolicyMatchesHAProxy(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	web1 := l.Addr("web1")
	app, api := web1+":8181", web1+":8182"
	l.echoServer(t, "web1", app, "app")
	l.echoServer(t, "web1", api, "api")
	lb1, lb2 := l.Addr("lb1"), l.Addr("lb2")
	l.startHAProxy(t, "lb2", fmt.Sprintf(policyHAProxy, lb2, app, api), lb2+":80")
	l.StartLBD("lb1", fmt.Sprintf(policyLBD, lb1, app, api))
	Eventually(t, 10*time.Second, func() bool {
		c, err := l.Dial("client", "tcp", lb1+":80")
		if err == nil {
			c.Close()
		}
		return err == nil
	}, "lbd to listen")

	client := &http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{DialContext: l.DialContext("client"), DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(addr string, cr corpusReq) (string, error) {
		var body io.Reader
		if cr.body != "" {
			body = strings.NewReader(cr.body)
		}
		req, err := http.NewRequest(cr.method, "http://"+addr+"/", body)
		if err != nil {
			return "", err
		}
		req.URL.Opaque = cr.target // sent as written
		req.Host = cr.host
		for _, kv := range cr.hdrs {
			req.Header.Add(kv[0], kv[1])
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return summarize(resp, b), nil
	}
	mismatches := 0
	for _, cr := range policyCorpus() {
		want, err := do(lb2+":80", cr)
		if err != nil {
			t.Fatalf("HAProxy: %s %s: %v", cr.method, cr.target, err)
		}
		got, err := do(lb1+":80", cr)
		if err != nil {
			t.Fatalf("lbd: %s %s: %v", cr.method, cr.target, err)
		}
		if got != want {
			mismatches++
			t.Errorf("%s %s Host %s %v:\n HAProxy: %s\n lbd:     %s", cr.method, cr.target, cr.host, cr.hdrs, want, got)
		}
	}
	t.Logf("FIGURE policy corpus: %d requests, %d differ from HAProxy 2.6", len(policyCorpus()), mismatches)
}

// summarize keeps what both proxies must agree on: status, Location,
// Content-Type and body of proxy-made responses (error pages' bodies
// differ by design, so a 4xx/5xx keeps only its status), the backend
// chosen and what it received, and the response rules' headers.
func summarize(resp *http.Response, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", resp.StatusCode)
	if loc := resp.Header.Get("Location"); loc != "" {
		fmt.Fprintf(&b, " location=%s", loc)
	}
	for _, h := range []string{"X-Frame-Options", "X-Powered-By"} {
		if v := resp.Header.Values(h); len(v) > 0 {
			fmt.Fprintf(&b, " %s=%q", h, v)
		}
	}
	srv := resp.Header.Get("X-Server")
	switch {
	case srv != "":
		var echo struct {
			Method  string              `json:"method"`
			URI     string              `json:"uri"`
			Host    string              `json:"host"`
			Headers map[string][]string `json:"headers"`
		}
		json.Unmarshal(body, &echo)
		var hs []string
		for k, v := range echo.Headers {
			if strings.HasPrefix(k, "x-") {
				hs = append(hs, fmt.Sprintf("%s=%q", k, v))
			}
		}
		sort.Strings(hs)
		fmt.Fprintf(&b, " backend=%s %s %s host=%s %s", srv, echo.Method, echo.URI, echo.Host, strings.Join(hs, " "))
	case resp.StatusCode < 400:
		fmt.Fprintf(&b, " type=%q body=%q", resp.Header.Get("Content-Type"), body)
	}
	return b.String()
}

var _ = os.WriteFile
var _ = filepath.Join

// TestMapsAtRuntime: a map routes by host; lbctl map add/set/del change
// the routing without a reload, lbctl map show lists the entries and where
// they come from; a reload re-reads the file and keeps the runtime
// changes on top; lbctl map reset drops them.
func TestMapsAtRuntime(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	web1 := l.Addr("web1")
	l.echoServer(t, "web1", web1+":8181", "app")
	l.echoServer(t, "web1", web1+":8182", "api")
	l.echoServer(t, "web1", web1+":8183", "shop")
	lb1 := l.Addr("lb1")
	mapFile := filepath.Join(l.Dir(), "hosts.map")
	if err := os.WriteFile(mapFile, []byte("# host -> backend\napi.example.com api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hcl := fmt.Sprintf(`
map "hosts" {
  file = %q
}
frontend "fe" {
  bind            = ["%[2]s:80"]
  default_backend = "app"
  route "by_host" {
    backend = "%%[req.hdr(host),lower,map(hosts)]"
  }
}
backend "app" {
  server "s" {
    address = "%[3]s:8181"
    check   = false
  }
}
backend "api" {
  server "s" {
    address = "%[3]s:8182"
    check   = false
  }
}
backend "shop" {
  server "s" {
    address = "%[3]s:8183"
    check   = false
  }
}
`, mapFile, lb1, web1)
	lb := l.StartLBD("lb1", hcl)
	backendFor := func(host string) string {
		req, _ := http.NewRequest("GET", "http://"+lb1+"/", nil)
		req.Host = host
		resp, _, err := l.HTTPDo("client", req)
		if err != nil {
			t.Fatalf("GET for %s: %v", host, err)
		}
		return resp.Header.Get("X-Server")
	}
	expect := func(what string, want map[string]string) {
		t.Helper()
		for host, be := range want {
			if got := backendFor(host); got != be {
				t.Errorf("%s: %s goes to %q, want %q", what, host, got, be)
			}
		}
	}
	expect("from the file", map[string]string{"api.example.com": "api", "shop.example.com": "app", "API.Example.com": "api"})

	lb.MustCtl(t, "map", "add", "hosts", "shop.example.com", "shop")
	expect("after map add", map[string]string{"shop.example.com": "shop", "api.example.com": "api"})
	lb.MustCtl(t, "map", "set", "hosts", "api.example.com", "shop")
	expect("after map set", map[string]string{"api.example.com": "shop"})
	if out, err := lb.Ctl("map", "add", "hosts", "bad", "v\r\nx: 1"); err == nil {
		t.Errorf("a value with CR LF was accepted: %s", out)
	}
	if out, err := lb.Ctl("map", "del", "hosts", "nosuch.example.com"); err == nil || !strings.Contains(out, "no key") {
		t.Errorf("del of a missing key: %v %s", err, out)
	}
	out := lb.MustCtl(t, "map", "show", "hosts")
	for _, want := range []string{"shop.example.com  shop", "runtime"} {
		if !strings.Contains(out, want) {
			t.Errorf("map show lacks %q:\n%s", want, out)
		}
	}
	if out := lb.MustCtl(t, "map", "list"); !strings.Contains(out, "hosts") {
		t.Errorf("map list:\n%s", out)
	}

	// A reload re-reads the file (now with www) and keeps the runtime
	// changes (shop added, api set).
	os.WriteFile(mapFile, []byte("api.example.com api\nwww.example.com shop\n"), 0o644)
	lb.MustCtl(t, "reload")
	expect("after a reload", map[string]string{"www.example.com": "shop", "shop.example.com": "shop", "api.example.com": "shop"})
	lb.MustCtl(t, "map", "del", "hosts", "shop.example.com")
	expect("after map del", map[string]string{"shop.example.com": "app"})
	lb.MustCtl(t, "map", "reset", "hosts")
	expect("after map reset", map[string]string{"api.example.com": "api", "www.example.com": "shop", "shop.example.com": "app"})
	lb.MustCtl(t, "map", "clear", "hosts")
	expect("after map clear", map[string]string{"api.example.com": "app"})
}
