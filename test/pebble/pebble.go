// Package pebble runs Let's Encrypt's test ACME server, Pebble, on
// loopback for tests: pebble-challtestsrv as its DNS server (every name
// resolves to 127.0.0.1) and pebble validating on the ports the test
// serves its challenges on. Nothing leaves the machine.
//
// The binaries come from `go install
// github.com/letsencrypt/pebble/v2/cmd/...@v2.10.3` (.ci/run installs
// them). Without them a test skips, except under CI=true where it fails.
package pebble

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"lbd/test/freeport"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"lbd/test/pki"
)

// Server is a running Pebble.
type Server struct {
	// Directory is the ACME directory URL.
	Directory string
	// CAFile trusts Pebble's HTTPS (acme.ca_file).
	CAFile string
	// Management is Pebble's management URL (its issuing roots).
	Management string
	caPool     *x509.CertPool
	dial       func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Find returns the path of a Pebble binary, or skips (fails under CI).
func Find(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(os.Getenv("HOME"), "go", "bin"), "/root/go/bin"} {
		if p := filepath.Join(dir, name); dir != "" && fileExists(p) {
			return p
		}
	}
	msg := name + " not installed (go install github.com/letsencrypt/pebble/v2/cmd/" + name + "@v2.10.3)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// FreePort returns a free TCP port on 127.0.0.1 (package freeport).
func FreePort(t testing.TB) int { return freeport.Port(t, "127.0.0.1") }

// Start runs Pebble validating HTTP-01 on httpPort and TLS-ALPN-01 on
// tlsPort of 127.0.0.1; it stops when the test ends.
func Start(t testing.TB, httpPort, tlsPort int) *Server {
	t.Helper()
	return StartWith(t, Options{HTTPPort: httpPort, TLSPort: tlsPort})
}

// Options place Pebble elsewhere than on loopback: in a lab namespace
// (Wrap runs its processes there, e.g. "ip netns exec NS"), listening on
// Listen, its DNS answering every name with Resolve.
type Options struct {
	HTTPPort, TLSPort int
	Wrap              []string
	Listen            string // default 127.0.0.1
	Resolve           string // default 127.0.0.1
	// DialContext reaches Pebble from the test (Roots) when it runs in a
	// namespace; nil dials from here.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// StartWith is Start with Options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1"
	}
	if o.Resolve == "" {
		o.Resolve = "127.0.0.1"
	}
	httpPort, tlsPort := o.HTTPPort, o.TLSPort
	pebble, chall := Find(t, "pebble"), Find(t, "pebble-challtestsrv")
	dir := t.TempDir()
	ca := pki.NewCA("Pebble HTTPS test CA")
	ca.Issue(pki.Options{}, "localhost", "127.0.0.1", o.Listen).Write(filepath.Join(dir, "https.pem"))
	caFile := ca.WriteCA(filepath.Join(dir, "https-ca.pem"))
	// pebble wants the key and the certificate in two files.
	raw, _ := os.ReadFile(filepath.Join(dir, "https.pem"))
	os.WriteFile(filepath.Join(dir, "https-key.pem"), raw, 0o600)

	dnsPort, port, mgmt, cmgmt := FreePort(t), FreePort(t), FreePort(t), FreePort(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  o.Listen + ":" + strconv.Itoa(port),
		"managementListenAddress":        o.Listen + ":" + strconv.Itoa(mgmt),
		"certificate":                    filepath.Join(dir, "https.pem"),
		"privateKey":                     filepath.Join(dir, "https-key.pem"),
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
	}}
	b, _ := json.Marshal(conf)
	cfgPath := filepath.Join(dir, "pebble.json")
	os.WriteFile(cfgPath, b, 0o644)

	run := func(name string, env []string, args ...string) {
		argv := append(append(append([]string(nil), o.Wrap...), "env"), env...)
		argv = append(append(argv, name), args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		logf, _ := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			logf.Close()
			if t.Failed() {
				out, _ := os.ReadFile(logf.Name())
				t.Logf("%s log:\n%s", filepath.Base(name), tail(out, 4000))
			}
		})
	}
	run(chall, nil, "-dnsserver", "127.0.0.1:"+strconv.Itoa(dnsPort), "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-doh", "", "-management", "127.0.0.1:"+strconv.Itoa(cmgmt), "-defaultIPv4", o.Resolve, "-defaultIPv6", "")
	run(pebble, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		"-config", cfgPath, "-dnsserver", "127.0.0.1:"+strconv.Itoa(dnsPort))

	s := &Server{Directory: fmt.Sprintf("https://%s:%d/dir", o.Listen, port), CAFile: caFile,
		Management: fmt.Sprintf("https://%s:%d", o.Listen, mgmt)}
	s.dial = o.DialContext
	s.caPool = x509.NewCertPool()
	s.caPool.AddCert(ca.Cert)
	if len(o.Wrap) > 0 {
		time.Sleep(2 * time.Second) // not reachable from here: give it time to start
		return s
	}
	cl := s.httpClient()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := cl.Get(s.Directory)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not come up: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) httpClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.caPool},
		DialContext: s.dial}}
}

// Roots returns the roots Pebble issues under (its management API), to
// verify certificates it issued.
func (s *Server) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	resp, err := s.httpClient().Get(s.Management + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw []byte
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		raw = append(raw, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !pool.AppendCertsFromPEM(raw) {
		t.Fatalf("no root from pebble: %q", raw)
	}
	return pool
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
