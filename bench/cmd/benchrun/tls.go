package main

// The TLS cases (issue 12): lbd and HAProxy terminate TLS in front of the
// same nginx, with the same certificates and the same suites (Mozilla
// intermediate), measured by the same wrk:
//
//   - handshakes per second: a new connection per request (wrk with
//     "Connection: close"), ECDSA P-256 and RSA-2048 certificates, TLS 1.3
//     and TLS 1.2, with session resumption off on both proxies (no tickets,
//     no session cache), so that every connection is a full handshake;
//   - resumed handshakes: the same with tickets on (wrk resumes its
//     session on every new connection);
//   - keep-alive requests over TLS (TLS 1.3, ECDSA);
//   - 100 KiB responses over TLS, keep-alive;
//   - resident memory per idle TLS keep-alive connection.
//
// Each proxy runs as a process of its own for these cases (its TLS
// configuration apart from the plain one), pinned like the others.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

var (
	tlsCases = flag.Bool("tls", true, "run the TLS cases")
	tlsIdle  = flag.Int("tls-idle", 2000, "idle TLS keep-alive connections for the memory measure (0: skip)")
)

// tlsCase is one measured case: the frontend name (the same on both
// proxies), the URL path, and whether wrk closes after each request.
type tlsCase struct {
	name  string
	fe    string
	path  string
	close bool
}

var tlsCaseList = []tlsCase{
	{"TLS handshake ECDSA P-256 TLS1.3", "hs_ecdsa13", "/", true},
	{"TLS handshake ECDSA P-256 TLS1.2", "hs_ecdsa12", "/", true},
	{"TLS handshake RSA-2048 TLS1.3", "hs_rsa13", "/", true},
	{"TLS handshake RSA-2048 TLS1.2", "hs_rsa12", "/", true},
	{"TLS resumed handshake TLS1.3", "ka", "/", true},
	{"TLS resumed handshake TLS1.2", "resume12", "/", true},
	{"TLS keep-alive", "ka", "/", false},
	{"TLS 100 KiB responses", "ka", "/100k", false},
}

// tlsFrontends are the TLS frontends: certificate, versions, resumption.
var tlsFrontends = []struct {
	name, cert, ver string
	resume          bool
}{
	{"hs_ecdsa13", "ecdsa", "TLSv1.3", false},
	{"hs_ecdsa12", "ecdsa", "TLSv1.2", false},
	{"hs_rsa13", "rsa", "TLSv1.3", false},
	{"hs_rsa12", "rsa", "TLSv1.2", false},
	{"resume12", "ecdsa", "TLSv1.2", true},
	{"ka", "ecdsa", "TLSv1.3", true},
}

func (r *runner) runTLS(tw *tabwriter.Writer) error {
	if !*tlsCases {
		return nil
	}
	for _, k := range []string{"nginx_tls"} {
		r.ports[k] = freePort()
	}
	for _, f := range tlsFrontends {
		r.ports["hap_"+f.name] = freePort()
		r.ports["lbd_"+f.name] = freePort()
	}
	if err := r.writeTLSConfigs(); err != nil {
		return err
	}
	if err := r.start("nginx_tls", *loadCPU, *nginx, "-c", r.path("nginx-tls.conf"), "-p", r.dir); err != nil {
		return err
	}
	if err := r.start("haproxy_tls", *proxyCPU, *haproxy, "-f", r.path("haproxy-tls.cfg"), "-db"); err != nil {
		return err
	}
	if err := r.start("lbd_tls", *proxyCPU, *lbdBin, "-f", r.path("lbd-tls.hcl")); err != nil {
		return err
	}
	for _, p := range []string{"nginx_tls", "hap_ka", "lbd_ka"} {
		if err := waitPort(r.ports[p], 10*time.Second); err != nil {
			return fmt.Errorf("%s did not come up: %w (logs in %s)", p, err, r.dir)
		}
	}
	// The memory first, on processes that have served nothing yet: after
	// load, memory freed by the runtime is reused and hides the growth.
	var idleRows []string
	if *tlsIdle > 0 {
		n := *tlsIdle
		if n > r.maxcon-10 {
			n = r.maxcon - 10
		}
		h, err := r.idleTLSMemory("haproxy_tls", r.ports["hap_ka"], n)
		if err != nil {
			return err
		}
		l, err := r.idleTLSMemory("lbd_tls", r.ports["lbd_ka"], n)
		if err != nil {
			return err
		}
		idleRows = append(idleRows, fmt.Sprintf("idle TLS keep-alive conns\tconns held\t%d\t%d\t\t\n", h.n, l.n),
			fmt.Sprintf("\tRSS KiB/conn\t%.2f\t%.2f\t%.2f\t\n", h.perConnKiB, l.perConnKiB, l.perConnKiB/h.perConnKiB))
	}
	for _, c := range tlsCaseList {
		var hap, lb result
		for i := 0; i < *rounds; i++ {
			h, err := r.measureURL("haproxy_tls", "https://"+r.ports["hap_"+c.fe]+c.path, c.close)
			if err != nil {
				return err
			}
			l, err := r.measureURL("lbd_tls", "https://"+r.ports["lbd_"+c.fe]+c.path, c.close)
			if err != nil {
				return err
			}
			if h.rps > hap.rps {
				hap = h
			}
			if l.rps > lb.rps {
				lb = l
			}
		}
		unit := "req/s"
		if c.close {
			unit = "handshakes/s"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.2f\t\n", c.name, unit, hap.rps, lb.rps, lb.rps/hap.rps)
		fmt.Fprintf(tw, "\tp99 ms\t%.2f\t%.2f\t%.2f\t\n", hap.p99ms, lb.p99ms, lb.p99ms/hap.p99ms)
		fmt.Fprintf(tw, "\tCPU s/1k req\t%.4f\t%.4f\t%.2f\t\n", hap.cpuPer1k, lb.cpuPer1k, lb.cpuPer1k/hap.cpuPer1k)
		if hap.errors+lb.errors > 0 {
			fmt.Fprintf(tw, "\terrors\t%d\t%d\t\t\n", hap.errors, lb.errors)
		}
	}
	for _, row := range idleRows {
		fmt.Fprint(tw, row)
	}
	return nil
}

// measureURL is measure for any URL, optionally closing after every
// request (a new connection, so a new handshake, per request).
func (r *runner) measureURL(name, url string, closeEach bool) (result, error) {
	var extra []string
	if closeEach {
		extra = []string{"-H", "Connection: close"}
	}
	return r.measureWith(name, url, extra)
}

// idleTLSMemory is idleMemory over TLS.
func (r *runner) idleTLSMemory(name, addr string, n int) (memResult, error) {
	conf := &tls.Config{InsecureSkipVerify: true, ServerName: "bench.example"}
	return r.idleMemoryDial(name, n, func() (net.Conn, error) {
		d := &net.Dialer{Timeout: 2 * time.Second}
		return tls.DialWithDialer(d, "tcp", addr, conf)
	})
}

func (r *runner) writeTLSConfigs() error {
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"ecdsa", mustECDSA()}, {"rsa", mustRSA()}} {
		if err := writeSelfSigned(r.path(k.name+".pem"), k.key); err != nil {
			return err
		}
	}
	body := strings.Repeat("x", 100*1024)
	if err := os.WriteFile(r.path("100k"), []byte(body), 0o644); err != nil {
		return err
	}
	ng := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process off;
worker_rlimit_nofile 20000;
pid %[1]s/nginx-tls.pid;
error_log %[1]s/nginx-tls.err warn;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s;
  uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen %[2]s;
    location = / { return 200 "hello world\n"; }
    location = /100k { root %[1]s; default_type text/plain; }
  }
}
`, r.dir, r.ports["nginx_tls"])
	ciphers := "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
	var hap, lbd strings.Builder
	fmt.Fprintf(&hap, `global
  maxconn %d
  nbthread 1
  tune.ssl.cachesize 0
  ssl-default-bind-ciphers %s
  ssl-default-bind-curves X25519:P-256:P-384
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 60s
backend be
  server n1 %s
`, r.maxcon, ciphers, r.ports["nginx_tls"])
	fmt.Fprintf(&lbd, `global {
  maxconn           = %d
  log_level         = "warn"
  admin_socket      = "%s/admin-tls.sock"
  tls_session_cache = 0
}
defaults {
  mode = "http"
  timeouts {
    connect         = "5s"
    client          = "60s"
    server          = "60s"
    http_request    = "10s"
    http_keep_alive = "60s"
  }
}
backend "be" {
  server "n1" {
    address = "%s"
    check   = false
  }
}
`, r.maxcon, r.dir, r.ports["nginx_tls"])
	for _, f := range tlsFrontends {
		opts := ""
		if !f.resume {
			opts = " no-tls-tickets"
		}
		fmt.Fprintf(&hap, "frontend %s\n  bind %s ssl crt %s ssl-min-ver %s ssl-max-ver %s alpn http/1.1%s\n  default_backend be\n",
			f.name, r.ports["hap_"+f.name], r.path(f.cert+".pem"), f.ver, f.ver, opts)
		fmt.Fprintf(&lbd, `frontend %q {
  default_backend = "be"
  tls {
    bind        = [%q]
    crt         = [%q]
    min_version = %q
    max_version = %q
    tickets     = %v
  }
}
`, f.name, r.ports["lbd_"+f.name], r.path(f.cert+".pem"), f.ver, f.ver, f.resume)
	}
	for name, body := range map[string]string{"nginx-tls.conf": ng, "haproxy-tls.cfg": hap.String(), "lbd-tls.hcl": lbd.String()} {
		if err := os.WriteFile(r.path(name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func mustECDSA() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func mustRSA() crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// writeSelfSigned writes a self-signed certificate for bench.example and
// its key into one PEM file (HAProxy's and lbd's crt).
func writeSelfSigned(path string, key crypto.Signer) error {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "bench.example"},
		DNSNames:     []string{"bench.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
	return os.WriteFile(path, out, 0o600)
}
