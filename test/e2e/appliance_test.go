//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The proxy, health and operations tests run one lbd, on lb1, with the lab
// configuration (deploy/lab/lab.hcl.tmpl: frontend "web" on the VIP :80 and
// every node address :8080 to backend "web" = web1, web2; frontend "tcp" on
// the VIP :9000; stats on :8404, user admin, password lab) plus what
// applianceConfig adds. lb1 alone is MASTER and holds the VIP.

// node is the node the single lbd of these tests runs on.
const node = "lb1"

// health interval of backend "web" in these tests (every interval of the
// lab's http check is set to it), fall and rise as in the lab config.
const (
	checkInterval = 500 * time.Millisecond
	checkFall     = 2
)

// bk503 is the error_file of frontend "bk" for 503.
const bk503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 23\r\nConnection: close\r\n\r\nbk: no server is left.\n"

// replaceOnce replaces old by new in s and fails the test unless old occurs
// exactly once: a change to the lab template must break these edits
// loudly, never turn them into no-ops.
func replaceOnce(t testing.TB, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("the lab config has %d occurrences of %q, want 1:\n%s", n, old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// applianceConfig is the lab config of lb1 with:
//   - every interval of backend "web"'s http check at checkInterval;
//   - cookie persistence (SERVERID, insert) on backend "web";
//   - backend "api" (web1:8080), for routes added by reloads;
//   - frontend "bk" on :8081 to backend "bk": server "main" (web1) and the
//     backup server "spare" (web2), with an error_file for 503.
//
// It writes the error file into the lab directory next to the config.
func applianceConfig(t testing.TB, l *Lab) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(l.Dir(), "bk503.http"), []byte(bk503), 0o644); err != nil {
		t.Fatal(err)
	}
	c := LabConfig(node)
	c = replaceOnce(t, c, `    interval      = "1s"
    fast_interval = "500ms"
    down_interval = "2s"`, `    interval      = "500ms"
    fast_interval = "500ms"
    down_interval = "500ms"`)
	c = replaceOnce(t, c, `backend "web" {
  balance = "roundrobin"
`, `backend "web" {
  balance = "roundrobin"
  cookie "SERVERID" {
    mode = "insert"
  }
`)
	return c + `
backend "api" {
  health_check {
    type          = "http"
    path          = "/health"
    interval      = "500ms"
    fast_interval = "500ms"
    down_interval = "500ms"
  }
  server "web1" {
    address = "192.0.2.21:8080"
  }
}

frontend "bk" {
  bind            = ["0.0.0.0:8081"]
  default_backend = "bk"
  error_file {
    status = 503
    path   = "bk503.http"
  }
}

backend "bk" {
  health_check {
    type          = "http"
    path          = "/health"
    interval      = "500ms"
    fast_interval = "500ms"
    down_interval = "500ms"
    timeout       = "500ms"
    rise          = 2
    fall          = 2
  }
  server "main" {
    address = "192.0.2.21:80"
  }
  server "spare" {
    address = "192.0.2.22:80"
    backup  = true
  }
}
`
}

// appliance is a lab with web1 and web2 serving and lbd on lb1 with
// applianceConfig, every checked server UP.
type appliance struct {
	*Lab
	webs map[string]*Proc
	lbd  *LBD
}

func newAppliance(t *testing.T) *appliance {
	t.Helper()
	RequireLBD(t)
	a := &appliance{Lab: NewLab(t), webs: map[string]*Proc{}}
	for _, w := range []string{"web1", "web2"} {
		a.webs[w] = a.StartWeb(w)
	}
	a.lbd = a.StartLBD(node, applianceConfig(t, a.Lab))
	a.waitAllUp(t)
	Eventually(t, 15*time.Second, func() bool { return a.HasAddr(node, VIP) }, "the VIP on %s", node)
	return a
}

// waitAllUp waits until every server the lab config and applianceConfig
// define is UP with its transition over.
func (a *appliance) waitAllUp(t testing.TB) {
	t.Helper()
	for _, bs := range [][2]string{
		{"web", "web1"}, {"web", "web2"}, {"tcp", "web1"}, {"tcp", "web2"},
		{"api", "web1"}, {"bk", "main"}, {"bk", "spare"},
	} {
		a.lbd.WaitFullState(t, bs[0], bs[1], "UP", 20*time.Second)
	}
}

// nodeURL is http://192.0.2.11:8080 + path: frontend "web" on lb1's own
// address.
func (a *appliance) nodeURL(path string) string {
	return "http://" + a.Addr(node) + ":8080" + path
}
