//go:build linux

package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// deferAcceptOf reads TCP_DEFER_ACCEPT from the listening socket of addr.
func deferAcceptOf(t *testing.T, r *rig, addr string) int {
	t.Helper()
	l := r.e.listeners[addr]
	if l == nil {
		t.Fatalf("no listener on %s", addr)
	}
	var v int
	var err error
	if cerr := l.rc.Control(func(fd uintptr) { v, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT) }); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDeferAccept: http frontends defer accepts by default, tcp frontends
// do not (their server may speak first) unless told to, and a reload that
// moves a bind to a frontend of the other kind changes the socket.
func TestDeferAccept(t *testing.T) {
	banner := rawBackend(t, func(c net.Conn) { io.WriteString(c, "220 ready\r\n"); time.Sleep(100 * time.Millisecond) })
	web := backendServer(t, "s1", nil)
	fe := freePort(t)
	const src = `
defaults {
  mode = "{{mode}}"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "fe" {
  bind = ["{{fe}}"]
  default_backend = "be"
  {{extra}}
}
backend "be" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`
	vars := func(mode, extra, srv string) map[string]string {
		return map[string]string{"mode": mode, "extra": extra, "fe": fe, "s1": srv}
	}
	r := newRig(t, src, vars("http", "", hostport(web)))
	if v := deferAcceptOf(t, r, fe); v <= 0 {
		t.Fatalf("http frontend: TCP_DEFER_ACCEPT = %d, want on", v)
	}
	if resp, _ := httpGet(t, "http://"+fe+"/", nil); resp.StatusCode != 200 {
		t.Fatalf("http frontend: status %d", resp.StatusCode)
	}

	// tcp, the server speaking first: the client sends nothing and must
	// get the banner.
	if err := r.apply(src, vars("tcp", "", banner)); err != nil {
		t.Fatal(err)
	}
	if v := deferAcceptOf(t, r, fe); v != 0 {
		t.Fatalf("tcp frontend: TCP_DEFER_ACCEPT = %d, want off", v)
	}
	c, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "220 ready\r\n" {
		t.Fatalf("server-first protocol through a tcp frontend: %q, %v", line, err)
	}

	if err := r.apply(src, vars("tcp", "defer_accept = true", banner)); err != nil {
		t.Fatal(err)
	}
	if v := deferAcceptOf(t, r, fe); v <= 0 {
		t.Fatalf("tcp frontend with defer_accept = true: TCP_DEFER_ACCEPT = %d, want on", v)
	}
	if err := r.apply(src, vars("http", "defer_accept = false", hostport(web))); err != nil {
		t.Fatal(err)
	}
	if v := deferAcceptOf(t, r, fe); v != 0 {
		t.Fatalf("http frontend with defer_accept = false: TCP_DEFER_ACCEPT = %d, want off", v)
	}
}

// TestRefusedThenClosed: a refused request's response reaches the client
// whole, followed by a clean close (FIN, no reset), whether lbd closes at
// once (the client said it was its last request and sent nothing after
// it) or lingers first (a keep-alive client, a body lbd did not read,
// bytes after the request). The bytes after the request come in the same
// write and outgrow lbd's first read: closing with them unread would send
// a reset instead of a FIN (and lose a response still on its way).
func TestRefusedThenClosed(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	src := strings.Replace(basicHTTP, `default_backend = "app"`, `default_backend = "app"
  http_request "deny" {
    status = 429
  }`, 1)
	newRig(t, src, map[string]string{"fe": fe, "s1": hostport(b)})
	more := strings.Repeat("GET /next HTTP/1.1\r\nHost: a\r\n\r\n", 1000) // 33 kB
	for _, tc := range []struct{ name, req string }{
		{"close, no body", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\n\r\n"},
		{"keep-alive, pipelined", "GET / HTTP/1.1\r\nHost: a\r\n\r\n" + more},
		{"close, body unread", "POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 40000\r\n\r\n" + strings.Repeat("x", 40000)},
		{"close, then more", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + more},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialClient(t, fe)
			c.send(t, tc.req)
			time.Sleep(50 * time.Millisecond) // a reset, if any, has come
			if resp, _ := c.read(t, "GET"); resp.StatusCode != 429 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if _, err := c.br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Fatalf("after the response: %v, want a clean EOF", err)
			}
		})
	}
}
