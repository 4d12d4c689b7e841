//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// gRPC end to end (issue 15): grpc-go clients through lbd to grpc-go
// servers, HTTP/2 all the way (prior knowledge and TLS with ALPN h2 in
// front, h2c behind), the servers checked with gRPC's health protocol.
// The client runs grpc-go's interop cases: unary (large messages, past
// every flow-control window), client, server and bidirectional
// streaming, deadlines, cancellation, status codes, metadata and
// trailers.

func grpcConfig(tl *tlsLab, l *Lab) string {
	return fmt.Sprintf(`
global {
  grace = "2s"
}
defaults {
  mode = "http"
  timeouts {
    connect = "2s"
    client  = "30s"
    server  = "30s"
  }
}
frontend "grpc" {
  bind            = ["0.0.0.0:50051"]
  proto           = "h2"
  default_backend = "grpc"
  tls {
    bind = ["0.0.0.0:8443"]
    crt  = [%q]
  }
}
backend "grpc" {
  proto = "h2"
  health_check {
    type          = "grpc"
    interval      = "500ms"
    fast_interval = "200ms"
  }
  server "web1" {
    address = "%s:50051"
  }
  server "web2" {
    address = "%s:50051"
  }
}
`, tl.path("site.pem"), l.Addr("web1"), l.Addr("web2"))
}

func TestGRPCThroughLBD(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := NewLab(t)
	tl := newTLSLab(t, l)
	srv := map[string]*Proc{}
	for _, h := range []string{"web1", "web2"} {
		srv[h] = l.Start(h, Bin(t, "lab-grpc"), "serve", "-addr", l.Addr(h)+":50051")
	}
	lb := l.StartLBD("lb1", grpcConfig(tl, l))
	Eventually(t, 20*time.Second, func() bool {
		bs, err := lb.BackendStatus()
		if err != nil || len(bs) != 1 {
			return false
		}
		for _, s := range bs[0].Servers {
			if s.State != "UP" || !strings.Contains(string(s.Check), "L7OK") {
				return false
			}
		}
		return true
	}, "both gRPC servers UP by gRPC health checks")

	cases := map[string][]string{
		"h2c":      {"-addr", l.Addr("lb1") + ":50051"},
		"TLS+ALPN": {"-addr", l.Addr("lb1") + ":8443", "-ca", tl.path("ca.pem"), "-sni", "www.example.com"},
	}
	for name, args := range cases {
		out, err := l.Exec("client", append([]string{Bin(t, "lab-grpc"), "call"}, args...)...)
		if err != nil || strings.Count(out, "PASS") != 10 {
			t.Errorf("%s: gRPC interop cases through lbd: %v\n%s", name, err, out)
		}
	}
	// A server going away: its health check fails, the calls go on.
	srv["web2"].Kill()
	Eventually(t, 20*time.Second, func() bool {
		bs, err := lb.BackendStatus()
		return err == nil && len(bs) == 1 && bs[0].Servers[1].BaseState() == "DOWN"
	}, "web2 DOWN once its gRPC server is gone")
	if out, err := l.Exec("client", Bin(t, "lab-grpc"), "call", "-addr", l.Addr("lb1")+":50051"); err != nil {
		t.Errorf("with one server left: %v\n%s", err, out)
	}
}
