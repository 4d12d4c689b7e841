package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// diagCase is a whole file and the diagnostics it must produce, as
// "LINE:COL: text" (a prefix of each message, warnings with "warning: ");
// none means valid without warnings.
type diagCase struct {
	name string
	src  string
	want []string
}

func runDiagCases(t *testing.T, cases []diagCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lbd.hcl")
			cfg, err := Parse(path, []byte(tc.src))
			var diags Diagnostics
			if err != nil && !errors.As(err, &diags) {
				t.Fatalf("want diagnostics, got %v", err)
			}
			if err == nil {
				diags = cfg.Warnings
			}
			if len(diags) != len(tc.want) {
				t.Fatalf("want %d diagnostics, got %d:\n%v", len(tc.want), len(diags), diags)
			}
			for i, w := range tc.want {
				if got := diags[i].String(); !strings.HasPrefix(got, path+":"+w) {
					t.Errorf("diagnostic %d:\n got  %s\n want %s:%s", i, got, path, w)
				}
			}
		})
	}
}
