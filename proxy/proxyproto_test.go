package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"lbd/proxyproto"
)

const proxyHTTP = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  default_backend = "app"
  forward_for = true
  accept_proxy {
    from    = [{{from}}]
    timeout = "300ms"
  }
}
backend "app" {
  balance = "source"
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`

// TestAcceptProxy: a frontend with accept_proxy takes the client address
// from the header (v1 and v2) for X-Forwarded-For and the access log;
// sources not listed, malformed headers and late headers are closed with
// a log line.
func TestAcceptProxy(t *testing.T) {
	var mu sync.Mutex
	var xff []string
	be := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		xff = append(xff, r.Header.Get("X-Forwarded-For"))
		mu.Unlock()
		fmt.Fprint(w, "ok")
	})
	fe := freePort(t)
	r := newRig(t, proxyHTTP, map[string]string{"fe": fe, "s1": hostport(be), "from": `"127.0.0.0/8"`})
	get := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	v1 := string(proxyproto.AppendV1(nil, netip.MustParseAddrPort("192.0.2.7:4711"), netip.MustParseAddrPort("198.51.100.1:80")))
	v2 := string(proxyproto.AppendV2(nil, netip.MustParseAddrPort("[2001:db8::9]:4712"), netip.MustParseAddrPort("[2001:db8::1]:80")))
	for _, tc := range []struct{ hdr, client, logged string }{
		{v1, "192.0.2.7", "192.0.2.7:4711"},
		{v2, "2001:db8::9", "[2001:db8::9]:4712"},
		{"PROXY UNKNOWN\r\n", "127.0.0.1", "127.0.0.1:"},
		{string(proxyproto.AppendV2Local(nil)), "127.0.0.1", "127.0.0.1:"},
	} {
		out := rawRequest(t, fe, tc.hdr+get, 5*time.Second)
		if statusOf(out) != "200" {
			t.Fatalf("%q: %q", tc.hdr, out)
		}
		mu.Lock()
		got := xff[len(xff)-1]
		mu.Unlock()
		if got != tc.client {
			t.Errorf("%q: X-Forwarded-For %q, want %q", tc.hdr, got, tc.client)
		}
		r.logs.waitFor(t, `"client":"`+tc.logged, `"status":200`)
	}
	// A header split over several writes is waited for.
	c, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{v1[:3], v1[3:20], v1[20:], get} {
		c.Write([]byte(part))
		time.Sleep(20 * time.Millisecond)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	c.Close()
	if statusOf(string(b)) != "200" {
		t.Errorf("split header: %q", b)
	}

	for _, tc := range []struct{ name, send, reason string }{
		{"no header", get, "not a PROXY protocol header"},
		{"malformed", "PROXY TCP4 192.0.2.01 1.2.3.4 1 2\r\n" + get, "invalid address"},
		{"late", "PROXY TCP4 192.0.2.1", "timeout"},
	} {
		out := rawRequest(t, fe, tc.send, 5*time.Second)
		if out != "" {
			t.Errorf("%s: got an answer %q, want the connection closed", tc.name, out)
		}
		r.logs.waitFor(t, `"termination_state":"PR"`, tc.reason)
	}

	// Only the listed networks may send the header.
	r.apply(proxyHTTP, map[string]string{"fe": fe, "s1": hostport(be), "from": `"192.0.2.0/24"`})
	if out := rawRequest(t, fe, v1+get, 5*time.Second); out != "" {
		t.Errorf("from an unlisted network: %q, want closed", out)
	}
	r.logs.waitFor(t, "source not allowed", `"client":"127.0.0.1:`)
	if n := r.e.ProxyRefused(); n < 4 {
		t.Errorf("ProxyRefused = %d, want >= 4", n)
	}
}

const sendProxyHTTP = `
defaults {
  mode = "{{mode}}"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  default_backend = "app"
  accept_proxy {
    from = ["127.0.0.0/8"]
  }
}
backend "app" {
  server "s1" {
    address    = "{{s1}}"
    check      = false
    send_proxy = "{{v}}"
  }
}
`

// proxyBackend accepts connections that start with a PROXY header and
// reports each header's source, then serves HTTP (or echoes lines in tcp
// mode).
func proxyBackend(t *testing.T, httpMode bool) (addr string, hdrs chan string) {
	hdrs = make(chan string, 16)
	addr = rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		b, _ := br.Peek(16)
		if len(b) < 16 {
			hdrs <- "short"
			return
		}
		n := 16
		if b[0] == 'P' {
			line, _ := br.ReadString('\n')
			b, n = []byte(line), len(line)
		} else {
			n = 16 + int(b[14])<<8 + int(b[15])
			b = make([]byte, n)
			io.ReadFull(br, b)
		}
		h, m, err := proxyproto.Parse(b)
		if err != nil || m != n {
			hdrs <- fmt.Sprintf("bad %q %v", b, err)
			return
		}
		if b[0] == 'P' {
			hdrs <- fmt.Sprintf("v%d %s", h.Version, h.Src)
		} else {
			hdrs <- fmt.Sprintf("v%d %s", h.Version, h.Src)
		}
		for {
			if httpMode {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				for {
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				_ = line
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			} else {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				io.WriteString(c, "echo "+line)
			}
		}
	})
	return addr, hdrs
}

// TestSendProxy: servers with send_proxy get the client's address (the
// one a PROXY header gave lbd) in v1 or v2 on each new connection, in
// http and tcp mode; a connection that carried one client's header is
// never reused for another client.
func TestSendProxy(t *testing.T) {
	for _, v := range []string{"v1", "v2"} {
		t.Run("http "+v, func(t *testing.T) {
			s1, hdrs := proxyBackend(t, true)
			fe := freePort(t)
			newRig(t, sendProxyHTTP, map[string]string{"fe": fe, "s1": s1, "v": v, "mode": "http"})
			send := func(c *client, src string) {
				c.send(t, string(proxyproto.AppendV1(nil, netip.MustParseAddrPort(src), netip.MustParseAddrPort("198.51.100.1:80"))))
			}
			a := dialClient(t, fe)
			send(a, "192.0.2.1:1000")
			for range 3 {
				a.send(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp, _ := a.read(t, "GET"); resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			if got := <-hdrs; got != v+" 192.0.2.1:1000" {
				t.Fatalf("first client: server got %q", got)
			}
			a.c.Close()
			time.Sleep(50 * time.Millisecond)
			b := dialClient(t, fe)
			send(b, "192.0.2.2:2000")
			b.send(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, _ := b.read(t, "GET"); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			select {
			case got := <-hdrs:
				if got != v+" 192.0.2.2:2000" {
					t.Fatalf("second client: server got %q", got)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the second client reused the first client's server connection")
			}
		})
	}
	t.Run("tcp v2", func(t *testing.T) {
		s1, hdrs := proxyBackend(t, false)
		fe := freePort(t)
		newRig(t, sendProxyHTTP, map[string]string{"fe": fe, "s1": s1, "v": "v2", "mode": "tcp"})
		c := dialClient(t, fe)
		// The header and the first line in one write: the line after the
		// header reaches the server.
		c.send(t, string(proxyproto.AppendV2(nil, netip.MustParseAddrPort("[2001:db8::5]:5"), netip.MustParseAddrPort("[2001:db8::1]:80")))+"hello\n")
		line, err := c.br.ReadString('\n')
		if err != nil || line != "echo hello\n" {
			t.Fatalf("%q %v", line, err)
		}
		if got := <-hdrs; got != "v2 [2001:db8::5]:5" {
			t.Fatalf("server got %q", got)
		}
	})
}
