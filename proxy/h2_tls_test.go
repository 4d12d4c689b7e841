package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

const h2TLSConfig = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "web" {
  bind = ["{{plain}}"]
  default_backend = "app"
  route "grpc" {
    path_prefix = ["/pkg."]
    backend = "grpc"
  }
  tls {
    bind = ["{{fe}}"]
    crt  = ["{{dir}}/site.pem"]
  }
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
backend "grpc" {
  proto = "h2"
  tls {
    ca_file = "{{dir}}/ca.pem"
    sni = "www.example.com"
  }
  server "g1" {
    address = "{{g1}}"
    check = false
  }
}
`

// TestH2OverTLS: the browsers' path (TLS, ALPN h2, to an HTTP/1.1 server)
// and gRPC's (h2 to an HTTP/2 server over TLS with ALPN h2), from one
// frontend; an HTTP/1.1-only client still gets HTTP/1.1 on the same bind.
func TestH2OverTLS(t *testing.T) {
	f := newTLSFiles(t)
	f.ca.WriteCA(f.path("ca.pem"))
	s1 := backendServer(t, "s1", h2Echo("s1"))
	// An HTTP/2 server over TLS (ALPN h2).
	cert, _ := tls.LoadX509KeyPair(f.path("site.pem"), f.path("site.pem"))
	ln, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h2srv := &http2.Server{}
	grpcLike := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "Grpc-Status")
		w.Header().Set("X-Proto", r.Proto+" "+r.TLS.NegotiatedProtocol)
		w.Write(body)
		w.Header().Set("Grpc-Status", "0")
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := c.(*tls.Conn)
				if tc.Handshake() != nil {
					c.Close()
					return
				}
				h2srv.ServeConn(c, &http2.ServeConnOpts{Handler: grpcLike})
			}()
		}
	}()
	fe, plain := freePort(t), freePort(t)
	newRig(t, h2TLSConfig, map[string]string{"fe": fe, "plain": plain, "dir": f.dir, "s1": hostport(s1), "g1": ln.Addr().String()})

	// A browser: TLS, offers h2 and http/1.1.
	tr := &http.Transport{TLSClientConfig: f.client("www.example.com"), ForceAttemptHTTP2: true}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	resp, err := cl.Get("https://" + fe + "/page")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.TLS.NegotiatedProtocol != "h2" || !strings.HasPrefix(resp.Header.Get("X-Got"), "HTTP/1.1 GET /page") {
		t.Fatalf("browser: %s %q %q", resp.Proto, resp.TLS.NegotiatedProtocol, resp.Header.Get("X-Got"))
	}

	// gRPC's path: h2 in, h2 over TLS out, trailers through.
	resp, err = cl.Post("https://"+fe+"/pkg.Svc/Call", "application/grpc", strings.NewReader("msg"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "msg" || resp.Header.Get("X-Proto") != "HTTP/2.0 h2" || resp.Trailer.Get("Grpc-Status") != "0" {
		t.Fatalf("grpc path: %q %q %v", b, resp.Header.Get("X-Proto"), resp.Trailer)
	}

	// An HTTP/1.1-only client on the same bind.
	c, err := tls.Dial("tcp4", fe, &tls.Config{ServerName: "www.example.com", RootCAs: f.roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /h1 HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n")
	out, _ := io.ReadAll(c)
	if c.ConnectionState().NegotiatedProtocol != "http/1.1" || !strings.HasPrefix(string(out), "HTTP/1.1 200") {
		t.Fatalf("HTTP/1.1 client: %q %q", c.ConnectionState().NegotiatedProtocol, out)
	}
	var _ net.Conn = c
}
