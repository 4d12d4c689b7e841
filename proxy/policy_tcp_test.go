package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

const tcpPolicy = `
defaults {
  mode = "tcp"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "tls" {
  bind            = ["{{fe}}"]
  default_backend = "be"
  inspect_delay   = "2s"
  acl "loop"  { src = ["127.0.0.0/8"] }
  acl "known" { sni_end = [".example.com"] }
  acl "other" { src = ["192.0.2.0/24"] }
  tcp_request "connection" "reject" {
    if = "other"
  }
  tcp_request "content" "reject" {
    unless = "known loop"
  }
}
frontend "plain" {
  bind            = ["{{fe2}}"]
  default_backend = "be"
  acl "loop" { src = ["127.0.0.0/8"] }
  tcp_request "connection" "reject" {
    if = "loop"
  }
}
backend "be" {
  server "s1" {
    address = "{{s1}}"
    check   = false
  }
}
`

// TestTCPRules: tcp_request connection rules reject by source at once;
// content rules wait for the ClientHello (inspect_delay), read its server
// name without terminating, and pass the bytes on untouched or reject.
func TestTCPRules(t *testing.T) {
	got := make(chan string, 4)
	s1 := rawBackend(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 5)
		n, _ := io.ReadFull(c, b)
		got <- string(b[:n])
	})
	fe, fe2 := freePort(t), freePort(t)
	r := newRig(t, tcpPolicy, map[string]string{"fe": fe, "fe2": fe2, "s1": s1})
	hello := func(sni string) (string, error) {
		c, err := net.Dial("tcp", fe)
		if err != nil {
			return "", err
		}
		defer c.Close()
		tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		tc.SetDeadline(time.Now().Add(2 * time.Second))
		go tc.Handshake() // its ClientHello is all we need
		select {
		case b := <-got:
			return b, nil
		case <-time.After(3 * time.Second):
			return "", io.EOF
		}
	}
	if b, err := hello("www.example.com"); err != nil || b[0] != 22 {
		t.Fatalf("a known server name: the server got %q %v, want the ClientHello", b, err)
	}
	if b, err := hello("evil.test"); err == nil {
		t.Fatalf("an unknown server name reached the server: %q", b)
	}
	r.logs.waitFor(t, `"frontend":"tls"`, `"termination_state":"PR"`)
	// Not TLS at all: no server name, rejected after what was sent.
	c, _ := net.Dial("tcp", fe)
	c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("plain text got %q", b)
	}
	c.Close()
	// Connection rules: loopback rejected at once, before any byte.
	c, err := net.Dial("tcp", fe2)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a rejected connection stayed open")
	}
	c.Close()
	fs, _ := r.e.Stats()
	for _, f := range fs {
		if f.Name == "plain" && f.DeniedConn != 1 || f.Name == "tls" && f.DeniedConn < 2 {
			t.Errorf("%s: denied connections %d", f.Name, f.DeniedConn)
		}
	}
	if strings.Contains(r.logs.find(`"frontend":"plain"`), "termination_state") {
		t.Error("a connection rule reject was logged (HAProxy logs none)")
	}
}
