package rules

import (
	"regexp"
	"testing"
)

// TestFastRegexp: the literal fast path answers as the regexp does, and
// is taken only for what it can answer.
func TestFastRegexp(t *testing.T) {
	subjects := []string{"", "Googlebot/2.1", "GOOGLEBOT", "curl/8", "my crawler", "spiderman", "bo", "xBoTx", "ünïcode bot"}
	for _, tc := range []struct {
		re   string
		fast bool
	}{
		{"bot", true}, {"(?i)bot", true}, {"(?i)(bot|crawler|spider)", true}, {"bot|Crawler", true},
		{"(?i)(curl|wget)", true}, {"^bot", false}, {"bot$", false}, {"b.t", false}, {"(?i)bot|crawler", true},
		{"(abc|abd)", false}, {"ü", false}, {"", false},
	} {
		re := regexp.MustCompile(tc.re)
		f := newFastRegexp(re)
		if (f.lits != nil) != tc.fast {
			t.Errorf("%q: fast path %v, want %v", tc.re, f.lits != nil, tc.fast)
		}
		for _, s := range subjects {
			if got, want := f.Match([]byte(s)), re.MatchString(s); got != want {
				t.Errorf("%q on %q: %v, regexp says %v", tc.re, s, got, want)
			}
		}
	}
}
