package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

// Client talks to the admin API of a running lbd over its unix socket.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string, timeout time.Duration) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &Client{socket: path, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// APIError is an error answered by the daemon.
type APIError struct {
	Status      int
	Message     string
	Diagnostics []string
}

func (e *APIError) Error() string { return e.Message }

// ErrNoDaemon means nothing listens on the socket.
var ErrNoDaemon = errors.New("lbd is not running")

// Get fetches path and decodes the JSON answer into out (unless nil); raw,
// when non-nil, receives the undecoded body.
func (c *Client) Get(path string, out any, raw *[]byte) error {
	return c.do(http.MethodGet, path, nil, out, raw)
}

// Post sends body as JSON to path and decodes the answer like Get.
func (c *Client) Post(path string, body, out any, raw *[]byte) error {
	return c.do(http.MethodPost, path, body, out, raw)
}

func (c *Client) do(method, path string, body, out any, raw *[]byte) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://lbd"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if fi, serr := os.Stat(c.socket); serr == nil && fi.Mode().Type() != os.ModeSocket {
			return fmt.Errorf("%s is not a socket (is --socket right?)", c.socket)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("admin socket %s: lbd did not answer within %s", c.socket, c.http.Timeout)
		}
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w: no admin socket at %s (is lbd running? is --socket right?)", ErrNoDaemon, c.socket)
		}
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("admin socket %s: permission denied (run as root or as a member of lbd's group)", c.socket)
		}
		return fmt.Errorf("admin socket %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API: reading answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("admin API answered %s", resp.Status)
		}
		return &APIError{Status: resp.StatusCode, Message: eb.Error, Diagnostics: eb.Diagnostics}
	}
	if raw != nil {
		*raw = data
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("admin API: bad answer: %w", err)
		}
	}
	return nil
}
