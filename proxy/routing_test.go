package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestForwardFor(t *testing.T) {
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s|%s|%d", r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"),
			r.Header.Get("X-Forwarded-Host"), len(r.Header.Values("X-Forwarded-For")))
	})
	src := strings.Replace(basicHTTP, `default_backend = "app"`, `default_backend = "app"
  forward_for = true
  trusted_proxies = [{{trusted}}]`, 1)
	fe := freePort(t)
	vars := map[string]string{"fe": fe, "s1": hostport(b), "trusted": ""}
	r := newRig(t, src, vars)
	spoof := map[string]string{"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil", "Host": "shop.example:8080"}
	if _, body := httpGet(t, "http://"+fe+"/", spoof); body != "127.0.0.1|http|shop.example:8080|1" {
		t.Fatalf("untrusted peer: %q", body)
	}
	vars["trusted"] = `"10.0.0.0/8", "127.0.0.0/8"`
	r.apply(src, vars)
	if _, body := httpGet(t, "http://"+fe+"/", spoof); body != "6.6.6.6, 127.0.0.1|https|evil|1" {
		t.Fatalf("trusted peer: %q", body)
	}
	// Several incoming fields are merged into one list.
	c := dialClient(t, fe)
	c.send(t, "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n\r\n")
	if _, body := c.read(t, "GET"); body != "1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1|http|h|1" {
		t.Fatalf("merged: %q", body)
	}
}

const routesHTTP = `
frontend "web" {
  bind = ["{{fe}}"]
  {{default}}
  route "api" {
    host = ["api.example.com"]
    backend = "api"
  }
  route "static" {
    path_prefix = ["/static/", "/img/"]
    backend = "static"
  }
  route "admin" {
    host = ["www.example.com"]
    path_prefix = ["/admin"]
    backend = "api"
  }
  error_file {
    status = 503
    path = "{{errfile}}"
  }
}
backend "web" {
  server "w" {
    address = "{{web}}"
    check = false
  }
}
backend "api" {
  server "a" {
    address = "{{api}}"
    check = false
  }
}
backend "static" {
  server "s" {
    address = "{{static}}"
    check = false
  }
}
`

func TestRoutesAndErrorFile(t *testing.T) {
	web := hostport(backendServer(t, "web", nil))
	api := hostport(backendServer(t, "api", nil))
	static := hostport(backendServer(t, "static", nil))
	errfile := t.TempDir() + "/503.http"
	os.WriteFile(errfile, []byte("HTTP/1.1 503 Service Unavailable\nContent-Type: text/plain\nContent-Length: 14\n\nplease hold on"), 0o644)
	fe := freePort(t)
	vars := map[string]string{"fe": fe, "web": web, "api": api, "static": static, "errfile": errfile, "default": `default_backend = "web"`}
	r := newRig(t, routesHTTP, vars)
	tests := []struct{ host, path, want string }{
		{"api.example.com", "/anything", "api"},
		{"API.Example.com:8080", "/x", "api"},
		{"www.example.com", "/static/a.css", "static"},
		{"other", "/img/x.png", "static"},
		{"www.example.com", "/admin/users", "api"},
		{"other.example.com", "/admin/users", "web"},
		{"www.example.com", "/", "web"},
	}
	for _, tc := range tests {
		_, body := httpGet(t, "http://"+fe+tc.path, map[string]string{"Host": tc.host})
		if body != "hello from "+tc.want+"\n" {
			t.Errorf("%s%s: got %q, want %s", tc.host, tc.path, body, tc.want)
		}
	}
	// Absolute-form targets route on their own authority.
	c := dialClient(t, fe)
	c.send(t, "GET http://api.example.com/v1 HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	if _, body := c.read(t, "GET"); body != "hello from api\n" {
		t.Fatalf("absolute form: %q", body)
	}
	// Without default_backend, what no route matches gets 503: here the
	// frontend's error_file.
	vars["default"] = ""
	r.apply(routesHTTP, vars)
	resp, body := httpGet(t, "http://"+fe+"/", map[string]string{"Host": "nowhere"})
	if resp.StatusCode != 503 || body != "please hold on" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestWebSocketUpgradeTunnel(t *testing.T) {
	srv := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Header.Get("Upgrade") != "echo" || !strings.EqualFold(req.Header.Get("Connection"), "upgrade") {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nwelcome\n")
		io.Copy(c, br) // echo until the client half-closes
	})
	fe := freePort(t)
	r := newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": srv})
	c := dialClient(t, fe)
	c.send(t, "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "echo" {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	line, _ := c.br.ReadString('\n')
	if line != "welcome\n" {
		t.Fatalf("server's first bytes: %q", line)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("ping %d\n", i)
		c.send(t, msg)
		if got, _ := c.br.ReadString('\n'); got != msg {
			t.Fatalf("echo %q", got)
		}
	}
	c.c.(*net.TCPConn).CloseWrite()
	if rest, _ := io.ReadAll(c.br); len(rest) != 0 {
		t.Fatalf("after close: %q", rest)
	}
	r.logs.waitFor(t, `"status":101`, `"termination_state":"--"`)
}

func TestChunkedStreamingBothWays(t *testing.T) {
	step := make(chan struct{})
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
			return
		}
		fl := w.(http.Flusher)
		io.WriteString(w, "first;")
		fl.Flush()
		<-step // the client must see "first;" before the rest exists
		io.WriteString(w, "second")
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})

	c := dialClient(t, fe)
	c.send(t, "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("%v %v", resp, err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("first chunk: %q %v", buf, err)
	}
	close(step)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second" {
		t.Fatalf("rest %q", rest)
	}

	// A chunked upload sent in pieces, then a Content-Length one, on the
	// same connection.
	payload := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB
	sum := sha256.Sum256(payload)
	want := fmt.Sprintf("%d %x", len(payload), sum)
	c.send(t, "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
	for off := 0; off < len(payload); off += 100000 {
		end := min(off+100000, len(payload))
		c.send(t, fmt.Sprintf("%x;ext\r\n%s\r\n", end-off, payload[off:end]))
	}
	c.send(t, "0\r\nX-Trailer: 1\r\n\r\n")
	if _, body := c.read(t, "POST"); body != want {
		t.Fatalf("chunked upload: %q", body)
	}
	c.send(t, fmt.Sprintf("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload))
	if _, body := c.read(t, "POST"); body != want {
		t.Fatalf("length upload: %q", body)
	}
}

func TestLargeResponseAndHTTP10Client(t *testing.T) {
	payload := bytes.Repeat([]byte("lbd "), 1<<20) // 4 MB
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // forces chunked
		} else {
			w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		}
		w.Write(payload)
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	for _, path := range []string{"/length", "/chunked"} {
		_, body := httpGet(t, "http://"+fe+path, nil)
		if body != string(payload) {
			t.Fatalf("%s: %d bytes", path, len(body))
		}
	}
	// An HTTP/1.0 client cannot read chunked: it gets the bytes and a close.
	got := rawRequest(t, fe, "GET /chunked HTTP/1.0\r\n\r\n", 10*time.Second)
	head, body, _ := strings.Cut(got, "\r\n\r\n")
	if strings.Contains(strings.ToLower(head), "transfer-encoding") || body != string(payload) {
		t.Fatalf("1.0 client: head %q, %d body bytes", head, len(body))
	}
	// An HTTP/1.0 keep-alive client keeps its connection with a length.
	c := dialClient(t, fe)
	for i := 0; i < 2; i++ {
		c.send(t, "GET /length HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		resp, body := c.read(t, "GET")
		if resp.Close || body != string(payload) {
			t.Fatalf("1.0 keep-alive #%d: close=%v %d bytes", i, resp.Close, len(body))
		}
	}
}
