//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireProgram returns the path of an installed program the test runs
// next to lbd (haproxy, halog, rsyslogd): skipped without it, a failure
// under CI=true (.ci/run installs them).
func requireProgram(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (.ci/run installs it)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// importHAProxyCfg is what an HAProxy user runs today on the lab's web
// servers: an HTTP site with cookie persistence and HTTP checks, a path
// routed to another backend, a backend without servers, and a tcp
// service.
const importHAProxyCfg = `global
    maxconn 1000

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 10s
    timeout server 10s

frontend web
    bind *:80
    acl is_api path_beg /api/
    acl is_empty path_beg /empty
    use_backend api if is_api
    use_backend empty if is_empty
    default_backend app

backend app
    balance roundrobin
    cookie SERVERID insert indirect nocache
    option httpchk GET /health
    http-check expect status 200
    server web1 192.0.2.21:80 check inter 500ms cookie s1
    server web2 192.0.2.22:80 check inter 500ms cookie s2

backend api
    server api1 192.0.2.21:8080 check inter 500ms

backend empty
    mode http

listen lines
    mode tcp
    bind *:9000
    balance roundrobin
    server web1 192.0.2.21:9000 check inter 500ms
    server web2 192.0.2.22:9000 check inter 500ms
`

// answer is what a client sees of one response. Cache-Control is not
// compared: with "nocache", HAProxy 2.6 adds "Cache-Control: private" to a
// response that sets the cookie only when the response is cacheable (it
// has a validator or an expiry; the lab server's have neither), lbd to
// every such response (more conservative; noted for the proxy's owner).
type answer struct {
	Status    int
	Server    string // X-Server: the backend server
	Listener  string // X-Listener: which of its ports
	SetCookie string // name=value plus the attributes that matter
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s %s set-cookie=%q", a.Status, a.Server, a.Listener, a.SetCookie)
}

// setCookieSummary reduces a Set-Cookie to what both proxies must agree
// on: name=value, Path, HttpOnly, Secure (attribute order and case vary).
func setCookieSummary(h http.Header) string {
	sc := h.Get("Set-Cookie")
	if sc == "" {
		return ""
	}
	parts := strings.Split(sc, ";")
	out := []string{strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "path":
			out = append(out, "path="+v)
		case "httponly", "secure":
			out = append(out, strings.ToLower(k))
		}
	}
	return strings.Join(out, "; ")
}

// TestImportSideBySide converts a haproxy.cfg with lbctl import, runs
// HAProxy with the original on lb2 and lbd with the result on lb1, in
// front of the same web servers, and compares what a client sees through
// each: statuses, the order servers are chosen in, persistence cookies,
// routing, a backend without servers, and a tcp service.
func TestImportSideBySide(t *testing.T) {
	haproxy := requireProgram(t, "haproxy")
	RequireLBD(t)
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")

	cfgPath := filepath.Join(l.Dir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(importHAProxyCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	hclPath := filepath.Join(l.Dir(), "imported.hcl")
	var stderr bytes.Buffer
	cmd := exec.Command(Bin(t, "lbctl"), "import", "--haproxy", cfgPath, "-o", hclPath)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lbctl import: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "complete; the result passes lbd -c") {
		t.Fatalf("lbctl import did not convert the file completely:\n%s", stderr.String())
	}
	hcl, err := os.ReadFile(hclPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported configuration:\n%s", hcl)

	hp := l.Start("lb2", haproxy, "-db", "-f", cfgPath)
	lb := l.StartLBD("lb1", string(hcl))
	proxies := []struct{ name, addr string }{{"haproxy", l.Addr("lb2")}, {"lbd", l.Addr("lb1")}}
	for _, p := range proxies {
		Eventually(t, 10*time.Second, func() bool {
			code, _, err := l.HTTPGet("client", "http://"+p.addr+"/")
			return err == nil && code == 200
		}, "%s to answer on %s:80 (%s)", p.name, p.addr, Lazy(hp.Output))
	}
	lb.WaitServerState(t, "app", "web1", "UP", 10*time.Second)
	lb.WaitServerState(t, "app", "web2", "UP", 10*time.Second)
	time.Sleep(time.Second) // HAProxy's checks (inter 500ms) have run too

	get := func(addr, path, cookie string) answer {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, _, err := l.HTTPDo("client", req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", addr, path, err)
		}
		return answer{resp.StatusCode, resp.Header.Get("X-Server"), resp.Header.Get("X-Listener"), setCookieSummary(resp.Header)}
	}
	compare := func(what string, run func(addr string) []answer) {
		t.Helper()
		var seen [2][]answer
		for i, p := range proxies {
			seen[i] = run(p.addr)
		}
		if fmt.Sprint(seen[0]) != fmt.Sprint(seen[1]) {
			t.Errorf("%s differs:\n haproxy %v\n lbd     %v", what, seen[0], seen[1])
		} else {
			t.Logf("%s, both: %v", what, seen[0])
		}
	}

	// Round robin without a cookie: the same servers in the same order,
	// each answer inserting the server's cookie, marked not cacheable.
	compare("balancing order and inserted cookies", func(addr string) []answer {
		var out []answer
		for range 6 {
			out = append(out, get(addr, "/", ""))
		}
		return out
	})
	// A persistence cookie pins the server; indirect: it is not set again
	// and the server does not see it.
	compare("persistence", func(addr string) []answer {
		var out []answer
		for range 3 {
			out = append(out, get(addr, "/", "SERVERID=s2"), get(addr, "/", "SERVERID=s1"))
		}
		return out
	})
	compare("a cookie naming no server", func(addr string) []answer {
		return []answer{get(addr, "/", "SERVERID=nope")}
	})
	compare("routing with use_backend", func(addr string) []answer {
		return []answer{get(addr, "/api/users", ""), get(addr, "/apix", ""), get(addr, "/empty/x", "")}
	})
	// The tcp service: servers in turn, one per connection.
	compare("tcp round robin", func(addr string) []answer {
		var out []answer
		for range 4 {
			c, err := l.Dial("client", "tcp", addr+":9000")
			if err != nil {
				t.Fatalf("tcp %s: %v", addr, err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "NAME\n")
			name, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err != nil {
				t.Fatalf("tcp %s: %v", addr, err)
			}
			out = append(out, answer{Server: strings.TrimSpace(name)})
		}
		return out
	})

	// A server going DOWN: both stop sending to it, and its cookie no
	// longer pins clients (they are balanced and get a new cookie).
	l.SetWebHealth("web2", false)
	lb.WaitServerState(t, "app", "web2", "DOWN", 10*time.Second)
	time.Sleep(2 * time.Second) // HAProxy: fall 3 x inter 500ms
	compare("a server DOWN", func(addr string) []answer {
		return []answer{get(addr, "/", ""), get(addr, "/", "SERVERID=s2"), get(addr, "/", "")}
	})
}
