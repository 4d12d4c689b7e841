package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"lbd/health"
)

const cookieHTTP = `
frontend "web" {
  bind = ["{{fe}}"]
  default_backend = "app"
}
backend "app" {
  cookie "{{name}}" {
    mode = "{{mode}}"
    {{extra}}
  }
  server "s1" {
    address = "{{s1}}"
    check = false
    weight = {{w1}}
  }
  server "s2" {
    address = "{{s2}}"
    check = false
  }
}
`

// cookieServers start two backends that report their name and the Cookie
// header they received, and set a cookie when asked to.
func cookieServers(t *testing.T) (string, string) {
	mk := func(name string) string {
		return hostport(backendServer(t, name, func(w http.ResponseWriter, r *http.Request) {
			if v := r.URL.Query().Get("set"); v != "" {
				w.Header().Add("Set-Cookie", v)
			}
			fmt.Fprintf(w, "%s|%s", name, r.Header.Get("Cookie"))
		}))
	}
	return mk("s1"), mk("s2")
}

func cookieVars(fe, s1, s2, name, mode, extra string) map[string]string {
	return map[string]string{"fe": fe, "s1": s1, "s2": s2, "name": name, "mode": mode, "extra": extra, "w1": "1"}
}

func get(t *testing.T, url string, cookie string) (*http.Response, string) {
	t.Helper()
	h := map[string]string{}
	if cookie != "" {
		h["Cookie"] = cookie
	}
	return httpGet(t, url, h)
}

func TestCookieInsertIndirect(t *testing.T) {
	s1, s2 := cookieServers(t)
	fe := freePort(t)
	vars := cookieVars(fe, s1, s2, "SERVERID", "insert", "maxidle = \"0s\"\n    maxlife = \"0s\"")
	r := newRig(t, cookieHTTP, vars)
	url := "http://" + fe + "/"

	resp, body := get(t, url, "")
	sc := resp.Header.Get("Set-Cookie")
	srv := strings.SplitN(body, "|", 2)[0]
	if sc != "SERVERID="+srv+"; path=/; HttpOnly" {
		t.Fatalf("Set-Cookie %q for %s", sc, srv)
	}
	if resp.Header.Get("Cache-Control") != "private" {
		t.Fatalf("nocache: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	// The cookie pins the client; the server never sees it (indirect); no
	// new Set-Cookie once it is valid.
	for i := 0; i < 4; i++ {
		resp, body := get(t, url, "a=1; SERVERID="+srv+"; b=2")
		if body != srv+"|a=1; b=2" {
			t.Fatalf("#%d: %q", i, body)
		}
		if resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("cookie set again: %q", resp.Header.Get("Set-Cookie"))
		}
	}
	// Only our cookie: the Cookie header disappears.
	if _, body := get(t, url, "SERVERID="+srv); body != srv+"|" {
		t.Fatalf("got %q", body)
	}
	// An unknown server is redispatched and the cookie replaced.
	resp, body = get(t, url, "SERVERID=nosuch")
	now := strings.SplitN(body, "|", 2)[0]
	if resp.Header.Get("Set-Cookie") != "SERVERID="+now+"; path=/; HttpOnly" {
		t.Fatalf("unknown server: Set-Cookie %q", resp.Header.Get("Set-Cookie"))
	}
	// A drained server (weight 0) keeps its persistent clients.
	vars["w1"] = "0"
	r.apply(cookieHTTP, vars)
	for i := 0; i < 3; i++ {
		if _, body := get(t, url, "SERVERID=s1"); !strings.HasPrefix(body, "s1|") {
			t.Fatalf("drained server lost its session: %q", body)
		}
		if _, body := get(t, url, ""); !strings.HasPrefix(body, "s2|") {
			t.Fatalf("drained server got new traffic: %q", body)
		}
	}
}

func TestCookieInsertDirectAndFlags(t *testing.T) {
	s1, s2 := cookieServers(t)
	fe := freePort(t)
	newRig(t, cookieHTTP, cookieVars(fe, s1, s2, "LB", "insert", "indirect = false\n    nocache = false\n    httponly = false\n    secure = true\n    maxidle = \"0s\"\n    maxlife = \"0s\""))
	resp, body := get(t, "http://"+fe+"/", "")
	srv := strings.SplitN(body, "|", 2)[0]
	if sc := resp.Header.Get("Set-Cookie"); sc != "LB="+srv+"; path=/; Secure" || resp.Header.Get("Cache-Control") != "" {
		t.Fatalf("Set-Cookie %q Cache-Control %q", sc, resp.Header.Get("Cache-Control"))
	}
	// Without indirect the server sees the cookie.
	if _, body := get(t, "http://"+fe+"/", "LB="+srv); body != srv+"|LB="+srv {
		t.Fatalf("got %q", body)
	}
}

func TestCookieInsertDates(t *testing.T) {
	s1, s2 := cookieServers(t)
	fe := freePort(t)
	newRig(t, cookieHTTP, cookieVars(fe, s1, s2, "SRV", "insert", `maxidle = "1m"
    maxlife = "1h"`))
	url := "http://" + fe + "/"
	resp, body := get(t, url, "")
	srv := strings.SplitN(body, "|", 2)[0]
	v := strings.TrimPrefix(strings.SplitN(resp.Header.Get("Set-Cookie"), ";", 2)[0], "SRV=")
	parts := strings.Split(v, "|")
	if len(parts) != 3 || parts[0] != srv || len(parts[1]) != 5 || len(parts[2]) != 5 {
		t.Fatalf("dated cookie %q", v)
	}
	now := time.Now().Unix()
	last, first := parseCookieDates([]byte(parts[1] + "|" + parts[2]))
	if last < now-10 || last > now+10 || first != last {
		t.Fatalf("dates %d %d, now %d", last, first, now)
	}
	// Fresh: no new Set-Cookie.
	if resp, body := get(t, url, "SRV="+v); !strings.HasPrefix(body, srv+"|") || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("fresh cookie: %q set %q", body, resp.Header.Get("Set-Cookie"))
	}
	date := func(sec int64) string { return string(s30tob64(nil, sec>>2)) }
	// Seen 40s ago (more than maxidle/4): refreshed, first date kept.
	old := srv + "|" + date(now-40) + "|" + date(now-100)
	resp, body = get(t, url, "SRV="+old)
	if !strings.HasPrefix(body, srv+"|") {
		t.Fatalf("refresh lost persistence: %q", body)
	}
	nv := strings.TrimPrefix(strings.SplitN(resp.Header.Get("Set-Cookie"), ";", 2)[0], "SRV=")
	if np := strings.Split(nv, "|"); len(np) != 3 || np[2] != date(now-100) || np[1] == date(now-40) {
		t.Fatalf("refreshed cookie %q from %q", nv, old)
	}
	// Idle for 2 minutes (> maxidle): expired, balanced again, new dates.
	for _, expired := range []string{
		srv + "|" + date(now-120) + "|" + date(now-130),
		srv + "|" + date(now-10) + "|" + date(now-7200), // older than maxlife
	} {
		resp, _ = get(t, url, "SRV="+expired)
		nv := strings.TrimPrefix(strings.SplitN(resp.Header.Get("Set-Cookie"), ";", 2)[0], "SRV=")
		np := strings.Split(nv, "|")
		if len(np) != 3 {
			t.Fatalf("expired cookie not replaced: %q", nv)
		}
		if l, f := parseCookieDates([]byte(np[1] + "|" + np[2])); f < now-10 || l < now-10 {
			t.Fatalf("expired cookie kept its dates: %q", nv)
		}
	}
}

func TestCookiePrefix(t *testing.T) {
	s1, s2 := cookieServers(t)
	fe := freePort(t)
	newRig(t, cookieHTTP, cookieVars(fe, s1, s2, "JSESSIONID", "prefix", ""))
	url := "http://" + fe + "/?set=JSESSIONID%3Dabc123%3B%20Path%3D%2F"
	resp, body := get(t, url, "")
	srv := strings.SplitN(body, "|", 2)[0]
	if sc := resp.Header.Get("Set-Cookie"); sc != "JSESSIONID="+srv+"~abc123; Path=/" {
		t.Fatalf("Set-Cookie %q", sc)
	}
	for i := 0; i < 4; i++ {
		_, body := get(t, "http://"+fe+"/", "x=y; JSESSIONID="+srv+"~abc123")
		if body != srv+"|x=y; JSESSIONID=abc123" {
			t.Fatalf("#%d: %q", i, body)
		}
	}
	// Other cookies from the server pass untouched.
	resp, _ = get(t, "http://"+fe+"/?set=theme%3Ddark", "")
	if sc := resp.Header.Get("Set-Cookie"); sc != "theme=dark" {
		t.Fatalf("foreign cookie changed: %q", sc)
	}
}

func TestCookieRewrite(t *testing.T) {
	s1, s2 := cookieServers(t)
	fe := freePort(t)
	newRig(t, cookieHTTP, cookieVars(fe, s1, s2, "SERVERID", "rewrite", ""))
	resp, body := get(t, "http://"+fe+"/?set=SERVERID%3Dxxx%3B%20Path%3D%2F", "")
	srv := strings.SplitN(body, "|", 2)[0]
	if sc := resp.Header.Get("Set-Cookie"); sc != "SERVERID="+srv+"; Path=/" {
		t.Fatalf("Set-Cookie %q", sc)
	}
	for i := 0; i < 4; i++ {
		if _, body := get(t, "http://"+fe+"/", "SERVERID="+srv); body != srv+"|SERVERID="+srv {
			t.Fatalf("#%d %q", i, body)
		}
	}
}

func TestCookieDateCodec(t *testing.T) {
	for _, v := range []int64{0, 1, 393463510, 1<<30 - 1} {
		b := s30tob64(nil, v)
		if got := b64tos30(b); int64(got) != v {
			t.Fatalf("%d -> %s -> %d", v, b, got)
		}
	}
	// HAProxy's own test vector (s30tob64 393463510 = Xc8bW).
	if got := string(s30tob64(nil, 393463510)); got != "Xc8bW" {
		t.Fatalf("got %s", got)
	}
	if b64tos30([]byte("ab!de")) != -1 {
		t.Fatal("bad character accepted")
	}
}

var _ = io.EOF

// TestCookieToMaintOrDownServer: a cookie naming a server in MAINT (or
// DOWN) is ignored: the request is balanced and the cookie replaced.
func TestCookieToMaintOrDownServer(t *testing.T) {
	s1, s2 := cookieServers(t)
	fe := freePort(t)
	r := newRig(t, cookieHTTP, cookieVars(fe, s1, s2, "SERVERID", "insert", "maxidle = \"0s\"\n    maxlife = \"0s\""))
	if err := r.pool.SetAdminState("app", "s1", health.AdminMaint); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		resp, body := get(t, "http://"+fe+"/", "SERVERID=s1")
		if !strings.HasPrefix(body, "s2|") || resp.Header.Get("Set-Cookie") != "SERVERID=s2; path=/; HttpOnly" {
			t.Fatalf("MAINT server kept its session: %q, Set-Cookie %q", body, resp.Header.Get("Set-Cookie"))
		}
	}
	// DRAIN keeps it.
	if err := r.pool.SetAdminState("app", "s1", health.AdminDrain); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, "http://"+fe+"/", "SERVERID=s1"); !strings.HasPrefix(body, "s1|") {
		t.Fatalf("DRAIN server lost its session: %q", body)
	}
}
