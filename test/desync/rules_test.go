package desync

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbd/config"
	"lbd/proxy"
)

// Rules that rewrite heads must not open a desync: every request and
// response case runs again through an engine whose frontend rewrites
// every message (a header set from a map keyed by a request header, one
// from a request header, a header removed, values replaced, one added,
// response headers set and removed), with the same expected outcomes.
// Framing stays the parse's, the origin still reads exactly the messages
// meant, and the next messages arrive intact.

const policyRigConfig = `
defaults {
  mode = "http"
  timeouts {
    connect         = "1s"
    client          = "2s"
    server          = "2s"
    http_request    = "2s"
    http_keep_alive = "2s"
  }
}
map "tags" {
  file = "%[3]s"
}
frontend "fe" {
  bind            = ["%[1]s"]
  default_backend = "be"
  forward_for     = true
  acl "tagged" {
    hdr "X-Tag-Key" {
      found = true
    }
  }
  http_request "set_header" {
    if    = "tagged"
    name  = "X-Tag"
    value = "%%[req.hdr(x-tag-key),map(tags,untagged)]"
  }
  http_request "set_header" {
    name  = "X-Echo"
    value = "[%%[req.hdr(x-in)]]"
  }
  http_request "del_header" {
    name = "X-Secret"
  }
  http_request "replace_value" {
    name    = "X-List"
    regex   = "^a(.*)$"
    replace = "A\\1"
  }
  http_request "add_header" {
    name  = "X-Added"
    value = "1"
  }
  http_response "set_header" {
    name  = "X-Frame-Options"
    value = "DENY"
  }
  http_response "del_header" {
    name = "X-Powered-By"
  }
}
backend "be" {
  retries = 0
  server "origin" {
    address = "%[2]s"
    check   = false
  }
}
`

// newPolicyRig is NewRig with the rewriting frontend.
func newPolicyRig(t testing.TB) *Rig {
	t.Helper()
	o := StartOrigin(t)
	mapFile := filepath.Join(t.TempDir(), "tags.map")
	if err := os.WriteFile(mapFile, []byte("k1 one\nk2 two words\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var addr string
	var err error
	for try := 0; try < 5; try++ {
		addr = freeAddr(t)
		var e *proxy.Engine
		if e, err = startEngine(t, fmt.Sprintf(policyRigConfig, addr, o.Addr, mapFile)); err == nil {
			return &Rig{Addr: addr, Origin: o, e: e}
		}
	}
	t.Fatal(err)
	return nil
}

func TestRequestCasesWithRules(t *testing.T) {
	cases := requestCases()
	for i := range cases {
		if cases[i].name == "100 fields" {
			// The rules add fields past h1.MaxFields: the rewrite fails,
			// and as HAProxy in strict-mode lbd answers 500 rather than
			// forward a request without them. Refused is not a desync.
			cases[i].msgs = []want{rej(500)}
		}
	}
	runAll(t, cases, func(c reqCase) string { return c.name }, func(t *testing.T, c reqCase) {
		runRequestCaseOn(t, c, newPolicyRig)
	})
}

func TestResponseCasesWithRules(t *testing.T) {
	runAll(t, responseCases(), func(c respCase) string { return c.name }, func(t *testing.T, c respCase) {
		runResponseCaseOn(t, c, newPolicyRig)
	})
}

// TestRuleRewrites: what the rules write arrives as exactly the fields
// meant, one line each, and a value that cannot be carried changes
// nothing; the next request on the connection is intact.
func TestRuleRewrites(t *testing.T) {
	tests := []struct {
		name  string
		hdrs  string
		want  map[string][]string // field -> values at the origin
		check func(t *testing.T, g *Request)
	}{
		{"map value", "X-Tag-Key: k2\r\n", map[string][]string{"X-Tag": {"two words"}, "X-Added": {"1"}}, nil},
		{"map default", "X-Tag-Key: k9\r\n", map[string][]string{"X-Tag": {"untagged"}}, nil},
		{"client's X-Tag replaced", "X-Tag-Key: k1\r\nX-Tag: forged\r\nX-Tag: forged2\r\n", map[string][]string{"X-Tag": {"one"}}, nil},
		{"echo of a request value", "X-In: a:b c\r\n", map[string][]string{"X-Echo": {"[a:b c]"}}, nil},
		{"echo of a missing value", "", map[string][]string{"X-Echo": {"[]"}}, nil},
		{"removed", "X-Secret: 1\r\nX-Secret: 2\r\n", map[string][]string{"X-Secret": nil}, nil},
		{"replaced values", "X-List: abc, b, a\r\n", map[string][]string{"X-List": {"Abc,b,A"}}, nil},
		{"Content-Length not duplicated", "Content-Length: 0\r\n", nil, func(t *testing.T, g *Request) {
			if n := strings.Count(strings.ToLower(string(g.Raw)), "content-length:"); n > 1 {
				t.Errorf("%d Content-Length fields", n)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newPolicyRig(t)
			c := r.Dial(t)
			if err := c.Send([]byte("GET /x HTTP/1.1\r\nHost: h.example\r\n" + tc.hdrs + "\r\n")); err != nil {
				t.Fatal(err)
			}
			resp, err := c.Read("GET", 3*time.Second)
			if err != nil || resp.Status != 200 {
				t.Fatalf("%v %v", statusOrErr(resp), err)
			}
			if resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("response rule: %v", resp.Header)
			}
			if err := checkCanary(c, "1"); err != nil {
				t.Fatal(err)
			}
			r.Origin.Settle()
			got := r.Origin.Snapshot(0).Requests
			if len(got) != 2 {
				t.Fatalf("origin read %d requests:%s", len(got), targets(got))
			}
			g := got[0]
			for name, want := range tc.want {
				vals := g.Header.Values(name)
				if fmt.Sprint(vals) != fmt.Sprint(want) && !(len(want) == 0 && len(vals) == 0) {
					t.Errorf("%s: %q, want %q", name, vals, want)
				}
			}
			framing(t, 0, g)
			if tc.check != nil {
				tc.check(t, g)
			}
		})
	}
}

// TestRulesCannotTouchFraming: a rule naming a framing or hop-by-hop
// field is refused when the configuration is loaded, with its position.
func TestRulesCannotTouchFraming(t *testing.T) {
	for _, tc := range []struct{ action, name string }{
		{"del_header", "Content-Length"}, {"set_header", "Transfer-Encoding"}, {"add_header", "content-length"},
		{"replace_header", "Transfer-Encoding"}, {"set_header", "Connection"}, {"del_header", "TE"},
		{"add_header", "Host"}, {"del_header", "host"},
	} {
		extra := ""
		switch tc.action {
		case "set_header", "add_header":
			extra = "\n    value = \"x\""
		case "replace_header":
			extra = "\n    regex = \"a\"\n    replace = \"b\""
		}
		src := fmt.Sprintf("frontend \"fe\" {\n  bind = [\"127.0.0.1:1\"]\n  default_backend = \"be\"\n  http_request %q {\n    name = %q%s\n  }\n}\nbackend \"be\" {\n  server \"s\" { address = \"127.0.0.1:2\" }\n}\n", tc.action, tc.name, extra)
		_, err := config.Parse("rules.hcl", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "rules.hcl:5:12: name: ") {
			t.Errorf("%s %s: %v", tc.action, tc.name, err)
		}
	}
}
