//go:build linux

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lbd/test/pebble"
	"lbd/test/pki"
)

// TLS end to end (issue 12): lbd terminating TLS in the lab, driven by the
// clients users have (curl, openssl s_client, testssl.sh), and a pair
// serving an HTTPS site through its VIP across a failover.

// tlsLab are the certificates of the TLS tests, in the lab's directory:
// site.pem and site-rsa.pem (www.example.com, example.com, ECDSA and
// RSA), other.pem (other.example.com), ca.pem (their CA), clients.pem (the
// client CA), alice.pem (a client certificate), ticket.secret.
type tlsLab struct {
	dir   string
	roots *x509.CertPool
}

func newTLSLab(t *testing.T, l *Lab) *tlsLab {
	t.Helper()
	dir := l.Dir()
	ca := pki.NewCA("Lab Site CA")
	ca.Issue(pki.Options{}, "www.example.com", "example.com").Write(filepath.Join(dir, "site.pem"))
	ca.Issue(pki.Options{KeyType: pki.RSA}, "www.example.com", "example.com").Write(filepath.Join(dir, "site-rsa.pem"))
	ca.Issue(pki.Options{}, "other.example.com").Write(filepath.Join(dir, "other.pem"))
	ca.WriteCA(filepath.Join(dir, "ca.pem"))
	clients := pki.NewCA("Lab Client CA")
	clients.WriteCA(filepath.Join(dir, "clients.pem"))
	clients.Issue(pki.Options{Client: true}, "alice").Write(filepath.Join(dir, "alice.pem"))
	if err := os.WriteFile(filepath.Join(dir, "ticket.secret"), []byte(strings.Repeat("lab-ticket-secret-", 3)), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &tlsLab{dir: dir, roots: roots}
}

func (tl *tlsLab) path(name string) string { return filepath.Join(tl.dir, name) }

// tlsConfig is the lab config of node with an HTTPS bind on the VIP :443
// and on every address :8443, a bind requiring client certificates on
// :8444, sticky cookies on backend "web" and the shared ticket secret.
func tlsConfig(t testing.TB, tl *tlsLab, node string) string {
	c := LabConfig(node)
	c = replaceOnce(t, c, `  grace      = "2s"                    # a lab stop should not wait long`,
		`  grace      = "2s"
  tls_ticket_secret = "`+tl.path("ticket.secret")+`"`)
	c = replaceOnce(t, c, `  default_backend = "web"
  forward_for     = true
}`, fmt.Sprintf(`  default_backend = "web"
  tls {
    bind = ["192.0.2.100:443", "0.0.0.0:8443"]
    crt  = [%q, %q, %q]
  }
  tls {
    bind    = ["0.0.0.0:8444"]
    crt     = [%q]
    verify  = "required"
    ca_file = %q
  }
}`, tl.path("site.pem"), tl.path("site-rsa.pem"), tl.path("other.pem"), tl.path("site.pem"), tl.path("clients.pem")))
	c = replaceOnce(t, c, `backend "web" {
  balance = "roundrobin"`, `backend "web" {
  balance = "roundrobin"
  cookie "SERVERID" {
    mode = "insert"
  }`)
	return c
}

// sClient runs openssl s_client from the client namespace against addr
// and returns its output (stdin closed: it ends after the handshake).
func sClient(l *Lab, tl *tlsLab, addr string, args ...string) string {
	all := append([]string{"openssl", "s_client", "-connect", addr, "-CAfile", tl.path("ca.pem")}, args...)
	out, _ := l.Exec("client", all...)
	return out
}

// TestTLSRealClients: curl, openssl s_client and testssl.sh against lbd.
func TestTLSRealClients(t *testing.T) {
	RequireLBD(t)
	t.Parallel() // testssl alone takes over a minute
	for _, tool := range []string{"curl", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (apt-get install -y %s)", tool, tool)
		}
	}
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")
	tl := newTLSLab(t, l)
	lb := l.StartLBD("lb1", tlsConfig(t, tl, "lb1"))
	addr := l.Addr("lb1") + ":8443"
	Eventually(t, 20*time.Second, func() bool {
		out, err := l.Exec("client", "curl", "-sS", "--cacert", tl.path("ca.pem"), "--resolve", "www.example.com:8443:"+l.Addr("lb1"),
			"https://www.example.com:8443/")
		return err == nil && (strings.TrimSpace(out) == "web1" || strings.TrimSpace(out) == "web2")
	}, "curl over HTTPS to reach a web server")

	t.Run("curl", func(t *testing.T) {
		out, err := l.Exec("client", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_version} %{ssl_verify_result}",
			"--cacert", tl.path("ca.pem"), "--resolve", "example.com:8443:"+l.Addr("lb1"), "https://example.com:8443/")
		if err != nil || out != "200 2 0" {
			t.Errorf("curl (HTTP/2 by ALPN): %q %v", out, err)
		}
		out, err = l.Exec("client", "curl", "-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
			"--cacert", tl.path("ca.pem"), "--resolve", "example.com:8443:"+l.Addr("lb1"), "https://example.com:8443/")
		if err != nil || out != "200 1.1" {
			t.Errorf("curl --http1.1: %q %v", out, err)
		}
		if out, err := l.Exec("client", "curl", "-sS", "--tls-max", "1.1", "--tlsv1.0", "--cacert", tl.path("ca.pem"),
			"--resolve", "example.com:8443:"+l.Addr("lb1"), "https://example.com:8443/"); err == nil {
			t.Errorf("curl with TLS <= 1.1 got through: %q", out)
		}
	})
	t.Run("s_client SNI", func(t *testing.T) {
		for sni, cn := range map[string]string{"www.example.com": "www.example.com", "other.example.com": "other.example.com", "unknown.example.net": "www.example.com"} {
			out := sClient(l, tl, addr, "-servername", sni)
			if !strings.Contains(out, "CN = "+cn) || !strings.Contains(out, "Verify return code: 0 (ok)") {
				t.Errorf("SNI %s: want the certificate of %s:\n%s", sni, cn, out)
			}
		}
		// RSA for a client that only takes RSA signatures in TLS 1.2.
		out := sClient(l, tl, addr, "-servername", "www.example.com", "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
		if !strings.Contains(out, "Server public key is 2048 bit") {
			t.Errorf("an RSA-only client did not get the RSA certificate:\n%s", out)
		}
	})
	t.Run("s_client ALPN and versions", func(t *testing.T) {
		if out := sClient(l, tl, addr, "-servername", "www.example.com", "-alpn", "h2,http/1.1"); !strings.Contains(out, "ALPN protocol: h2") {
			t.Errorf("ALPN:\n%s", out)
		}
		if out := sClient(l, tl, addr, "-servername", "www.example.com", "-alpn", "http/1.1"); !strings.Contains(out, "ALPN protocol: http/1.1") {
			t.Errorf("ALPN:\n%s", out)
		}
		for flag, ok := range map[string]bool{"-tls1_3": true, "-tls1_2": true, "-tls1_1": false, "-tls1": false} {
			out := sClient(l, tl, addr, "-servername", "www.example.com", flag)
			got := strings.Contains(out, "Verify return code: 0 (ok)") && !strings.Contains(out, "alert")
			if got != ok {
				t.Errorf("%s: handshake ok=%v, want %v:\n%s", flag, got, ok, out)
			}
		}
	})
	t.Run("s_client resumption", func(t *testing.T) {
		for _, v := range []string{"-tls1_3", "-tls1_2"} {
			sess := filepath.Join(tl.dir, "sess"+v)
			first := sClient(l, tl, addr, "-servername", "www.example.com", v, "-sess_out", sess)
			second := sClient(l, tl, addr, "-servername", "www.example.com", v, "-sess_in", sess)
			if !strings.Contains(first, "New,") || !strings.Contains(second, "Reused,") {
				t.Errorf("%s: first %q second %q", v, firstLine(first, "New,", "Reused,"), firstLine(second, "New,", "Reused,"))
			}
		}
	})
	t.Run("s_client client certificates", func(t *testing.T) {
		caddr := l.Addr("lb1") + ":8444"
		// TLS 1.2 refuses within the handshake; TLS 1.3 after the client's
		// Finished, which s_client may not stay to read: lbd's log tells.
		without := sClient(l, tl, caddr, "-servername", "www.example.com", "-tls1_2")
		if !strings.Contains(without, "alert") {
			t.Errorf("no client certificate (TLS 1.2): the handshake was not refused:\n%s", without)
		}
		sClient(l, tl, caddr, "-servername", "www.example.com", "-tls1_3")
		Eventually(t, 5*time.Second, func() bool {
			return strings.Count(lb.Output(), `"tls_error":"client didn't provide a certificate"`) >= 2
		}, "lbd to log both refusals")
		with := sClient(l, tl, caddr, "-servername", "www.example.com", "-cert", tl.path("alice.pem"), "-key", tl.path("alice.pem"))
		if strings.Contains(with, "alert") || !strings.Contains(with, "Verify return code: 0 (ok)") {
			t.Errorf("with alice's certificate:\n%s", with)
		}
	})
	t.Run("cert list", func(t *testing.T) {
		out := lb.MustCtl(t, "cert", "list")
		for _, want := range []string{"other.example.com", "RSA", "ECDSA", "web/0.0.0.0:8443", "web/192.0.2.100:443"} {
			if !strings.Contains(out, want) {
				t.Errorf("lbctl cert list lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("testssl", func(t *testing.T) {
		testssl := "testssl"
		if _, err := exec.LookPath(testssl); err != nil {
			if _, err := exec.LookPath("testssl.sh"); err != nil {
				t.Fatal("testssl.sh is needed (apt-get install -y testssl.sh)")
			}
			testssl = "testssl.sh"
		}
		jsonFile := filepath.Join(tl.dir, "testssl.json")
		// testssl takes a minute or more, longer on a busy machine: Exec's
		// minute is not enough.
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		outb, _ := exec.CommandContext(ctx, "ip", "netns", "exec", l.NS("client"), testssl, "--quiet", "--color", "0",
			"--warnings", "off", "-p", "-s", "--jsonfile", jsonFile, addr).CombinedOutput()
		out := string(outb)
		raw, err := os.ReadFile(jsonFile)
		if err != nil {
			t.Fatalf("testssl wrote no JSON: %v\n%s", err, out)
		}
		var findings []struct{ ID, Severity, Finding string }
		if err := json.Unmarshal(raw, &findings); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range findings {
			got[f.ID] = f.Finding
			switch f.Severity {
			case "LOW", "MEDIUM", "HIGH", "CRITICAL":
				t.Errorf("testssl: %s %s: %s", f.Severity, f.ID, f.Finding)
			}
		}
		for _, id := range []string{"SSLv2", "SSLv3", "TLS1", "TLS1_1", "cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
			"cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"} {
			if got[id] != "not offered" {
				t.Errorf("testssl %s: %q, want not offered", id, got[id])
			}
		}
		for _, id := range []string{"TLS1_2", "TLS1_3", "cipherlist_STRONG"} {
			if !strings.HasPrefix(got[id], "offered") {
				t.Errorf("testssl %s: %q, want offered", id, got[id])
			}
		}
	})
}

func firstLine(out string, subs ...string) string {
	for _, line := range strings.Split(out, "\n") {
		for _, s := range subs {
			if strings.Contains(line, s) {
				return line
			}
		}
	}
	return ""
}

// TestTLSPairFailover: an HTTPS site with sticky cookies behind the VIP of
// a pair. Clients keep their server across a crash failover (the cookie)
// and resume their TLS sessions on the new master (the shared ticket
// secret).
func TestTLSPairFailover(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")
	tl := newTLSLab(t, l)
	lb1 := l.StartLBD("lb1", tlsConfig(t, tl, "lb1"))
	l.StartLBD("lb2", tlsConfig(t, tl, "lb2"))
	Eventually(t, 20*time.Second, func() bool { h := l.VIPHolders(); return len(h) == 1 && h[0] == "lb1" }, "lb1 to hold the VIP")

	jar, _ := cookiejar.New(nil)
	sessions := tls.NewLRUClientSessionCache(8)
	tr := &http.Transport{DialContext: l.DialContext("client"), DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: tl.roots, ServerName: "www.example.com", ClientSessionCache: sessions}}
	cl := &http.Client{Timeout: 2 * time.Second, Jar: jar, Transport: tr}
	url := "https://192.0.2.100/"
	var server string
	Eventually(t, 20*time.Second, func() bool {
		resp, err := cl.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		server = resp.Header.Get("X-Server")
		return resp.StatusCode == 200 && server != ""
	}, "an HTTPS answer through the VIP")

	// A session made on lb1, kept aside for the resumption check.
	resumed := func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		raw, err := l.DialContext("client")(ctx, "tcp", "192.0.2.100:443")
		if err != nil {
			return false, err
		}
		c := tls.Client(raw, &tls.Config{RootCAs: tl.roots, ServerName: "www.example.com", ClientSessionCache: sessions})
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if err := c.Handshake(); err != nil {
			return false, err
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n")
		buf := make([]byte, 512)
		c.Read(buf) // lets the new ticket in
		return c.ConnectionState().DidResume, nil
	}
	if ok, err := resumed(); err != nil || !ok {
		t.Fatalf("no resumption on lb1 itself: %v %v", ok, err)
	}
	sess := filepath.Join(tl.dir, "openssl.sess")
	if out := sClient(l, tl, "192.0.2.100:443", "-servername", "www.example.com", "-sess_out", sess); !strings.Contains(out, "New,") {
		t.Fatalf("openssl session on lb1:\n%s", out)
	}

	// HTTPS traffic during the failover.
	var mu sync.Mutex
	servers := map[string]int{}
	failed, ok := 0, 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			resp, err := cl.Get(url)
			mu.Lock()
			if err != nil || resp.StatusCode != 200 {
				failed++
			} else {
				ok++
				servers[resp.Header.Get("X-Server")]++
			}
			mu.Unlock()
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	time.Sleep(time.Second)
	lb1.Kill() // kill -9: the VIP stays on lb1's interface, lb2 takes it over by GARP
	Eventually(t, 15*time.Second, func() bool { return slices.Contains(l.VIPHolders(), "lb2") }, "lb2 to take the VIP")
	mu.Lock()
	before := ok
	mu.Unlock()
	Eventually(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return ok >= before+10 }, "HTTPS answers from lb2")
	close(stop)
	<-done
	mu.Lock()
	t.Logf("HTTPS requests through the failover: %d answered, %d failed (the VIP moving), servers %v", ok, failed, servers)
	if len(servers) != 1 || servers[server] == 0 {
		t.Errorf("the sticky cookie did not keep the client on %s across the failover: %v", server, servers)
	}
	mu.Unlock()

	if ok, err := resumed(); err != nil || !ok {
		t.Errorf("the client did not resume its session on lb2 (shared ticket secret): resumed=%v err=%v", ok, err)
	}
	if out := sClient(l, tl, "192.0.2.100:443", "-servername", "www.example.com", "-sess_in", sess); !strings.Contains(out, "Reused,") {
		t.Errorf("openssl's session from lb1 was not reused on lb2:\n%s", firstLine(out, "New,", "Reused,"))
	}
}

// TestACMEPair: both nodes of a pair obtain a certificate from an ACME
// server (Pebble, in the client's namespace, its DNS resolving every name
// to the VIP) although only the master can be reached by the validations:
// the master answers the backup's HTTP-01 validation too (shared account
// key). The site is then served over HTTPS with the certificate obtained.
func TestACMEPair(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")
	srv := pebble.StartWith(t, pebble.Options{HTTPPort: 80, TLSPort: 443, Wrap: []string{"ip", "netns", "exec", l.NS("client")},
		Listen: l.Addr("client"), Resolve: "192.0.2.100", DialContext: l.DialContext("client")})
	key := filepath.Join(l.Dir(), "account.key")
	conf := func(node string) string {
		c := LabConfig(node)
		c = replaceOnce(t, c, `  default_backend = "web"
  forward_for     = true
}`, `  default_backend = "web"
  forward_for     = true
  tls {
    bind = ["192.0.2.100:443"]
    acme = ["www.example.com"]
  }
}

acme {
  directory   = "`+srv.Directory+`"
  ca_file     = "`+srv.CAFile+`"
  account_key = "`+key+`"
  storage     = "`+filepath.Join(l.Dir(), node+"-acme")+`"
}`)
		return c
	}
	lb1 := l.StartLBD("lb1", conf("lb1"))
	lb2 := l.StartLBD("lb2", conf("lb2"))
	for _, d := range []*LBD{lb1, lb2} {
		var last string
		Eventually(t, 60*time.Second, func() bool {
			last, _ = d.Ctl("cert", "list")
			return strings.Contains(last, "www.example.com") && strings.Contains(last, d.Node+"-acme")
		}, "%s to obtain its certificate (last lbctl cert list: %s)", d.Node, Lazy(func() string { return last }))
	}
	roots := srv.Roots(t)
	tr := &http.Transport{DialContext: l.DialContext("client"), DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "www.example.com"}}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	Eventually(t, 20*time.Second, func() bool {
		resp, err := cl.Get("https://192.0.2.100/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "HTTPS through the VIP with the certificate from Pebble")
}
