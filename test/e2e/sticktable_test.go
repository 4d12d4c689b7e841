//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stickLabConfig is the lab configuration with a rate limit on the web
// frontend, its table shared by the pair (peers).
func stickLabConfig(t *testing.T, l *Lab, node string) string {
	t.Helper()
	key := filepath.Join(l.Dir(), "peers.key")
	if err := os.WriteFile(key, []byte("e2e-peers-secret-0123456789abcdef0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	self, other := "192.0.2.11", "192.0.2.12"
	if node == "lb2" {
		self, other = other, self
	}
	limit := `  forward_for     = true

  stick_table {
    type   = "ip"
    size   = "100k"
    expire = "10m"
    store  = ["http_req_rate(1m)", "http_req_cnt"]
    peers  = "pair"
  }
  http_request "track_sc0" {}
  acl "abuser" {
    sc0_http_req_rate = ["gt 20"]
  }
  http_request "deny" {
    if     = "abuser"
    status = 429
  }
`
	cfg := strings.Replace(LabConfig(node), "  forward_for     = true\n", limit, 1)
	if cfg == LabConfig(node) {
		t.Fatal("lab config: the web frontend's forward_for line moved; update stickLabConfig")
	}
	return cfg + fmt.Sprintf(`
peers "pair" {
  bind        = "%s:10000"
  peer        = "%s:10000"
  secret_file = %q
}
`, self, other, key)
}

// getFrom sends GET url from host's namespace with the source address
// local, on a new connection.
func getFrom(l *Lab, host, local, url string) (int, http.Header, error) {
	c := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := l.InNetns(host, func() error {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
				var err error
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		}},
	}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// tableCount is http_req_cnt of key in table web on d (-1: no entry).
func tableCount(d *LBD, key string) int64 {
	var te struct {
		Entries []struct {
			Values []struct {
				Name  string `json:"name"`
				Value int64  `json:"value"`
			} `json:"values"`
		} `json:"entries"`
	}
	if err := d.CtlJSON(&te, "table", "show", "web", "--key", key); err != nil || len(te.Entries) != 1 {
		return -1
	}
	for _, v := range te.Entries[0].Values {
		if v.Name == "http_req_cnt" {
			return v.Value
		}
	}
	return -1
}

// TestStickTablePair: a client flooding the VIP gets 429 while another
// client is served; the pair shares the table (peers), so after the
// master crashes the new master still refuses the flooder; the crashed
// node, restarted, gets the whole table back from its peer within
// seconds.
func TestStickTablePair(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")
	if out, err := l.Exec("client", "ip", "addr", "add", "192.0.2.51/24", "dev", "eth0"); err != nil {
		t.Fatalf("second client address: %v %s", err, out)
	}
	lb1 := l.StartLBD("lb1", stickLabConfig(t, l, "lb1"))
	lb2 := l.StartLBD("lb2", stickLabConfig(t, l, "lb2"))
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 20*time.Second)
	lb2.WaitInstanceState(t, "VI_1", "BACKUP", 10*time.Second)
	const vip = "http://192.0.2.100/"
	Eventually(t, 20*time.Second, func() bool {
		code, _, err := getFrom(l, "client", "192.0.2.51", vip)
		return err == nil && code == 200
	}, "the VIP to answer")

	// The flood: 60 requests from 192.0.2.50.
	codes := map[int]int{}
	var retryAfter string
	for i := 0; i < 60; i++ {
		code, h, err := getFrom(l, "client", "192.0.2.50", vip)
		if err != nil {
			t.Fatalf("flood request %d: %v", i, err)
		}
		codes[code]++
		if code == 429 {
			retryAfter = h.Get("Retry-After")
		}
	}
	if codes[200] != 20 || codes[429] != 40 {
		t.Fatalf("flooding client: %v, want 20 × 200 then 40 × 429", codes)
	}
	if retryAfter != "60" {
		t.Errorf("Retry-After %q, want 60 (the rate's period)", retryAfter)
	}
	for i := 0; i < 5; i++ {
		if code, _, err := getFrom(l, "client", "192.0.2.51", vip); err != nil || code != 200 {
			t.Fatalf("the other client: %d %v", code, err)
		}
	}
	// The backup knows the flooder.
	Eventually(t, 10*time.Second, func() bool { return tableCount(lb2, "192.0.2.50") == 60 },
		"lb2's entry for 192.0.2.50 to count 60 requests (has %s)", Lazy(func() string { return fmt.Sprint(tableCount(lb2, "192.0.2.50")) }))

	// Failover: the master crashes, lb2 takes the VIP and still refuses
	// the flooder.
	lb1.Kill()
	lb2.WaitInstanceState(t, "VI_1", "MASTER", 10*time.Second)
	var last string
	Eventually(t, 10*time.Second, func() bool {
		code, _, err := getFrom(l, "client", "192.0.2.50", vip)
		last = fmt.Sprint(code, err)
		return err == nil && code == 429
	}, "the flooder to get 429 from lb2 after the failover (last %s)", Lazy(func() string { return last }))
	if code, _, err := getFrom(l, "client", "192.0.2.51", vip); err != nil || code != 200 {
		t.Fatalf("the other client after the failover: %d %v", code, err)
	}

	// lb1 restarts empty: lb2 pushes it the whole table.
	t0 := time.Now()
	lb1.Restart()
	Eventually(t, 10*time.Second, func() bool { return tableCount(lb1, "192.0.2.50") >= 61 },
		"the restarted lb1 to get 192.0.2.50's entry from lb2 (has %s)", Lazy(func() string { return fmt.Sprint(tableCount(lb1, "192.0.2.50")) }))
	t.Logf("FIGURE peers: restarted node resynchronised within %s of its start", time.Since(t0).Round(time.Millisecond))
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 15*time.Second)
	Eventually(t, 10*time.Second, func() bool {
		code, _, err := getFrom(l, "client", "192.0.2.50", vip)
		last = fmt.Sprint(code, err)
		return err == nil && code == 429
	}, "the flooder to get 429 from lb1 once it is master again (last %s)", Lazy(func() string { return last }))
	out, _ := lb1.Ctl("table", "show", "web")
	t.Logf("lbctl table show web on lb1:\n%s", out)
}
