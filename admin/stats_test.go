package admin

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/bgp"
	"lbd/config"
	"lbd/stats"
	"lbd/vrrp"
)

type fakeStats struct{ snap Snapshot }

func (f *fakeStats) Stats() Snapshot { return f.snap }

func testSnapshot() Snapshot {
	now := time.Now()
	return Snapshot{
		PID: 42, Version: "test", StartedAt: now.Add(-time.Hour),
		Frontends: []stats.Frontend{{Name: "web", Mode: "http", Status: "OPEN", CurConns: 3, MaxConns: 9, Limit: 100, TotalConns: 1000,
			BytesIn: 5000, BytesOut: 90000, Requests: 1200, Responses: stats.Responses{C2xx: 1100, C5xx: 100}}},
		Backends: []stats.Backend{{Name: "app", Mode: "http", Algo: "roundrobin", TotalConns: 1200, Servers: []stats.Server{
			{Name: "a", Address: "192.0.2.21:80", Status: "UP", Weight: 1, Checked: true, TotalConns: 700, CheckStatus: "L7OK", CheckCode: 200,
				CheckDuration: 2 * time.Millisecond, CheckRise: 2, CheckFall: 3, CheckHealth: 4, LastChange: now.Add(-time.Minute), Throttle: 100},
			{Name: "b", Address: "192.0.2.22:80", Status: "DOWN", Weight: 1, Checked: true, TotalConns: 500, CheckStatus: "L4CON",
				CheckDesc: "Layer4 connection problem: Connection refused", CheckFailed: 7, CheckDowns: 1, DownTime: 30 * time.Second, Throttle: 100},
			{Name: "c", Address: "192.0.2.23:80", Status: "MAINT", Weight: 1, Backup: true, Throttle: 100},
		}}},
		VRRP: []vrrp.InstanceStatus{{Name: "VI_1", Interface: "eth0", State: "MASTER", VRID: 51, Priority: 150, EffectivePriority: 150,
			VIPs: []string{"192.0.2.100/24"}, Counters: vrrp.Counters{Invalid: map[string]uint64{"auth": 2}}}},
		BGP: bgp.Status{Configured: true, ASN: 64512, RoutesAnnounced: 1,
			Neighbors: []bgp.NeighborStatus{{Address: "192.0.2.1", State: "ESTABLISHED", RoutesAnnounced: 1, Transitions: 5},
				{Address: "192.0.2.2", State: "ACTIVE", Transitions: 2}},
			Announces: []bgp.AnnounceStatus{{Name: "web", Announced: true, Transitions: 1, Since: now},
				{Name: "api", Announced: false, Transitions: 2}}},
		Logs: []stats.Log{{Target: "/dev/log", Sent: 90, Dropped: 10}},
	}
}

func startStats(t *testing.T, cfg *config.Stats) (*StatsServer, string) {
	t.Helper()
	s := NewStatsServer(zerolog.Nop(), &fakeStats{snap: testSnapshot()})
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(t.Context()) })
	return s, "http://" + s.Addr()
}

func get(t *testing.T, url, user, pass string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestStatsPage(t *testing.T) {
	cfg := &config.Stats{Bind: "127.0.0.1:0", URI: "/stats", Refresh: 5 * time.Second,
		Auth: &config.StatsAuth{User: "admin", Password: "pw"}}
	_, base := startStats(t, cfg)

	cases := []struct {
		name, path, user, pass string
		code                   int
		contains               []string
	}{
		{"no auth", "/stats", "", "", 401, nil},
		{"wrong password", "/stats", "admin", "nope", 401, nil},
		{"html", "/stats", "admin", "pw", 200, []string{"backend app", `<tr class="down"><td class="name">b</td>`, `<tr class="maint"><td class="name">c</td>`,
			"Layer4 connection problem", `content="5"`, "VI_1", "MASTER", "auth: 2",
			"BGP: AS 64512", `<td class="name">192.0.2.2</td><td>0</td><td>ACTIVE</td>`, "WITHDRAWN"}},
		{"csv", "/stats;csv", "admin", "pw", 200, []string{"# pxname,svname,qcur,qmax,scur,smax,slim,stot,", "web,FRONTEND,", "app,a,", "app,BACKEND,"}},
		{"metrics", "/metrics", "admin", "pw", 200, []string{`lbd_server_up{backend="app",server="a"} 1`, `lbd_server_up{backend="app",server="b"} 0`,
			`lbd_frontend_http_responses_total{code="5xx",frontend="web"} 100`, `lbd_vrrp_state{instance="VI_1",state="MASTER"} 1`,
			`lbd_vrrp_invalid_packets_total{instance="VI_1",reason="auth"} 2`, `lbd_server_status{backend="app",server="c",state="MAINT"} 1`,
			`lbd_bgp_neighbor_state{neighbor="192.0.2.1",state="ESTABLISHED"} 1`, `lbd_bgp_neighbor_state{neighbor="192.0.2.2",state="ESTABLISHED"} 0`,
			`lbd_bgp_neighbor_up{neighbor="192.0.2.2"} 0`, `lbd_bgp_neighbor_routes_announced{neighbor="192.0.2.1"} 1`,
			`lbd_bgp_neighbor_transitions_total{neighbor="192.0.2.1"} 5`, "lbd_bgp_routes_announced 1", "lbd_bgp_drained 0",
			`lbd_bgp_announce_up{announce="api"} 0`, `lbd_bgp_announce_transitions_total{announce="api"} 2`,
			`lbd_log_lines_total{target="/dev/log"} 90`, `lbd_log_dropped_total{target="/dev/log"} 10`}},
		{"elsewhere", "/other", "admin", "pw", 404, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, hdr := get(t, base+tc.path, tc.user, tc.pass)
			if code != tc.code {
				t.Fatalf("status %d, want %d", code, tc.code)
			}
			if code == 401 && !strings.Contains(hdr.Get("WWW-Authenticate"), "Basic") {
				t.Error("401 without a Basic challenge")
			}
			for _, c := range tc.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body lacks %q", c)
				}
			}
		})
	}
}

// TestCSVMatchesHAProxy compares our header with the one Debian's HAProxy
// 2.6 printed (testdata), and checks that every line has as many fields.
func TestCSVMatchesHAProxy(t *testing.T) {
	f, err := os.Open("testdata/haproxy-2.6.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	theirs, _ := bufio.NewReader(f).ReadString('\n')
	var b strings.Builder
	if err := writeCSV(&b, testSnapshot(), newRateTracker(), time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	ours := lines[0]
	if !strings.HasPrefix(theirs, strings.TrimSuffix(ours, ",")) {
		t.Fatalf("header differs from HAProxy 2.6:\n ours   %s\n theirs %s", ours, theirs)
	}
	want := strings.Count(ours, ",")
	for _, l := range lines[1:] {
		if n := strings.Count(l, ","); n != want {
			t.Errorf("%d fields, want %d: %s", n, want, l)
		}
	}
	// Frontend, 3 servers, backend.
	if len(lines) != 1+1+3+1 {
		t.Errorf("%d lines:\n%s", len(lines), b.String())
	}
	srv := strings.Split(lines[3], ",") // server b
	if srv[csvIndex["status"]] != "DOWN" || srv[csvIndex["check_status"]] != "L4CON" || srv[csvIndex["chkfail"]] != "7" || srv[csvIndex["type"]] != "2" {
		t.Errorf("server b row: %s", lines[3])
	}
	be := strings.Split(lines[5], ",")
	if be[csvIndex["status"]] != "UP" || be[csvIndex["act"]] != "1" || be[csvIndex["bck"]] != "0" || be[csvIndex["algo"]] != "roundrobin" {
		t.Errorf("backend row: %s", lines[5])
	}
}

func TestStatsApplyKeepsSocket(t *testing.T) {
	cfg := &config.Stats{Bind: "127.0.0.1:0", URI: "/stats", Refresh: time.Second}
	s, base := startStats(t, cfg)
	cfg2 := *cfg
	cfg2.URI = "/haproxy"
	if err := s.Apply(&cfg2); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(t, base+"/haproxy", "", ""); code != 200 {
		t.Fatalf("new uri on the kept socket: %d", code)
	}
	if err := s.Apply(nil); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "" {
		t.Fatal("listener kept after the stats block was removed")
	}
}

// TestStatsRemovedWithStalledClient: a client that announced a body and
// never sends it cannot hold up the reload that removes the listener.
func TestStatsRemovedWithStalledClient(t *testing.T) {
	s, base := startStats(t, &config.Stats{Bind: "127.0.0.1:0", URI: "/stats", Refresh: time.Second})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("POST /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"))
	time.Sleep(100 * time.Millisecond) // the request is being read
	done := make(chan error, 1)
	go func() { done <- s.Apply(nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(statsMoveGrace + 10*time.Second):
		t.Fatal("removing the stats listener waited on a stalled client")
	}
}

func TestRateTracker(t *testing.T) {
	r := newRateTracker()
	snap := Snapshot{Frontends: []stats.Frontend{{Name: "f", TotalConns: 10}}}
	r.observe(snap)
	snap.Frontends[0].TotalConns = 25
	r.observe(snap)
	snap.Frontends[0].TotalConns = 30
	r.observe(snap)
	if cur, max := r.get("fe/f"); cur != 5 || max != 15 {
		t.Fatalf("cur %d max %d", cur, max)
	}
	r.observe(Snapshot{})
	if cur, max := r.get("fe/f"); cur != 0 || max != 0 {
		t.Fatal("removed frontend kept its rates")
	}
}
