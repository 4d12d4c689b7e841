//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startHAProxy runs HAProxy (Debian's 2.6) in host's namespace with cfg
// and waits until addr accepts connections from the client. It is skipped
// when haproxy is not installed, except under CI=true.
func (l *Lab) startHAProxy(t *testing.T, host, cfg string, addrs ...string) *Proc {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("haproxy is not installed (apt-get install -y haproxy)")
		}
		t.Skip("haproxy is not installed")
	}
	path := filepath.Join(l.Dir(), host+"-haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := l.Start(host, bin, "-db", "-f", path)
	for _, a := range addrs {
		Eventually(t, 10*time.Second, func() bool {
			if p.Exited() {
				t.Fatalf("haproxy in %s exited: %s", host, p.Output())
			}
			c, err := l.Dial("client", "tcp", a)
			if err == nil {
				c.Close()
			}
			return err == nil
		}, "haproxy in %s to listen on %s", host, a)
	}
	return p
}

// TestProxyProtocolWithHAProxy: HAProxy 2.6 as the PROXY protocol sender
// in front of lbd (v1 and v2: lbd's access log, X-Forwarded-For and the
// servers see the real client, 192.0.2.50, not HAProxy's address) and as
// the receiver behind it (lbd's send_proxy v1 and v2 in http and tcp
// mode: HAProxy logs the real client; lbd's health checks carry the
// header, or HAProxy would refuse them and the servers would be DOWN).
// A client that is not a listed proxy is closed with a log line.
func TestProxyProtocolWithHAProxy(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	l.StartWeb("web1")
	lb1, lb2, web2, client := l.Addr("lb1"), l.Addr("lb2"), l.Addr("web2"), l.Addr("client")
	web1 := l.Addr("web1")

	// HAProxy in lb2, in front of lbd: v2 on :80, v1 on :81.
	l.startHAProxy(t, "lb2", fmt.Sprintf(`global
  log stdout format raw local0
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend v2
  bind %[1]s:80
  default_backend lbd_v2
frontend v1
  bind %[1]s:81
  default_backend lbd_v1
backend lbd_v2
  server lbd %[2]s:80 send-proxy-v2
backend lbd_v1
  server lbd %[2]s:80 send-proxy
`, lb2, lb1), lb2+":80", lb2+":81")

	// HAProxy in web2, behind lbd: accept-proxy on every bind, logs the
	// client it was told about.
	hap := l.startHAProxy(t, "web2", fmt.Sprintf(`global
  log stdout format raw local0
defaults
  log global
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend recv_http
  mode http
  option httplog
  bind %[1]s:8801 accept-proxy
  bind %[1]s:8802 accept-proxy
  option forwardfor
  default_backend web1_http
frontend recv_tcp
  mode tcp
  option tcplog
  bind %[1]s:8803 accept-proxy
  default_backend web1_tcp
backend web1_http
  mode http
  server w %[2]s:80
backend web1_tcp
  mode tcp
  server w %[2]s:9000
`, web2, web1), web2+":8801", web2+":8802", web2+":8803")

	lb := l.StartLBD("lb1", fmt.Sprintf(`
frontend "in" {
  bind        = ["%[1]s:80"]
  forward_for = true
  default_backend = "web"
  accept_proxy {
    from = ["%[2]s/32"]
  }
}
backend "web" {
  server "web1" {
    address = "%[3]s:80"
    check   = false
  }
}
frontend "out_v1" {
  bind            = ["%[1]s:8081"]
  default_backend = "hap_v1"
}
frontend "out_v2" {
  bind            = ["%[1]s:8082"]
  default_backend = "hap_v2"
}
frontend "out_tcp" {
  bind            = ["%[1]s:8083"]
  mode            = "tcp"
  default_backend = "hap_tcp"
}
backend "hap_v1" {
  health_check {
    type     = "http"
    path     = "/health"
    interval = "500ms"
  }
  server "hap" {
    address    = "%[4]s:8801"
    send_proxy = "v1"
  }
}
backend "hap_v2" {
  health_check {
    type     = "http"
    path     = "/health"
    interval = "500ms"
  }
  server "hap" {
    address    = "%[4]s:8802"
    send_proxy = "v2"
  }
}
backend "hap_tcp" {
  mode = "tcp"
  server "hap" {
    address    = "%[4]s:8803"
    send_proxy = "v2"
  }
}
`, lb1, lb2, web1, web2))

	t.Run("HAProxy sends", func(t *testing.T) {
		for _, port := range []string{"80", "81"} {
			code, body, err := l.HTTPGet("client", "http://"+lb2+":"+port+"/headers")
			if err != nil || code != 200 {
				t.Fatalf("through HAProxy :%s and lbd: %d %v %q", port, code, err, body)
			}
			if !strings.Contains(body, "X-Forwarded-For: "+client+"\n") {
				t.Errorf("through HAProxy :%s: the server did not see the client %s in X-Forwarded-For:\n%s", port, client, body)
			}
		}
		Eventually(t, 5*time.Second, func() bool {
			return strings.Contains(lb.Output(), `"client":"`+client+`:`) && strings.Contains(lb.Output(), `"request":"GET /headers HTTP/1.1"`)
		}, "lbd to log the real client %s", client)
		// The client itself is not a listed proxy: closed, and logged.
		c, err := l.Dial("client", "tcp", lb1+":80")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			t.Errorf("a direct client got an answer %q, want the connection closed", line)
		}
		c.Close()
		Eventually(t, 5*time.Second, func() bool { return strings.Contains(lb.Output(), "source not allowed") },
			"lbd to log the refused direct client")
	})

	t.Run("HAProxy receives", func(t *testing.T) {
		// The checks carry the header: HAProxy answers them (through web1).
		lb.WaitServerState(t, "hap_v1", "hap", "UP", 20*time.Second)
		lb.WaitServerState(t, "hap_v2", "hap", "UP", 20*time.Second)
		for _, port := range []string{"8081", "8082"} {
			code, body, err := l.HTTPGet("client", "http://"+lb1+":"+port+"/headers")
			if err != nil || code != 200 {
				t.Fatalf("through lbd :%s and HAProxy: %d %v %q", port, code, err, body)
			}
			if !strings.Contains(body, "X-Forwarded-For: "+client+"\n") {
				t.Errorf("through lbd :%s: HAProxy did not forward for the client %s:\n%s", port, client, body)
			}
		}
		tc := dialLines(t, l, lb1+":8083")
		if got, err := tc.ask("PING"); err != nil || got != "PONG" {
			t.Fatalf("tcp through lbd and HAProxy: %q %v", got, err)
		}
		tc.Close()
		// HAProxy's tcplog line names the client lbd told it about.
		Eventually(t, 5*time.Second, func() bool {
			for _, line := range strings.Split(hap.Output(), "\n") {
				if strings.Contains(line, "recv_tcp") && strings.Contains(line, client+":") {
					return true
				}
			}
			return false
		}, "HAProxy's tcp log to name the client %s:\n%s", client, Lazy(hap.Output))
	})
}
