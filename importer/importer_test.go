package importer

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbd/config"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// scriptsFS reads the check scripts the seed articles show, as if they
// were installed at their paths.
func scriptsFS(path string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata/seeds/scripts", filepath.Clean("/"+path)))
}

func source(t *testing.T, path string) *Source {
	t.Helper()
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return &Source{Name: filepath.Base(path), Data: b}
}

// validate parses the output with lbd's config package, as lbd -c does.
// The error files HAProxy's Debian package installs in
// /etc/haproxy/errors are read from the copies in testdata/errors.
func validate(t *testing.T, name string, hcl []byte) {
	t.Helper()
	dir, err := filepath.Abs("testdata/errors")
	if err != nil {
		t.Fatal(err)
	}
	src := bytes.ReplaceAll(hcl, []byte(`"/etc/haproxy/errors/`), []byte(`"`+dir+`/`))
	src = withTestCerts(t, src) // tls_test.go
	// Map and pattern files of the traffic policy's rows.
	src = bytes.ReplaceAll(src, []byte(`"/etc/haproxy/`), []byte(`"`+filepath.Join(dir, "../policy")+`/`))
	// The peers block's secret (haproxy_stick.go).
	src = bytes.ReplaceAll(src, []byte(`"`+peersSecret+`"`), []byte(`"`+filepath.Join(dir, "../policy/peers.key")+`"`))
	if _, err := config.Parse(name+".hcl", src); err != nil {
		t.Errorf("%s: the output does not pass lbd -c:\n%v\n--- output:\n%s", name, err, numbered(hcl))
	}
}

func numbered(b []byte) string {
	var out strings.Builder
	for i, l := range strings.Split(string(b), "\n") {
		fmt.Fprintf(&out, "%4d  %s\n", i+1, l)
	}
	return out.String()
}

// golden compares got with testdata/golden/name (or writes it with
// -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata/golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./importer -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./importer -update rewrites it; review the diff):\n--- got:\n%s", path, got)
	}
}

func notesText(ns []Note) []byte {
	var b bytes.Buffer
	for _, n := range ns {
		b.WriteString(n.String() + "\n")
	}
	return b.Bytes()
}

// convertFiles converts, checks determinism and validates the output.
func convertFiles(t *testing.T, name, haproxy, keepalived string) *Result {
	t.Helper()
	opts := Options{HAProxy: source(t, haproxy), Keepalived: source(t, keepalived), ReadFile: scriptsFS}
	r, err := Convert(opts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Convert(opts)
	if err != nil || !bytes.Equal(r.HCL, again.HCL) || !bytes.Equal(notesText(r.Notes), notesText(again.Notes)) {
		t.Errorf("%s: two conversions of the same files differ", name)
	}
	validate(t, name, r.HCL)
	golden(t, name+".hcl", r.HCL)
	golden(t, name+".notes", notesText(r.Notes))
	return r
}

// TestSeeds converts the configurations of every seed article (see
// testdata/seeds/README.md) and checks which convert completely: the
// others' leftovers are in testdata/golden/*.notes, reviewed with the
// golden files.
func TestSeeds(t *testing.T) {
	dir := "testdata/seeds/"
	for _, tc := range []struct {
		name                string
		haproxy, keepalived string
		complete            bool
	}{
		{"000", "000-haproxy.cfg", "", false},
		{"001", "001-haproxy.cfg", "001-keepalived.conf", false},
		{"002", "002-haproxy.cfg", "002-keepalived-master.conf", true},
		{"002-backup", "002-haproxy.cfg", "002-keepalived-backup.conf", true},
		{"002-insert", "002-insert-haproxy.cfg", "002-keepalived-master.conf", true},
		{"002-prefix", "002-prefix-haproxy.cfg", "002-keepalived-master.conf", true},
		{"003", "003-haproxy.cfg", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hp, ka := "", ""
			if tc.haproxy != "" {
				hp = dir + tc.haproxy
			}
			if tc.keepalived != "" {
				ka = dir + tc.keepalived
			}
			r := convertFiles(t, "seed-"+tc.name, hp, ka)
			if r.Complete() != tc.complete {
				t.Errorf("complete = %v, want %v; notes:\n%s", r.Complete(), tc.complete, notesText(r.Notes))
			}
		})
	}
}

// TestDebianExamples converts the example files Debian's haproxy and
// keepalived packages ship (copied in testdata/debian): each output passes
// lbd -c, whatever is left over.
func TestDebianExamples(t *testing.T) {
	for _, kind := range []string{"haproxy", "keepalived"} {
		files, err := filepath.Glob("testdata/debian/" + kind + "/*")
		if err != nil || len(files) == 0 {
			t.Fatalf("no Debian examples in testdata/debian/%s: %v", kind, err)
		}
		for _, f := range files {
			name := "debian-" + filepath.Base(f)
			t.Run(name, func(t *testing.T) {
				if kind == "haproxy" {
					convertFiles(t, name, f, "")
				} else {
					convertFiles(t, name, "", f)
				}
			})
		}
	}
}
