package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lbd/test/pki"
)

// tlsFiles writes certificates for the TLS tests: site.pem
// (www.example.com, example.com), other.pem (other.example.com), and the
// CA that issued them.
type tlsFiles struct {
	dir   string
	ca    *pki.CA
	roots *x509.CertPool
}

func newTLSFiles(t testing.TB) *tlsFiles {
	t.Helper()
	f := &tlsFiles{dir: t.TempDir(), ca: pki.NewCA("Proxy Test CA")}
	f.ca.Issue(pki.Options{}, "www.example.com", "example.com").Write(filepath.Join(f.dir, "site.pem"))
	f.ca.Issue(pki.Options{}, "other.example.com").Write(filepath.Join(f.dir, "other.pem"))
	f.roots = x509.NewCertPool()
	f.roots.AddCert(f.ca.Cert)
	return f
}

func (f *tlsFiles) path(name string) string { return filepath.Join(f.dir, name) }

func (f *tlsFiles) client(sni string) *tls.Config {
	return &tls.Config{ServerName: sni, RootCAs: f.roots}
}

// echoBackend echoes what it reads, and closes its side at the client's
// half-close.
func echoBackend(t testing.TB) string {
	return rawBackend(t, func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	})
}

const tlsTCP = `
defaults {
  mode = "tcp"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "tls" {
  default_backend = "echo"
  tls {
    bind = ["{{fe}}"]
    crt  = ["{{dir}}/site.pem", "{{dir}}/other.pem"]
    handshake_timeout = "2s"
  }
}
backend "echo" {
  server "e" {
    address = "{{echo}}"
    check = false
  }
}
`

func TestTLSTerminationTCP(t *testing.T) {
	f := newTLSFiles(t)
	fe := freePort(t)
	r := newRig(t, tlsTCP, map[string]string{"fe": fe, "dir": f.dir, "echo": echoBackend(t)})
	for _, sni := range []string{"www.example.com", "other.example.com"} {
		c, err := tls.Dial("tcp", fe, f.client(sni))
		if err != nil {
			t.Fatalf("%s: %v", sni, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := strings.Repeat("ping ", 10000) // several records
		go func() {
			io.WriteString(c, msg)
			c.CloseWrite() // close_notify: the server half-closes in turn
		}()
		got, err := io.ReadAll(c)
		if err != nil || string(got) != msg {
			t.Fatalf("%s: echoed %d bytes of %d, err %v", sni, len(got), len(msg), err)
		}
		c.Close()
		line := r.logs.waitFor(t, `"frontend":"tls"`, `"ssl_fc_sni":"`+sni+`"`)
		for _, want := range []string{`"ssl_fc_protocol":"TLSv1.3"`, `"ssl_fc_cipher":"TLS_`, `"ssl_fc_is_resumed":false`, `"termination_state":"--"`} {
			if !strings.Contains(line, want) {
				t.Errorf("access log lacks %s: %s", want, line)
			}
		}
	}
}

// Bytes that are not TLS, and clients that stall, are closed with the
// reason in the log; other connections are not affected.
func TestTLSBadClients(t *testing.T) {
	f := newTLSFiles(t)
	fe := freePort(t)
	r := newRig(t, tlsTCP, map[string]string{"fe": fe, "dir": f.dir, "echo": echoBackend(t)})
	cases := []struct {
		name, send, reason string
	}{
		{"plain HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "plain HTTP sent to a TLS port"},
		{"SSH banner", "SSH-2.0-OpenSSH_9.6\r\n", "not a TLS handshake (first byte 0x53)"},
		{"malformed hello", "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", "malformed ClientHello"},
		{"nothing at all", "", "handshake timeout: no complete ClientHello"},
		{"half a hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "handshake timeout: no complete ClientHello"},
	}
	for _, c := range cases {
		conn, err := net.Dial("tcp", fe)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, c.send)
		b, err := io.ReadAll(conn) // the proxy closes: EOF (or a reset), nothing sent
		if len(b) > 0 {
			t.Errorf("%s: the proxy answered %q", c.name, b)
		}
		conn.Close()
		r.logs.waitFor(t, `"tls_error":"`+c.reason)
	}
	// The bind still serves.
	conn, err := tls.Dial("tcp", fe, f.client("www.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

const tlsHTTP = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
    http_keep_alive = "5s"
  }
}
global {
  tls_ticket_secret = "{{dir}}/secret"
}
frontend "web" {
  bind = ["{{plain}}"]
  default_backend = "app"
  tls {
    bind = ["{{fe}}"]
    crt  = ["{{dir}}/{{crt}}"]
  }
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`

// HTTP over TLS: keep-alive requests on one connection, across the idle
// hand-off to the parker; the plain bind of the same frontend still
// serves in clear; tickets resume.
func TestTLSTerminationHTTP(t *testing.T) {
	f := newTLSFiles(t)
	writeFile(t, f.path("secret"), strings.Repeat("s", 48))
	fe, plain := freePort(t), freePort(t)
	s1 := backendServer(t, "s1", nil)
	vars := map[string]string{"fe": fe, "plain": plain, "dir": f.dir, "crt": "site.pem", "s1": hostport(s1)}
	r := newRig(t, tlsHTTP, vars)

	conf := f.client("www.example.com")
	conf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	c, err := tls.Dial("tcp", fe, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i, pause := range []time.Duration{0, 0, 300 * time.Millisecond, 0} {
		time.Sleep(pause) // past idleHandoff: the connection is parked meanwhile
		if pause > 0 && !parkUnsupported && r.e.parker.count() != 1 {
			t.Errorf("the idle TLS connection is not parked (parker holds %d)", r.e.parker.count())
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "hello from s1") {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
	}
	line := r.logs.waitFor(t, `"request":"GET /x HTTP/1.1"`, `"ssl_fc_sni":"www.example.com"`)
	if !strings.Contains(line, `"ssl_fc_protocol":"TLSv1.3"`) {
		t.Errorf("access log: %s", line)
	}
	if resp, _ := httpGet(t, "http://"+plain+"/", nil); resp.StatusCode != 200 {
		t.Errorf("plain bind: %d", resp.StatusCode)
	}
	c.Close()
	c2, err := tls.Dial("tcp", fe, conf)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.ConnectionState().DidResume {
		t.Error("second connection did not resume its session")
	}
	c2.Close()
}

// A reload with a renewed certificate: new handshakes get it, a
// connection opened before keeps working.
func TestTLSReloadCertificate(t *testing.T) {
	f := newTLSFiles(t)
	writeFile(t, f.path("secret"), strings.Repeat("s", 48))
	fe, plain := freePort(t), freePort(t)
	s1 := backendServer(t, "s1", nil)
	vars := map[string]string{"fe": fe, "plain": plain, "dir": f.dir, "crt": "site.pem", "s1": hostport(s1)}
	r := newRig(t, tlsHTTP, vars)
	old, err := tls.Dial("tcp", fe, f.client("www.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldSerial := old.ConnectionState().PeerCertificates[0].SerialNumber

	f.ca.Issue(pki.Options{}, "www.example.com", "example.com").Write(f.path("site.pem")) // renewed in place
	if err := r.apply(tlsHTTP, vars); err != nil {
		t.Fatal(err)
	}
	nc, err := tls.Dial("tcp", fe, f.client("www.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.ConnectionState().PeerCertificates[0].SerialNumber.Cmp(oldSerial) == 0 {
		t.Error("a new handshake after the reload got the old certificate")
	}
	old.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(old, "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(old), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the connection opened before the reload: %v", err)
	}
}

const passthrough = `
defaults {
  mode = "tcp"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "sni" {
  bind = ["{{fe}}"]
  default_backend = "b_default"
  route "a" {
    sni     = ["www.example.com"]
    backend = "b_a"
  }
  route "o" {
    sni     = ["*.example.com"]
    backend = "b_o"
  }
}
backend "b_a" {
  server "a" {
    address = "{{a}}"
    check = false
  }
}
backend "b_o" {
  server "o" {
    address = "{{o}}"
    check = false
  }
}
backend "b_default" {
  server "d" {
    address = "{{d}}"
    check = false
  }
}
`

// tlsBackend is a TLS server answering its name.
func tlsBackend(t testing.TB, f *tlsFiles, crt, name string) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(f.path(crt), f.path(crt))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, name)
			}()
		}
	}()
	return ln.Addr().String()
}

// TLS passthrough: the ClientHello picks the backend, the TLS session is
// the client's with the server (its certificate, its bytes).
func TestTLSPassthrough(t *testing.T) {
	f := newTLSFiles(t)
	fe := freePort(t)
	vars := map[string]string{"fe": fe,
		"a": tlsBackend(t, f, "site.pem", "server A"),
		"o": tlsBackend(t, f, "other.pem", "server O"),
		"d": tlsBackend(t, f, "site.pem", "server D")}
	r := newRig(t, passthrough, vars)
	for _, c := range []struct{ sni, want string }{
		{"www.example.com", "server A"},
		{"other.example.com", "server O"},
		{"example.com", "server D"},
	} {
		conf := f.client(c.sni)
		if c.sni == "example.com" || c.sni == "www.example.com" {
			conf.ServerName = c.sni
		}
		conn, err := tls.Dial("tcp", fe, conf)
		if err != nil {
			t.Fatalf("%s: %v", c.sni, err)
		}
		b, _ := io.ReadAll(conn)
		conn.Close()
		if string(b) != c.want {
			t.Errorf("%s: got %q, want %q", c.sni, b, c.want)
		}
		r.logs.waitFor(t, `"frontend":"sni"`, `"ssl_fc_sni":"`+c.sni+`"`)
	}
	// Not TLS: closed, logged.
	if out := rawRequest(t, fe, "GET / HTTP/1.0\r\n\r\n", 2*time.Second); out != "" {
		t.Errorf("plain request answered %q", out)
	}
	r.logs.waitFor(t, `"tls_error":"plain HTTP sent to a TLS port"`)
}

func TestTLSClientCertificate(t *testing.T) {
	f := newTLSFiles(t)
	clients := pki.NewCA("Clients")
	clients.WriteCA(f.path("clients.pem"))
	good := clients.Issue(pki.Options{Client: true}, "alice")
	src := strings.Replace(tlsTCP, `handshake_timeout = "2s"`, `verify = "required"
    ca_file = "{{dir}}/clients.pem"`, 1)
	fe := freePort(t)
	newRig(t, src, map[string]string{"fe": fe, "dir": f.dir, "echo": echoBackend(t)})
	kp, err := tls.X509KeyPair(good.PEM(), good.PEM())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		certs []tls.Certificate
		ok    bool
	}{{nil, false}, {[]tls.Certificate{kp}, true}} {
		conf := f.client("www.example.com")
		conf.Certificates = c.certs
		conn, err := tls.Dial("tcp", fe, conf)
		if err == nil {
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(conn, "x")
			buf := make([]byte, 1)
			_, err = io.ReadFull(conn, buf) // TLS 1.3: a refusal shows at the first read
			conn.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("client certificate %v: err %v", c.certs != nil, err)
		}
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const tlsHTTPExtras = `
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
  forward_for = true
  redirect_https = 308
  tls {
    bind = ["{{fe}}"]
    crt  = ["{{dir}}/site.pem"]
    verify  = "optional"
    ca_file = "{{dir}}/clients.pem"
    client_cert_headers = true
    hsts_max_age = "8760h"
    hsts_include_subdomains = true
  }
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`

// echoHeaders answers with the request's headers in the body, and a
// Strict-Transport-Security of its own.
func echoHeaders(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Strict-Transport-Security", "max-age=1")
	for k, vs := range r.Header {
		for _, v := range vs {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
}

func TestTLSHTTPExtras(t *testing.T) {
	f := newTLSFiles(t)
	clients := pki.NewCA("Clients")
	clients.WriteCA(f.path("clients.pem"))
	alice := clients.Issue(pki.Options{Client: true}, "alice")
	fe, plain := freePort(t), freePort(t)
	s1 := backendServer(t, "s1", echoHeaders)
	r := newRig(t, tlsHTTPExtras, map[string]string{"fe": fe, "plain": plain, "dir": f.dir, "s1": hostport(s1)})
	r.e.SetTLS(TLSEnv{ACMEHTTP: func(p string) (string, bool) {
		if p == "/.well-known/acme-challenge/abcdefghijklmnopqrstuvwxyz" {
			return "abcdefghijklmnopqrstuvwxyz.thumb", true
		}
		return "", false
	}})

	get := func(certs []tls.Certificate, spoof bool) (*http.Response, string) {
		conf := f.client("www.example.com")
		conf.Certificates = certs
		cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
		req, _ := http.NewRequest("GET", "https://"+fe+"/p?q=1", nil)
		req.Host = "www.example.com"
		if spoof {
			req.Header.Set("X-SSL-Client-Verify", "0")
			req.Header.Set("X-SSL-Client-DN", "/CN=admin")
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	kp, _ := tls.X509KeyPair(alice.PEM(), alice.PEM())
	resp, body := get([]tls.Certificate{kp}, false)
	for _, want := range []string{"X-Forwarded-Proto: https", "X-Ssl: 1", "X-Ssl-Client-Used: 1", "X-Ssl-Client-Verify: 0",
		"X-Ssl-Client-Dn: /O=lbd test/CN=alice", "X-Ssl-Client-Cn: alice", "X-Ssl-Issuer: /O=lbd test/CN=Clients"} {
		if !strings.Contains(body, want) {
			t.Errorf("the server did not get %q:\n%s", want, body)
		}
	}
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=31536000; includeSubDomains" {
		t.Errorf("Strict-Transport-Security %q", got)
	}
	// No certificate, and forged fields: dropped, the truth told.
	_, body = get(nil, true)
	if strings.Contains(body, "admin") || strings.Contains(body, "X-Ssl-Client-Verify") || !strings.Contains(body, "X-Ssl-Client-Used: 0") {
		t.Errorf("forged client certificate fields reached the server:\n%s", body)
	}

	// The plain bind: redirect, keeping host (without its port) and target;
	// ACME validations answered, not redirected.
	port := fe[strings.LastIndexByte(fe, ':')+1:]
	out := rawRequest(t, plain, "GET /a/b?c=d HTTP/1.1\r\nHost: www.example.com:80\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 308 Permanent Redirect\r\n") || !strings.Contains(out, "Location: https://www.example.com:"+port+"/a/b?c=d\r\n") {
		t.Errorf("redirect:\n%s", out)
	}
	out = rawRequest(t, plain, "GET /.well-known/acme-challenge/abcdefghijklmnopqrstuvwxyz HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(out, "\r\n\r\nabcdefghijklmnopqrstuvwxyz.thumb") {
		t.Errorf("ACME HTTP-01:\n%s", out)
	}
	out = rawRequest(t, plain, "POST /form HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 3\r\n\r\nabc", 2*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 308") || !strings.Contains(out, "Connection: close\r\n") {
		t.Errorf("a redirected request with a body must close:\n%s", out)
	}
	r.logs.waitFor(t, `"status":308`, `"request":"GET /a/b?c=d HTTP/1.1"`)
}

const tlsUpstream = `
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
  tls {
    bind = ["{{fe}}"]
    crt  = ["{{dir}}/site.pem", "{{dir}}/other.pem"]
  }
}
backend "app" {
  retries = 0
  tls {
    ca_file = "{{dir}}/ca.pem"
    {{tls}}
  }
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`

// TestTLSToServers: TLS to a server verified against a CA file, with a
// fixed SNI or the client's; refused when the server's certificate does
// not verify; server connections kept alive and reused.
func TestTLSToServers(t *testing.T) {
	f := newTLSFiles(t)
	f.ca.WriteCA(f.path("ca.pem"))
	var mu sync.Mutex
	conns, snis := 0, []string{}
	cert, _ := tls.LoadX509KeyPair(f.path("site.pem"), f.path("site.pem"))
	other, _ := tls.LoadX509KeyPair(f.path("other.pem"), f.path("other.pem"))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "sni=%s", r.TLS.ServerName)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert, other}, GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		snis = append(snis, h.ServerName)
		mu.Unlock()
		return nil, nil
	}}
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "https://")
	fe, plain := freePort(t), freePort(t)
	vars := map[string]string{"fe": fe, "plain": plain, "dir": f.dir, "s1": addr, "tls": `sni = "www.example.com"`}
	r := newRig(t, tlsUpstream, vars)
	for i := 0; i < 3; i++ {
		time.Sleep(100 * time.Millisecond) // the previous client's session has ended: its server connection is idle
		resp, body := httpGet(t, "http://"+plain+"/", nil)
		if resp.StatusCode != 200 || body != "sni=www.example.com" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	mu.Lock()
	if conns != 1 {
		t.Errorf("%d server connections for 3 requests: TLS connections to servers are not reused", conns)
	}
	mu.Unlock()

	// The client's SNI passed on.
	vars["tls"] = "sni_from_client = true"
	if err := r.apply(tlsUpstream, vars); err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: f.client("other.example.com")}}
	resp, err := cl.Get("https://" + fe + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "sni=other.example.com" {
		t.Errorf("sni_from_client: the server saw %q", b)
	}

	// A name the server's certificate does not carry: refused, 503.
	vars["tls"] = `sni = "www.example.com"
    verify_host = "nope.example.com"`
	if err := r.apply(tlsUpstream, vars); err != nil {
		t.Fatal(err)
	}
	if resp, _ := httpGet(t, "http://"+plain+"/", nil); resp.StatusCode != 503 {
		t.Errorf("a server whose certificate does not verify: status %d, want 503", resp.StatusCode)
	}
	r.logs.waitFor(t, `"termination_state":"SC"`)
}

// bufConn reads through a bufio.Reader that may hold bytes already.
type bufConn struct {
	net.Conn
	br *bufio.Reader
}

func (b bufConn) Read(p []byte) (int, error) { return b.br.Read(p) }

// TLS to a server that also gets the PROXY protocol: the header goes
// first, in clear, then the handshake (HAProxy's order).
func TestTLSToServersWithProxyHeader(t *testing.T) {
	f := newTLSFiles(t)
	f.ca.WriteCA(f.path("ca.pem"))
	cert, _ := tls.LoadX509KeyPair(f.path("site.pem"), f.path("site.pem"))
	lines := make(chan string, 4)
	addr := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		lines <- line
		tc := tls.Server(bufConn{c, br}, &tls.Config{Certificates: []tls.Certificate{cert}})
		req, err := http.ReadRequest(bufio.NewReader(tc))
		if err != nil {
			return
		}
		io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_ = req
		tc.Close()
	})
	src := strings.Replace(tlsUpstream, `  server "s1" {
    address = "{{s1}}"`, `  server "s1" {
    send_proxy = "v1"
    address = "{{s1}}"`, 1)
	fe, plain := freePort(t), freePort(t)
	newRig(t, src, map[string]string{"fe": fe, "plain": plain, "dir": f.dir, "s1": addr, "tls": `sni = "www.example.com"`})
	resp, body := httpGet(t, "http://"+plain+"/", nil)
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if l := <-lines; !strings.HasPrefix(l, "PROXY TCP4 127.0.0.1 ") {
		t.Errorf("the server's first line %q is not a PROXY header in clear", l)
	}
}
