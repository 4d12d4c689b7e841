//go:build linux

package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pairConfig is the lab config of node with a peer_api block: each node
// serves the other on its own address, port 9911, with the secret file.
func pairConfig(node, secretFile string) string {
	self, peer := "192.0.2.11", "192.0.2.12"
	if node == "lb2" {
		self, peer = peer, self
	}
	return LabConfig(node) + `
peer_api {
  bind        = "` + self + `:9911"
  peer        = "` + peer + `:9911"
  secret_file = "` + secretFile + `"
}
`
}

// TestPairCommands runs lbctl pair on the master: both nodes shown side by
// side, a drain applied on both, drift between the files reported, a
// reload of both in order that stops at a refused file, and a peer API that
// serves nobody without the secret.
func TestPairCommands(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")
	secret := filepath.Join(l.Dir(), "peer.secret")
	if err := os.WriteFile(secret, []byte("a shared secret of at least 32 bytes, for the pair\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lb1 := l.StartLBD("lb1", pairConfig("lb1", secret))
	lb2 := l.StartLBD("lb2", pairConfig("lb2", secret))
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 10*time.Second)
	lb2.WaitInstanceState(t, "VI_1", "BACKUP", 10*time.Second)

	out, err := lb1.Ctl("pair", "vip", "status")
	if err != nil {
		t.Fatalf("lbctl pair vip status: %v\n%s", err, out)
	}
	for _, want := range []string{"this node 192.0.2.11:9911", "MASTER", "peer 192.0.2.12:9911", "BACKUP", "no configuration drift"} {
		if !strings.Contains(out, want) {
			t.Fatalf("lbctl pair vip status lacks %q:\n%s", want, out)
		}
	}

	if out, err := lb1.Ctl("pair", "server", "state", "web/web1", "drain"); err != nil {
		t.Fatalf("lbctl pair server state: %v\n%s", err, out)
	}
	for _, d := range []*LBD{lb1, lb2} {
		if st := d.ServerState("web", "web1"); st != "DRAIN" {
			t.Fatalf("%s: web1 is %s after lbctl pair server state drain", d.Node, st)
		}
	}
	if out, _ := lb2.Ctl("pair", "backend", "status", "web"); strings.Count(out, "DRAIN") != 2 {
		t.Fatalf("lbctl pair backend status on lb2 does not show web1 drained on both:\n%s", out)
	}

	// Drift: lb2's file differs in a setting that is not its own.
	lb2.WriteConfig(strings.Replace(pairConfig("lb2", secret), `address = "192.0.2.22:80"`, "address = \"192.0.2.22:80\"\n    weight = 5", 1))
	if out, err := lb2.Ctl("reload"); err != nil {
		t.Fatalf("reload lb2: %v\n%s", err, out)
	}
	out, err = lb1.Ctl("pair", "drift")
	if err == nil || !strings.Contains(out, "Backends[web].Servers[web2].Weight: 1 here, 5 on the peer") {
		t.Fatalf("lbctl pair drift: %v\n%s", err, out)
	}

	// Reload both: the backup first; a file it refuses stops the master's.
	lb2.WriteConfig(pairConfig("lb2", secret) + "\nfrontend \"broken\" {\n}\n")
	lb1.WriteConfig(strings.Replace(pairConfig("lb1", secret), `address = "192.0.2.22:80"`, "address = \"192.0.2.22:80\"\n    weight = 3", 1))
	out, err = lb1.Ctl("pair", "reload")
	if err == nil || !strings.Contains(out, "peer 192.0.2.12:9911): reload REFUSED") || !strings.Contains(out, "the other node was not reloaded") {
		t.Fatalf("lbctl pair reload with a broken backup file: %v\n%s", err, out)
	}
	if w := lb1.Server(t, "web", "web2").Weight; w != 1 {
		t.Fatalf("the master reloaded (web2 weight %d) although the backup refused its file", w)
	}
	lb2.WriteConfig(strings.Replace(pairConfig("lb2", secret), `address = "192.0.2.22:80"`, "address = \"192.0.2.22:80\"\n    weight = 3", 1))
	out, err = lb1.Ctl("pair", "reload")
	if err != nil || strings.Count(out, "configuration applied") != 2 || strings.Index(out, "peer") > strings.Index(out, "this node") {
		t.Fatalf("lbctl pair reload: %v\n%s", err, out)
	}
	for _, d := range []*LBD{lb1, lb2} {
		if w := d.Server(t, "web", "web2").Weight; w != 3 {
			t.Fatalf("%s: web2 weight %d after lbctl pair reload", d.Node, w)
		}
	}
	if out, err := lb1.Ctl("pair", "drift"); err != nil || !strings.Contains(out, "no configuration drift") {
		t.Fatalf("drift after both reloads: %v\n%s", err, out)
	}

	// Nobody without the secret: a plain request, and a node with another
	// secret.
	c := l.HTTPClient("client", 5*time.Second)
	resp, err := c.Get("http://192.0.2.12:9911/v1/vips")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "VI_1") {
		t.Fatalf("an unsigned request got %d %q", resp.StatusCode, body)
	}
	other := filepath.Join(l.Dir(), "other.secret")
	if err := os.WriteFile(other, []byte("another secret, also at least 32 bytes long\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lb2.WriteConfig(strings.Replace(pairConfig("lb2", other), `address = "192.0.2.22:80"`, "address = \"192.0.2.22:80\"\n    weight = 3", 1))
	if out, err := lb2.Ctl("reload"); err != nil {
		t.Fatalf("reload lb2: %v\n%s", err, out)
	}
	out, err = lb1.Ctl("pair", "vip", "status")
	if err == nil || !strings.Contains(out, "unreachable") || !strings.Contains(out, "same secret_file") {
		t.Fatalf("lbctl pair vip status with different secrets: %v\n%s", err, out)
	}
}
