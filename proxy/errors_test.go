package proxy

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"lbd/config"
)

// TestErrorPagesCoverErrorStatuses: every status an error_file may replace
// (config.ErrorStatuses, what lbd answers with itself) has a built-in page
// of its own, and an error_file replaces exactly its status.
func TestErrorPagesCoverErrorStatuses(t *testing.T) {
	custom := []byte("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy")
	p := errorPages{503: custom}
	for _, st := range config.ErrorStatuses {
		b, ok := builtinErrors[st]
		if !ok {
			t.Errorf("no built-in page for %d", st)
			continue
		}
		if !bytes.HasPrefix(b, []byte("HTTP/1.1 "+strconv.Itoa(st)+" ")) {
			t.Errorf("built-in page for %d starts %q", st, b[:20])
		}
		want := b
		if st == 503 {
			want = custom
		}
		if got := p.page(st); !bytes.Equal(got, want) {
			t.Errorf("page(%d) = %q", st, got[:20])
		}
	}
}

// TestErrorFileForRules: the statuses rules answer with (deny's 403 or
// the status it names, HAProxy's errorfile list) take the frontend's
// error_file, as HAProxy's errorfile does for http-request deny.
func TestErrorFileForRules(t *testing.T) {
	srv := hostport(backendServer(t, "s1", nil))
	dir := t.TempDir()
	for st, body := range map[int]string{403: "go away", 404: "not here"} {
		page := fmt.Sprintf("HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", st, len(body), body)
		os.WriteFile(fmt.Sprintf("%s/%d.http", dir, st), []byte(page), 0o644)
	}
	src := strings.Replace(basicHTTP, `default_backend = "app"`, `default_backend = "app"
  acl "secret" {
    path_beg = ["/secret"]
  }
  acl "gone" {
    path_beg = ["/gone"]
  }
  http_request "deny" {
    if = "secret"
  }
  http_request "deny" {
    if     = "gone"
    status = 404
  }
  error_file {
    status = 403
    path   = "{{dir}}/403.http"
  }
  error_file {
    status = 404
    path   = "{{dir}}/404.http"
  }`, 1)
	fe := freePort(t)
	newRig(t, src, map[string]string{"fe": fe, "s1": srv, "dir": dir})
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{{"/secret/x", 403, "go away"}, {"/gone", 404, "not here"}, {"/", 200, "hello from s1\n"}} {
		resp, body := httpGet(t, "http://"+fe+c.path, nil)
		if resp.StatusCode != c.status || body != c.body {
			t.Errorf("%s: %d %q, want %d %q", c.path, resp.StatusCode, body, c.status, c.body)
		}
	}
}
