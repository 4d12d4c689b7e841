package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEExamples keeps the documentation true: every ```hcl example of
// the READMEs parses and validates. Examples are excerpts, so a "..." line
// is dropped, and diagnostics are allowed for a backend named but defined
// elsewhere and for files that exist on the appliance only (error files,
// certificates, CA files, secret files).
// Anything else (a renamed attribute, a value the validation refuses) fails.
func TestREADMEExamples(t *testing.T) {
	excerpt := regexp.MustCompile(`unknown backend "|cannot read error file|cannot read certificate|ca_file: open |secret_file: open |file: open /etc/lbd/`)
	n := 0
	for _, doc := range []string{"../README.md", "../deploy/README.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, ex := range hclBlocks(string(raw)) {
			n++
			_, err := Parse(filepath.Join(t.TempDir(), "example.hcl"), []byte(ex.text))
			if err == nil {
				continue
			}
			var diags Diagnostics
			if !errors.As(err, &diags) {
				t.Errorf("%s example %d (line %d): %v", doc, i+1, ex.line, err)
				continue
			}
			for _, d := range diags {
				if !excerpt.MatchString(d.String()) {
					t.Errorf("%s example %d (line %d): %s", doc, i+1, ex.line, d)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no hcl example found: the fence syntax changed?")
	}
}

type example struct {
	line int // of the opening fence
	text string
}

// hclBlocks returns the ```hcl fenced blocks of a Markdown text.
func hclBlocks(md string) []example {
	var out []example
	var cur *strings.Builder
	start := 0
	for i, l := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(l) == "```hcl":
			cur, start = &strings.Builder{}, i+1
		case cur != nil && strings.TrimSpace(l) == "```":
			out = append(out, example{start, cur.String()})
			cur = nil
		case cur != nil && strings.TrimSpace(l) != "...":
			cur.WriteString(l + "\n")
		}
	}
	return out
}
