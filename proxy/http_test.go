package proxy

import (
	"strings"
	"testing"
	"time"
)

func TestHTTPBasicGet(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	r := newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	resp, body := httpGet(t, "http://"+fe+"/x", nil)
	if resp.StatusCode != 200 || body != "hello from s1\n" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	l := r.logs.waitFor(t, `"component":"access"`, `"status":200`)
	for _, want := range []string{`"backend":"app"`, `"server":"s1"`, `"termination_state":"--"`, `"request":"GET /x HTTP/1.1"`} {
		if !strings.Contains(l, want) {
			t.Errorf("log line lacks %s: %s", want, l)
		}
	}
}

func TestHTTPKeepAlivePipelining(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	c := dialClient(t, fe)
	c.send(t, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /3 HTTP/1.1\r\nHost: a\r\n\r\n")
	for i, m := range []string{"GET", "GET", "HEAD"} {
		resp, body := c.read(t, m)
		if resp.StatusCode != 200 {
			t.Fatalf("#%d: %d", i, resp.StatusCode)
		}
		if m == "GET" && body != "hello from s1\n" {
			t.Fatalf("#%d body %q", i, body)
		}
	}
	_ = time.Second
}
