package proxy

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"lbd/test/pki"
)

const tlsPolicy = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "web" {
  bind            = ["{{plain}}"]
  default_backend = "app"
  tls {
    bind    = ["{{fe}}"]
    crt     = ["{{dir}}/site.pem", "{{dir}}/other.pem"]
    verify  = "optional"
    ca_file = "{{dir}}/clients.pem"
  }
  acl "tls"       { ssl_fc = true }
  acl "cert"      { ssl_c_used = true }
  acl "verified"  { ssl_c_verify = [0] }
  acl "other"     { sni = ["other.example.com"] }
  acl "admin"     { path_beg = ["/admin"] }
  http_request "return" {
    unless = "tls"
    status = 200
    body   = "plain"
  }
  http_request "deny" {
    if = "admin !cert"
  }
  http_request "set_header" {
    if    = "cert verified"
    name  = "X-Client"
    value = "verified"
  }
  http_request "set_header" {
    if    = "other"
    name  = "X-SNI"
    value = "%[ssl_fc_sni]"
  }
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check   = false
  }
}
`

// TestPolicyTLSFacts: conditions read the TLS facts of a terminated
// connection: ssl_fc, the client certificate, the server name.
func TestPolicyTLSFacts(t *testing.T) {
	f := newTLSFiles(t)
	clients := pki.NewCA("Clients")
	clients.WriteCA(f.path("clients.pem"))
	alice := clients.Issue(pki.Options{Client: true}, "alice")
	kp, err := tls.X509KeyPair(alice.PEM(), alice.PEM())
	if err != nil {
		t.Fatal(err)
	}
	be := backendServer(t, "app", policyEcho("app"))
	fe, plain := freePort(t), freePort(t)
	newRig(t, tlsPolicy, map[string]string{"fe": fe, "plain": plain, "dir": f.dir, "s1": hostport(be)})
	get := func(sni, path string, certs []tls.Certificate) (int, string) {
		conf := f.client(sni)
		conf.Certificates = certs
		cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
		resp, err := cl.Get("https://" + fe + path)
		if err != nil {
			t.Fatalf("%s %s: %v", sni, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := get("www.example.com", "/x", nil); st != 200 || strings.Contains(body, "X-Client") || strings.Contains(body, "X-Sni") {
		t.Errorf("no certificate: %d %q", st, body)
	}
	if st, _ := get("www.example.com", "/admin", nil); st != 403 {
		t.Errorf("admin without a certificate: %d", st)
	}
	if st, body := get("www.example.com", "/admin", []tls.Certificate{kp}); st != 200 || !strings.Contains(body, "X-Client: verified") {
		t.Errorf("admin with a certificate: %d %q", st, body)
	}
	if st, body := get("other.example.com", "/x", nil); st != 200 || !strings.Contains(body, "X-Sni: other.example.com") {
		t.Errorf("by SNI: %d %q", st, body)
	}
	resp, body := httpGet(t, "http://"+plain+"/x", nil)
	if resp.StatusCode != 200 || body != "plain" {
		t.Errorf("plain bind: %d %q", resp.StatusCode, body)
	}
}
