package desync

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// parallelCases bounds the cases run at once: each has its own origin and
// engine, and most of their time is waiting on loopback.
const parallelCases = 8

// runAll runs f for each case name on a bounded pool of goroutines, each
// case a subtest.
func runAll[C any](t *testing.T, cases []C, name func(C) string, f func(*testing.T, C)) {
	sem := make(chan struct{}, parallelCases)
	var wg sync.WaitGroup
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			c := c
			t.Run(name(c), func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				f(t, c)
			})
		}
	})
	wg.Wait()
}

func TestRequestCases(t *testing.T) {
	cases := requestCases()
	if len(cases) < 250 {
		t.Fatalf("only %d request-side cases", len(cases))
	}
	runAll(t, cases, func(c reqCase) string { return c.name }, runRequestCase)
}

func TestResponseCases(t *testing.T) {
	cases := responseCases()
	if len(cases) < 50 {
		t.Fatalf("only %d response-side cases", len(cases))
	}
	runAll(t, cases, func(c respCase) string { return c.name }, runResponseCase)
}

// TestReferenceAgreesWithTables: for every hand-written case, lbd's codec
// (through reference) expects what the table says, so the tables and the
// codec cannot drift apart unnoticed.
func TestReferenceAgreesWithTables(t *testing.T) {
	for _, c := range requestCases() {
		if len(c.msgs) == 1 && c.msgs[0].kind == either {
			continue
		}
		ref := reference([]byte(c.raw))
		if len(ref) != len(c.msgs) {
			t.Errorf("%s: reference expects %d messages, the table %d", c.name, len(ref), len(c.msgs))
			continue
		}
		for i, w := range c.msgs {
			r := ref[i]
			if r.kind != w.kind || (w.kind == refused && w.status != 0 && r.status != w.status) ||
				(w.kind == forwarded && (r.method != w.method || r.target != w.target || r.host != w.host || r.body != w.body)) {
				t.Errorf("%s: message %d: reference %+v, table %+v", c.name, i, r, w)
			}
		}
	}
}

func runRequestCase(t *testing.T, tc reqCase) { runRequestCaseOn(t, tc, NewRig) }

// runRequestCaseOn runs a request case on the rig newRig builds (rules.go
// runs every case again through an engine with rewrite rules).
func runRequestCaseOn(t *testing.T, tc reqCase, newRig func(testing.TB) *Rig) {
	r := newRig(t)
	msgs := tc.msgs
	if len(msgs) == 1 && msgs[0].kind == either {
		msgs = reference([]byte(tc.raw))
	}
	c := r.Dial(t)
	if err := c.Send([]byte(tc.raw)); err != nil {
		t.Fatal(err)
	}
	if tc.eof {
		c.CloseWrite()
	}
	var sent []want // forwarded, in order
	open := true
	for i, w := range msgs {
		if w.kind == cut {
			// The client stopped mid-message: an error response or a
			// close, and nothing whole at the origin.
			resp, err := c.Read("GET", 3*time.Second)
			if err == nil && resp.Status < 400 {
				t.Fatalf("message %d cut short, yet answered %d %q", i, resp.Status, resp.Body)
			}
			open = false
			break
		}
		method := w.method
		if method == "" {
			method = "GET"
		}
		resp, err := c.Read(method, 3*time.Second)
		if err != nil {
			t.Fatalf("message %d (%v): no response: %v\nsent %s", i, w.kind, err, oneLine([]byte(tc.raw)))
		}
		if w.kind == refused {
			if resp.Status < 400 || w.status != 0 && resp.Status != w.status {
				t.Fatalf("message %d: got %d %q, want refused with %d", i, resp.Status, resp.Body, w.status)
			}
			open = false
			break
		}
		if want := "origin:" + w.method + " " + w.target; resp.Status != 200 || string(resp.Body) != want {
			t.Fatalf("message %d: got %d %q, want 200 %q", i, resp.Status, resp.Body, want)
		}
		sent = append(sent, w)
		if resp.Close {
			open = false
			break
		}
	}
	canaries := []string{}
	if open && !tc.eof {
		if err := checkCanary(c, "1"); err != nil {
			t.Fatal(err)
		}
		canaries = append(canaries, "1")
	} else if !tc.eof {
		if closed, more := c.Closed(2 * time.Second); !closed {
			t.Fatalf("connection left open after its last response (more: %q)", more)
		}
	}
	if err := checkCanary(r.Dial(t), "2"); err != nil {
		t.Fatal(err)
	}
	canaries = append(canaries, "2")
	r.Origin.Settle()
	checkOrigin(t, r.Origin, sent, canaries, tc.eof)
}

// checkOrigin compares what the origin read with what was meant: the
// forwarded messages in order, then the canaries, nothing else, and no
// bytes it could not read (unless the client cut a message short: then
// an unfinished request on a closed connection is expected).
func checkOrigin(t *testing.T, o *Origin, sent []want, canaries []string, cutShort bool) {
	t.Helper()
	snap := o.Snapshot(0)
	if p := o.Pending(""); len(p) > 0 {
		t.Fatalf("origin holds unread bytes on an open connection: %v", p)
	}
	if len(snap.Problems) > 0 && !cutShort {
		t.Fatalf("origin could not read what it received: %v", snap.Problems)
	}
	got := snap.Requests
	if len(got) != len(sent)+len(canaries) {
		t.Fatalf("origin read %d requests, want %d forwarded + %d canaries:%s", len(got), len(sent), len(canaries), targets(got))
	}
	for i, w := range sent {
		g := got[i]
		if g.Method != w.method || g.Target != w.target || string(g.Body) != w.body {
			t.Fatalf("request %d at the origin: %s; want %s %s body=%q", i, g.describe(), w.method, w.target, w.body)
		}
		hosts := g.HostFields()
		if w.host == "" && len(hosts) != 0 || w.host != "" && (len(hosts) != 1 || hosts[0] != w.host) {
			t.Fatalf("request %d at the origin: Host fields %q, want %q", i, hosts, w.host)
		}
		for k, v := range w.trailers {
			if got := g.Trailer.Get(k); got != v || v == "" && len(g.Trailer.Values(k)) > 0 {
				t.Fatalf("request %d: trailer %s = %q, want %q (trailers %v)", i, k, got, v, g.Trailer)
			}
		}
		for _, f := range w.absent {
			if _, ok := g.Header[http.CanonicalHeaderKey(f)]; ok {
				t.Fatalf("request %d: field %s forwarded: %q", i, f, g.Raw)
			}
		}
		framing(t, i, g)
	}
	for j, name := range canaries {
		g := got[len(sent)+j]
		if g.Target != "/canary-"+name || len(g.Body) != 0 {
			t.Fatalf("canary %s arrived as %s", name, g.describe())
		}
	}
}

// framing checks that a forwarded request carries exactly one framing
// field, written by lbd: Content-Length or Transfer-Encoding: chunked.
func framing(t *testing.T, i int, g *Request) {
	t.Helper()
	head := g.Raw
	if k := bytes.Index(head, []byte("\r\n\r\n")); k >= 0 {
		head = head[:k]
	}
	var cl, te []string
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		name, v, _ := strings.Cut(line, ":")
		switch strings.ToLower(name) {
		case "content-length":
			cl = append(cl, strings.TrimSpace(v))
		case "transfer-encoding":
			te = append(te, strings.TrimSpace(v))
		}
	}
	if len(cl)+len(te) > 1 || len(te) == 1 && te[0] != "chunked" || len(cl) == 1 && cl[0] != fmt.Sprint(len(g.Body)) {
		t.Fatalf("request %d: framing Content-Length %q Transfer-Encoding %q for a %d-byte body", i, cl, te, len(g.Body))
	}
}

func runResponseCase(t *testing.T, tc respCase) { runResponseCaseOn(t, tc, NewRig) }

func runResponseCaseOn(t *testing.T, tc respCase, newRig func(testing.TB) *Rig) {
	r := newRig(t)
	r.Origin.Respond = func(req *Request) Reply {
		if req.Target != "/case" {
			return Reply{}
		}
		rp := Reply{Raw: []byte(tc.raw), Close: tc.close}
		if tc.late != "" {
			rp.Late = []byte(tc.late)
		}
		return rp
	}
	c := r.Dial(t)
	if err := c.Send([]byte(tc.request())); err != nil {
		t.Fatal(err)
	}
	method := tc.method
	if method == "" {
		method = "GET"
	}
	resp, err := c.Read(method, 3*time.Second)
	switch {
	case tc.reject || tc.either && err == nil && resp.Status == 502:
		if err != nil || resp.Status != 502 {
			t.Fatalf("got %v %v, want 502", statusOrErr(resp), err)
		}
	case tc.either && err != nil:
		// The client saw the response cut short: acceptable here.
	default:
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		if resp.Status != tc.status || string(resp.Body) != tc.body {
			t.Fatalf("got %d %q, want %d %q", resp.Status, resp.Body, tc.status, tc.body)
		}
		for _, f := range tc.absent {
			if _, ok := resp.Header[http.CanonicalHeaderKey(f)]; ok {
				t.Fatalf("field %s relayed", f)
			}
		}
	}
	if tc.late != "" {
		time.Sleep(lateWait + 100*time.Millisecond)
	}
	if err == nil && !resp.Close && resp.Status != 101 && resp.Status != 502 {
		if err := checkCanary(c, "1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"2", "3"} {
		if err := checkCanary(r.Dial(t), name); err != nil {
			t.Fatal(err)
		}
	}
}

func statusOrErr(r *Response) any {
	if r == nil {
		return "no response"
	}
	return r.Status
}
