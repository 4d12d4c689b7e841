package health

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"lbd/config"
)

// h2cServer serves h with Go's HTTP/2 server, prior knowledge.
func h2cServer(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv := &http2.Server{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
		}
	}()
	return ln.Addr().String()
}

// TestH2Checks: http checks of an HTTP/2 server speak HTTP/2 and are
// judged as any http check; grpc checks ask a real gRPC server's health
// service.
func TestH2Checks(t *testing.T) {
	web := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			w.WriteHeader(505)
			return
		}
		if r.URL.Path == "/down" {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, "all good here")
	}))
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	hs.SetServingStatus("pkg.Up", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("pkg.Down", healthpb.HealthCheckResponse_NOT_SERVING)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	grpcAddr := ln.Addr().String()

	cases := []struct {
		name, typ, addr, path, service, body string
		code                                 string
	}{
		{"http over h2", "http", web, "/", "", "", codeL7OK},
		{"http over h2, body", "http", web, "/", "", "good", codeL7OK},
		{"http over h2, body missing", "http", web, "/", "", "bad", codeL7RSP},
		{"http over h2, bad status", "http", web, "/down", "", "", codeL7STS},
		{"grpc: the server", "grpc", grpcAddr, "", "", "", codeL7OK},
		{"grpc: a serving service", "grpc", grpcAddr, "", "pkg.Up", "", codeL7OK},
		{"grpc: a service not serving", "grpc", grpcAddr, "", "pkg.Down", "", codeL7STS},
		{"grpc: an unknown service", "grpc", grpcAddr, "", "pkg.Nope", "", codeL7STS},
		{"grpc to a plain HTTP/2 server", "grpc", web, "", "", "", codeL7STS},
		{"nobody listening", "grpc", "127.0.0.1:1", "", "", "", codeL4CON},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hc := &config.HealthCheck{Type: c.typ, Method: "GET", Path: c.path, ExpectStatus: []int{200}, ExpectBody: c.body,
				Timeout: 2 * time.Second, GRPCService: c.service}
			if hc.Path == "" {
				hc.Path = "/"
			}
			sc := &config.Server{Name: "s", Address: c.addr, Proto: "h2"}
			pr := newProber(hc, sc)
			if _, ok := pr.(*h2Prober); !ok {
				t.Fatalf("prober %T", pr)
			}
			var conn io.Closer
			r := probe(pr, context.Background(), func(cl io.Closer) bool { conn = cl; return true })
			if conn != nil {
				conn.Close()
			}
			if r.code != c.code {
				t.Fatalf("result %s %q, want %s", r.code, r.info, c.code)
			}
			if c.service == "pkg.Down" && !strings.Contains(r.info, "NOT_SERVING") {
				t.Errorf("info %q", r.info)
			}
		})
	}
}
