package desync

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"lbd/test/freeport"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/health"
	"lbd/proxy"
)

// Rig is a proxy engine on loopback in front of a recording origin.
type Rig struct {
	Addr   string // the frontend
	Origin *Origin
	e      *proxy.Engine
}

// rigConfig: one http frontend, one backend whose only server is the
// origin, short timeouts so that a case that leaves a message unfinished
// ends quickly.
const rigConfig = `
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
frontend "fe" {
  bind            = ["%s"]
  default_backend = "be"
  forward_for     = true
}
backend "be" {
  retries = 0
  server "origin" {
    address = "%s"
    check   = false
  }
}
`

// NewRig starts an origin and an engine in front of it, both stopped when
// the test ends. LBD_DESYNC_LOG=1 shows the engine's log.
func NewRig(t testing.TB) *Rig {
	t.Helper()
	o := StartOrigin(t)
	var addr string
	var e *proxy.Engine
	var err error
	for try := 0; try < 5; try++ {
		addr = freeAddr(t)
		e, err = startEngine(t, fmt.Sprintf(rigConfig, addr, o.Addr))
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return &Rig{Addr: addr, Origin: o, e: e}
}

func startEngine(t testing.TB, src string) (*proxy.Engine, error) {
	cfg, err := config.Parse("desync.hcl", []byte(src))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := zerolog.Nop()
	if os.Getenv("LBD_DESYNC_LOG") != "" {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.DebugLevel)
	}
	pool := health.NewPool(log)
	if err := pool.Apply(cfg); err != nil {
		return nil, err
	}
	e := proxy.New(log, pool)
	if err := e.Apply(cfg); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	})
	return e, nil
}

func freeAddr(t testing.TB) string { return freeport.Loopback(t) }

// Quiet waits until the engine has no client connection left (its server
// connections are then closed or idle) and the origin has received
// nothing for a moment.
func (r *Rig) Quiet() {
	deadline := time.Now().Add(3 * time.Second)
	for r.e.CurConns() > 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	r.Origin.Settle()
}

// Client is a raw client connection to the rig.
type Client struct {
	c  *net.TCPConn
	br *bufio.Reader
}

// Dial opens a client connection, closed when the test ends.
func (r *Rig) Dial(t testing.TB) *Client {
	t.Helper()
	c, err := net.Dial("tcp4", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Client{c: c.(*net.TCPConn), br: bufio.NewReader(c)}
}

// Send writes raw bytes in one write.
func (c *Client) Send(b []byte) error {
	c.c.SetWriteDeadline(time.Now().Add(3 * time.Second))
	_, err := c.c.Write(b)
	return err
}

// CloseWrite ends the client's side of the stream.
func (c *Client) CloseWrite() { c.c.CloseWrite() }

// Response is one response as the client read it with net/http.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Close  bool // the proxy said it closes the connection
}

// Read reads one response (method is the request's: HEAD has no body)
// within d.
func (c *Client) Read(method string, d time.Duration) (*Response, error) {
	c.c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	for err == nil && resp.StatusCode < 200 && resp.StatusCode != 101 {
		resp, err = http.ReadResponse(c.br, &http.Request{Method: method}) // interim
	}
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Close: resp.Close}, nil
}

// Closed reports whether the proxy closed the connection (EOF or reset)
// within d, with nothing more to read.
func (c *Client) Closed(d time.Duration) (bool, string) {
	c.c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c.br)
	if len(b) > 0 {
		return false, string(b)
	}
	return err == nil || !isTimeout(err), ""
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// canary is a request whose response names it.
func canary(name string) []byte {
	return []byte("GET /canary-" + name + " HTTP/1.1\r\nHost: canary\r\n\r\n")
}

// checkCanary sends a canary on c and checks it gets its own response
// from the origin.
func checkCanary(c *Client, name string) error {
	if err := c.Send(canary(name)); err != nil {
		return fmt.Errorf("canary %s: send: %w", name, err)
	}
	resp, err := c.Read("GET", 3*time.Second)
	if err != nil {
		return fmt.Errorf("canary %s: %w", name, err)
	}
	want := "origin:GET /canary-" + name
	if resp.Status != 200 || string(resp.Body) != want {
		return fmt.Errorf("canary %s got another's response: %d %q", name, resp.Status, resp.Body)
	}
	return nil
}

// oneLine shows bytes in failure messages.
func oneLine(b []byte) string {
	s := fmt.Sprintf("%q", b)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return strings.ReplaceAll(s, "\n", "")
}
