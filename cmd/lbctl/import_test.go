package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbd/config"
)

// TestImport runs `lbctl import` as an operator does: its exit code says
// whether the conversion was complete (0), left directives out (3), gave
// a file lbd -c refuses or could not read an input (1), or was misused
// (2); the notes go to stderr, the HCL to stdout or -o.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	complete := write("complete.cfg", "defaults\n  mode http\nfrontend web\n  bind *:80\n  default_backend app\nbackend app\n  server a 192.0.2.21:80 check\n")
	partial := write("partial.cfg", "defaults\n  mode http\nfrontend web\n  bind *:80\n  option httpclose\n  default_backend app\nbackend app\n  server a 192.0.2.21:80 check\n")
	// HAProxy would refuse it too: the backend is not defined.
	broken := write("broken.cfg", "frontend web\n  bind *:80\n  default_backend nowhere\n")
	ka := write("keepalived.conf", "vrrp_script chk {\n  script \"killall -0 haproxy\"\n  weight -30\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n  track_script {\n    chk\n  }\n}\n")
	exists := write("exists.hcl", "# mine\n")

	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"complete", []string{"--haproxy", complete}, 0, `frontend "web" {`, "complete; the result passes lbd -c"},
		{"with leftovers", []string{"--haproxy", partial}, 3, `frontend "web" {`, partial + ":5: not converted: option httpclose"},
		{"result refused by lbd -c", []string{"--haproxy", broken}, 1, `default_backend = "nowhere"`, `unknown backend "nowhere"`},
		{"both files: the proxy check becomes track_backend", []string{"--haproxy", complete, "--keepalived", ka}, 0, `track_backend "app" {`, ka + ":1: replaced: vrrp_script chk"},
		{"keepalived alone: the proxy check needs the haproxy.cfg", []string{"--keepalived", ka}, 3, `vrrp_instance "VI_1" {`, "no haproxy.cfg was given"},
		{"missing input", []string{"--haproxy", filepath.Join(dir, "none.cfg")}, 1, "", "no such file"},
		{"a directory", []string{"--haproxy", dir}, 1, "", "is not a regular file"},
		{"no input", nil, 2, "", "give --haproxy FILE, --keepalived FILE, or both"},
		{"extra argument", []string{"--haproxy", complete, "more"}, 2, "", `unexpected argument "more"`},
		{"unknown option", []string{"--haproxi", complete}, 2, "", "flag provided but not defined: -haproxi"},
		{"existing output", []string{"--haproxy", complete, "-o", exists}, 1, "", "exists; add --force to replace it"},
		{"help", []string{"-h"}, 0, "Exit codes:", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"import"}, tc.args...), &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q:\nstdout:\n%s\nstderr:\n%s", tc.stdout, tc.stderr, out.String(), errb.String())
			}
		})
	}

	// -o writes the file (mode 0640), which lbd -c accepts; --force
	// replaces an existing one.
	var out, errb bytes.Buffer
	if code := run([]string{"import", "--haproxy", complete, "-o", exists, "--force"}, &out, &errb); code != 0 {
		t.Fatalf("-o --force: exit %d: %s", code, errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("-o also wrote to stdout: %q", out.String())
	}
	st, err := os.Stat(exists)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("output file: %v %v", st, err)
	}
	if _, err := config.Load(exists); err != nil {
		t.Errorf("the written file does not pass lbd -c: %v", err)
	}
}
