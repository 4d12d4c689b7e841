package peerapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func server(t *testing.T, sec []byte) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
	})
	s := httptest.NewServer(Handler(sec, h))
	t.Cleanup(s.Close)
	return s
}

func TestSignedRoundTrip(t *testing.T) {
	s := server(t, secret)
	c := NewClient(strings.TrimPrefix(s.URL, "http://"), secret, 5*time.Second)
	status, body, err := c.Do("POST", "/v1/servers/web/s1/state", []byte(`{"state":"drain"}`))
	if err != nil || status != 200 || string(body) != `POST /v1/servers/web/s1/state {"state":"drain"}` {
		t.Fatalf("%d %q %v", status, body, err)
	}
}

func TestRefused(t *testing.T) {
	s := server(t, secret)
	addr := strings.TrimPrefix(s.URL, "http://")
	// Another secret: the server refuses, and says so.
	other := NewClient(addr, []byte("another secret another secret 12"), 5*time.Second)
	if status, _, err := other.Do("GET", "/v1/vips", nil); status != 401 || err == nil {
		t.Fatalf("wrong secret: %d %v", status, err)
	}
	sign := func(method, path, ts, nonce, body string) *http.Request {
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set(HeaderTime, ts)
		req.Header.Set(HeaderNonce, nonce)
		req.Header.Set(HeaderSignature, requestMAC(secret, method, path, ts, nonce, []byte(body)))
		return req
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := strings.Repeat("ab", 16)
	cases := []struct {
		name string
		req  *http.Request
	}{
		{"unsigned", func() *http.Request { r, _ := http.NewRequest("GET", s.URL+"/v1/vips", nil); return r }()},
		{"old", sign("GET", "/v1/vips", strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10), strings.Repeat("cd", 16), "")},
		{"future", sign("GET", "/v1/vips", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10), strings.Repeat("ce", 16), "")},
		{"short nonce", sign("GET", "/v1/vips", now, "abc", "")},
		{"other path", func() *http.Request {
			r := sign("GET", "/v1/vips", now, strings.Repeat("cf", 16), "")
			r.URL.Path = "/v1/reload"
			return r
		}()},
		{"other body", func() *http.Request {
			r := sign("POST", "/v1/reload", now, strings.Repeat("d0", 16), "a")
			r.Body = io.NopCloser(strings.NewReader("b"))
			return r
		}()},
	}
	for _, c := range cases {
		resp, err := http.DefaultClient.Do(c.req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s: %d", c.name, resp.StatusCode)
		}
	}
	// A replay of an accepted request is refused.
	for i, want := range []int{200, 401} {
		resp, err := http.DefaultClient.Do(sign("GET", "/v1/vips", now, nonce, ""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("send %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
}

// TestForgedAnswer: an answer not signed by the peer is refused by the
// client (a machine in between cannot make a node say anything).
func TestForgedAnswer(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderSignature, strings.Repeat("0", 64))
		io.WriteString(w, `[{"name":"VI_1","state":"MASTER"}]`)
	}))
	defer s.Close()
	c := NewClient(strings.TrimPrefix(s.URL, "http://"), secret, 5*time.Second)
	if _, _, err := c.Do("GET", "/v1/vips", nil); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("a forged answer was accepted: %v", err)
	}
}
