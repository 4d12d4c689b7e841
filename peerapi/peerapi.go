// Package peerapi signs the admin API calls between the two nodes of a
// pair (config's peer_api block), so that `lbctl pair ...` reaches the
// other node over TCP without anything being served to anyone else.
//
// Both nodes hold the same secret. Each request carries its time, a
// random nonce and an HMAC-SHA256 over the method, path, time, nonce and
// a hash of the body; the server accepts it within MaxSkew of its own
// clock and never twice (the nonce is remembered for twice MaxSkew). The
// answer is signed too, over the request's nonce, its status and a hash of
// its body, so a machine in between can neither call the API nor forge
// what a node says. The secret itself never crosses the network. (TLS
// with client certificates would also do; a shared file is what a
// keepalived pair already manages for auth_pass, so the same routine
// applies.)
package peerapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Header names.
const (
	HeaderTime      = "X-Lbd-Time"
	HeaderNonce     = "X-Lbd-Nonce"
	HeaderSignature = "X-Lbd-Signature"
)

// MaxSkew is how far apart the two nodes' clocks and the request's age
// may be.
const MaxSkew = 30 * time.Second

// MaxBody bounds what the server reads of a request.
const MaxBody = 64 << 10

// ErrUnauthorized is a request without a valid signature.
var ErrUnauthorized = errors.New("peer_api: request not signed with the shared secret")

func mac(secret []byte, parts ...string) string {
	m := hmac.New(sha256.New, secret)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{'\n'})
	}
	return hex.EncodeToString(m.Sum(nil))
}

func bodyHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func requestMAC(secret []byte, method, path, ts, nonce string, body []byte) string {
	return mac(secret, "lbd-peer-request-v1", method, path, ts, nonce, bodyHash(body))
}

func responseMAC(secret []byte, nonce string, status int, body []byte) string {
	return mac(secret, "lbd-peer-response-v1", nonce, strconv.Itoa(status), bodyHash(body))
}

// Handler serves h to signed requests only, and signs its answers.
func Handler(secret []byte, h http.Handler) http.Handler {
	seen := &nonces{m: map[string]time.Time{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil || len(body) > MaxBody {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		nonce := r.Header.Get(HeaderNonce)
		if err := verify(secret, r, body, seen, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set(HeaderSignature, responseMAC(secret, nonce, rec.status, rec.body.Bytes()))
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
	})
}

func verify(secret []byte, r *http.Request, body []byte, seen *nonces, now time.Time) error {
	ts, nonce, sig := r.Header.Get(HeaderTime), r.Header.Get(HeaderNonce), r.Header.Get(HeaderSignature)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(nonce) != 32 || sig == "" {
		return ErrUnauthorized
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return fmt.Errorf("%w: its time is %v off this node's clock", ErrUnauthorized, d.Round(time.Second))
	}
	want := requestMAC(secret, r.Method, r.URL.RequestURI(), ts, nonce, body)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrUnauthorized
	}
	if !seen.add(nonce, now) {
		return fmt.Errorf("%w: replayed", ErrUnauthorized)
	}
	return nil
}

// nonces remembers the nonces of accepted requests while they could be
// replayed (within MaxSkew either way).
type nonces struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (n *nonces) add(nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, t := range n.m {
		if now.Sub(t) > 2*MaxSkew {
			delete(n.m, k)
		}
	}
	if _, dup := n.m[nonce]; dup {
		return false
	}
	n.m[nonce] = now
	return true
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// Client calls the other node's peer API.
type Client struct {
	addr   string
	secret []byte
	http   *http.Client
}

// NewClient returns a client for the node at addr ("ip:port").
func NewClient(addr string, secret []byte, timeout time.Duration) *Client {
	return &Client{addr: addr, secret: secret, http: &http.Client{Timeout: timeout}}
}

// Addr is the peer's address.
func (c *Client) Addr() string { return c.addr }

// Do sends a signed request and returns the status and body of a
// verified answer.
func (c *Client) Do(method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, "http://"+c.addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return 0, nil, err
	}
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), hex.EncodeToString(raw[:])
	req.Header.Set(HeaderTime, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, requestMAC(c.secret, method, req.URL.RequestURI(), ts, nonce, body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("peer %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("peer %s: %w", c.addr, err)
	}
	if sig := resp.Header.Get(HeaderSignature); !hmac.Equal([]byte(sig), []byte(responseMAC(c.secret, nonce, resp.StatusCode, b))) {
		if resp.StatusCode == http.StatusUnauthorized {
			return resp.StatusCode, nil, fmt.Errorf("peer %s refused the request: %s (do both nodes have the same secret_file, and clocks within %v?)",
				c.addr, bytes.TrimSpace(b), MaxSkew)
		}
		return resp.StatusCode, nil, fmt.Errorf("peer %s: the answer is not signed with the shared secret", c.addr)
	}
	return resp.StatusCode, b, nil
}
