package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageAndLocalCommands(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.hcl")
	bad := filepath.Join(dir, "bad.hcl")
	os.WriteFile(good, []byte("backend \"b\" {}\n"), 0o644)
	os.WriteFile(bad, []byte("backend \"b\" {\n  retries = -1\n}\n"), 0o644)
	nosock := []string{"--socket", filepath.Join(dir, "none.sock")}
	cases := []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"no command", nil, 2, "a command is required"},
		{"help", []string{"--help"}, 0, "usage: lbctl"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown option", []string{"--jsn", "vip", "status"}, 2, "unknown option --jsn"},
		{"socket without path", []string{"vip", "status", "--socket"}, 2, "--socket needs a path"},
		{"vip release without name", []string{"vip", "release"}, 2, "usage: lbctl vip release NAME"},
		{"server without slash", []string{"server", "state", "web", "drain"}, 2, `"web": expected BACKEND/SERVER`},
		{"server bad state", []string{"server", "state", "web/a", "sleep"}, 2, `state "sleep": expected ready, drain or maint`},
		{"server bad weight", []string{"server", "weight", "web/a", "300"}, 2, `weight "300": expected a whole number 0..256`},
		{"server weight not a number", []string{"server", "weight", "web/a", "1x"}, 2, `weight "1x"`},
		{"check valid", []string{"check", good}, 0, "configuration is valid"},
		{"check invalid", []string{"check", bad}, 1, bad + ":2:13: retries: -1 is out of range 0..100"},
		{"empty socket path", []string{"--socket=", "vip", "status"}, 2, "--socket needs a path"},
		{"negative weight is a word", []string{"server", "weight", "web/a", "-1"}, 2, `weight "-1": expected a whole number 0..256`},
		{"help as a name is a word", append(nosock, "vip", "release", "help"), 1, "lbd is not running"},
		{"-- ends the options", append(nosock, "--", "server", "state", "-x/a", "drain"), 1, "lbd is not running"},
		{"state in capitals", append(nosock, "server", "state", "web/a", "DRAIN"), 1, "lbd is not running"},
		{"no daemon", append(nosock, "vip", "status"), 1, "lbd is not running: no admin socket at"},
		{"socket path is a file", []string{"--socket", good, "vip", "status"}, 1, good + " is not a socket"},
		{"no daemon json after command", append([]string{"backend", "status", "--json"}, nosock...), 1, "lbd is not running"},
		{"bgp without a command", []string{"bgp"}, 2, "usage: lbctl bgp status|drain|undrain"},
		{"bgp unknown command", []string{"bgp", "pause"}, 2, `unknown bgp command "pause"`},
		{"bgp drain with a name", []string{"bgp", "drain", "web"}, 2, "usage: lbctl bgp status|drain|undrain"},
		{"bgp no daemon", append(nosock, "bgp", "drain"), 1, "lbd is not running"},
		{"table clear without a name", []string{"table", "clear"}, 2, "usage: lbctl table list | show [NAME] [--key KEY] | clear NAME [--key KEY]"},
		{"table --key without a value", []string{"table", "show", "web", "--key"}, 2, "usage: lbctl table"},
		{"table show with a key", append(nosock, "table", "show", "web", "--key", "-weird-key"), 1, "lbd is not running"},
		{"table clear with key=", append(nosock, "table", "clear", "web", "--key=192.0.2.1"), 1, "lbd is not running"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			all := out.String() + errb.String()
			if code != 0 && out.Len() > 0 {
				t.Errorf("exit %d with output on stdout (errors go to stderr):\n%s", code, out.String())
			}
			if code != tc.code || !strings.Contains(all, tc.output) {
				t.Errorf("exit %d (want %d), output:\n%s\nwant it to contain %q", code, tc.code, all, tc.output)
			}
		})
	}
}
