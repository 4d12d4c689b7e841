//go:build linux

package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestOperationsThroughDaemon: issue 6 on a running daemon: the stats
// listener (page, HAProxy CSV, Prometheus metrics, basic auth) and lbctl's
// error cases.
func TestOperationsThroughDaemon(t *testing.T) {
	a := newAppliance(t)
	lb := a.lbd
	// Every server the configuration defines, as backend/server.
	servers := []string{"web/web1", "web/web2", "tcp/web1", "tcp/web2", "api/web1", "bk/main", "bk/spare"}

	// The stats block of the lab config: user admin, password lab.
	t.Run("stats auth", func(t *testing.T) {
		for _, path := range []string{"/stats", "/stats;csv", "/metrics"} {
			resp, _ := a.StatsGet(t, node, path, "", "")
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s without auth: %d %q, want 401 with a Basic challenge", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			if resp, _ := a.StatsGet(t, node, path, "admin", "wrong"); resp.StatusCode != 401 {
				t.Errorf("%s with a wrong password: %d, want 401", path, resp.StatusCode)
			}
		}
		resp, body := a.StatsGet(t, node, "/stats", "admin", "lab")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("/stats with auth: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		// refresh = "2s" in the lab config.
		for _, want := range []string{"web1", "web2", "spare", "VI_1", `http-equiv="refresh" content="2"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the stats page does not show %q", want)
			}
		}
	})

	// ;csv: HAProxy's header, a FRONTEND line per frontend, one line per
	// server, a BACKEND line per backend, every line as wide as the
	// header; a server whose health fails shows DOWN.
	t.Run("stats csv", func(t *testing.T) {
		a.Spread(t, "client", a.nodeURL("/"), 4, nil)
		rows := statsCSV(t, a)
		for _, sv := range servers {
			if r := rows[sv]; r == nil || r["status"] != "UP" {
				t.Errorf("CSV line of %s: %v, want status UP", sv, r)
			}
		}
		for _, px := range []string{"web/FRONTEND", "tcp/FRONTEND", "bk/FRONTEND", "web/BACKEND", "tcp/BACKEND", "api/BACKEND", "bk/BACKEND"} {
			if rows[px] == nil {
				t.Errorf("no CSV line for %s", px)
			}
		}
		if len(rows) != len(servers)+7 {
			t.Errorf("%d CSV lines, want %d (servers, frontends, backends): %v", len(rows), len(servers)+7, keys(rows))
		}
		if got := rows["web/web1"]["addr"]; got != "192.0.2.21:80" {
			t.Errorf("web/web1 addr %q", got)
		}
		if rows["bk/spare"]["bck"] != "1" || rows["bk/main"]["act"] != "1" {
			t.Errorf("bk act/bck columns: main %v, spare %v", rows["bk/main"], rows["bk/spare"])
		}

		a.SetWebHealth("web2", false)
		defer func() {
			a.SetWebHealth("web2", true)
			a.waitAllUp(t)
		}()
		lb.WaitFullState(t, "web", "web2", "DOWN", checkFall*checkInterval+5*time.Second)
		rows = statsCSV(t, a)
		if r := rows["web/web2"]; r["status"] != "DOWN" || r["check_status"] != "L7STS" {
			t.Errorf("CSV of web/web2 with its health failing: status %q check_status %q, want DOWN L7STS", r["status"], r["check_status"])
		}
		// Metrics follow too.
		_, body := a.StatsGet(t, node, "/metrics", "admin", "lab")
		if !metricLine(body, `lbd_server_up{backend="web",server="web2"}`, "0") {
			t.Errorf("/metrics with web2 DOWN lacks lbd_server_up{backend=\"web\",server=\"web2\"} 0:\n%s", grepLines(body, "lbd_server_up"))
		}
	})

	// /metrics: lbd_server_up for every server, the VRRP state.
	t.Run("metrics", func(t *testing.T) {
		resp, body := a.StatsGet(t, node, "/metrics", "admin", "lab")
		if resp.StatusCode != 200 {
			t.Fatalf("/metrics: %d", resp.StatusCode)
		}
		for _, sv := range servers {
			b, s, _ := strings.Cut(sv, "/")
			if !metricLine(body, fmt.Sprintf(`lbd_server_up{backend=%q,server=%q}`, b, s), "1") {
				t.Errorf("no lbd_server_up 1 for %s:\n%s", sv, grepLines(body, "lbd_server_up"))
			}
		}
		if !metricLine(body, `lbd_vrrp_state{instance="VI_1",state="MASTER"}`, "1") {
			t.Errorf("no lbd_vrrp_state 1 for VI_1 MASTER:\n%s", grepLines(body, "lbd_vrrp_state"))
		}
	})

	// lbctl against the running daemon: unknown names exit 1 and name
	// what was not found; malformed values are usage errors (2); a missing
	// daemon exits 1. None of it changes anything.
	t.Run("lbctl errors", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			code int
			want string // in stderr
		}{
			{[]string{"backend", "status", "nosuch"}, 1, "nosuch"},
			{[]string{"server", "state", "web/nosuch", "maint"}, 1, "nosuch"},
			{[]string{"server", "state", "nosuch/web1", "drain"}, 1, "nosuch"},
			{[]string{"server", "weight", "web/nosuch", "2"}, 1, "nosuch"},
			{[]string{"vip", "release", "VI_NOPE"}, 1, "VI_NOPE"},
			{[]string{"vip", "reclaim", "VI_NOPE"}, 1, "VI_NOPE"},
			{[]string{"server", "weight", "web/web1", "300"}, 2, "0..256"},
			{[]string{"server", "state", "web/web1", "sleepy"}, 2, "ready, drain or maint"},
			{[]string{"server", "state", "web1", "maint"}, 2, "BACKEND/SERVER"},
			{[]string{"--socket", filepath.Join(a.Dir(), "nosuch.sock"), "backend", "status"}, 1, "nosuch.sock"},
		} {
			stdout, stderr, code := lb.CtlExit(c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "goroutine ") {
				t.Errorf("lbctl %s: exit %d, stderr %q; want exit %d and a message with %q", strings.Join(c.args, " "), code, stderr, c.code, c.want)
			}
			if stdout != "" {
				t.Errorf("lbctl %s printed on stdout: %q", strings.Join(c.args, " "), stdout)
			}
			first, _, _ := strings.Cut(stderr, "\n")
			t.Logf("lbctl %s -> exit %d: %s", strings.Join(c.args, " "), code, first)
		}
		if s := lb.Server(t, "web", "web1"); s.State != "UP" || s.Admin != "READY" || s.RuntimeWeight != 1 {
			t.Errorf("after the refused commands web/web1 is %+v", s)
		}
		if st := lb.InstanceState("VI_1"); st != "MASTER" {
			t.Errorf("after the refused commands VI_1 is %q", st)
		}
	})
}

// statsCSV fetches /stats;csv and returns its lines by "pxname/svname",
// each as column name -> value. It fails the test unless the header is
// HAProxy's and every line has as many fields as the header.
func statsCSV(t *testing.T, a *appliance) map[string]map[string]string {
	t.Helper()
	resp, body := a.StatsGet(t, node, "/stats;csv", "admin", "lab")
	if resp.StatusCode != 200 {
		t.Fatalf("/stats;csv: %d %q", resp.StatusCode, body)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	const haproxyHead = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,"
	if !strings.HasPrefix(lines[0], haproxyHead) {
		t.Fatalf("CSV header is not HAProxy's:\n%s", lines[0])
	}
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	rows := map[string]map[string]string{}
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		if len(f) != len(cols) {
			t.Fatalf("CSV line with %d fields, the header has %d:\n%s", len(f), len(cols), line)
		}
		r := map[string]string{}
		for i, c := range cols {
			r[c] = f[i]
		}
		key := r["pxname"] + "/" + r["svname"]
		if rows[key] != nil {
			t.Errorf("two CSV lines for %s", key)
		}
		rows[key] = r
	}
	return rows
}

// metricLine reports whether the Prometheus text has the sample
// name{labels} with value.
func metricLine(body, series, value string) bool {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ` + regexp.QuoteMeta(value) + `$`).MatchString(body)
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
