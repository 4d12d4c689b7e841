package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDrift: the two nodes' files of the lab differ only in state and
// priority, and show no drift; any other difference shows, with a secret's
// value hidden.
func TestDrift(t *testing.T) {
	tmpl, err := os.ReadFile(filepath.Join("..", "deploy", "lab", "lab.hcl.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	node := func(state, prio string, edit func(string) string) map[string]string {
		src := strings.NewReplacer("@STATE@", state, "@PRIORITY@", prio).Replace(string(tmpl))
		if edit != nil {
			src = edit(src)
		}
		cfg, err := Parse("lab.hcl", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		fp, err := cfg.Fingerprint()
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	a := node("MASTER", "150", nil)
	if d := Drift(a, node("BACKUP", "100", nil)); len(d) != 0 {
		t.Fatalf("the lab pair drifts: %v", d)
	}
	if len(a) < 50 {
		t.Fatalf("only %d settings in the fingerprint: %v", len(a), a)
	}
	d := Drift(a, node("BACKUP", "100", func(s string) string {
		s = strings.Replace(s, `password = "lab"`, `password = "other"`, 1)
		return strings.Replace(s, `address = "192.0.2.22:80"`, `address = "192.0.2.23:80"`, 1)
	}))
	got := strings.Join(d, "\n")
	if len(d) != 2 || !strings.Contains(got, "Backends[web].Servers[web2].Address") || !strings.Contains(got, "Stats.Auth.Password: sha256:") ||
		strings.Contains(got, "other") {
		t.Fatalf("drift:\n%s", got)
	}
}
