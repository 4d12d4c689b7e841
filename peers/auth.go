package peers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// MaxSkew is how far apart the two nodes' clocks may be.
const MaxSkew = 30 * time.Second

const (
	magic    = "LBDPEERS1"
	nonceLen = 16
	macLen   = 32
	tagLen   = 16
)

// ErrAuth is a peer without the shared secret (or a replay).
var ErrAuth = errors.New("peers: the other side does not hold the shared secret")

func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(p)))
		m.Write(l[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// session is an authenticated connection's framing state.
type session struct {
	key []byte
	seq uint64
}

func (s *session) tag(payload []byte) []byte {
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], s.seq)
	return mac(s.key, seq[:], payload)[:tagLen]
}

// dialHello is the dialer's side of the handshake.
func dialHello(rw io.ReadWriter, secret []byte, name string, now time.Time) (*session, error) {
	nc := make([]byte, nonceLen)
	if _, err := rand.Read(nc); err != nil {
		return nil, err
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(now.Unix()))
	msg := append([]byte(magic), nc...)
	msg = append(msg, ts[:]...)
	msg = append(msg, mac(secret, []byte("lbd-peers-hello-v1"), []byte(name), nc, ts[:])...)
	if _, err := rw.Write(msg); err != nil {
		return nil, err
	}
	ans := make([]byte, nonceLen+macLen)
	if _, err := io.ReadFull(rw, ans); err != nil {
		return nil, fmt.Errorf("peers: no answer to the hello (a wrong secret closes the connection): %w", err)
	}
	ns := ans[:nonceLen]
	if !hmac.Equal(ans[nonceLen:], mac(secret, []byte("lbd-peers-welcome-v1"), []byte(name), nc, ns)) {
		return nil, ErrAuth
	}
	return &session{key: mac(secret, []byte("lbd-peers-key-v1"), []byte(name), nc, ns)}, nil
}

// replays remembers the nonces seen within twice MaxSkew.
type replays struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (r *replays) seen(n []byte, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]time.Time{}
	}
	for k, t := range r.m {
		if now.Sub(t) > 2*MaxSkew {
			delete(r.m, k)
		}
	}
	if _, ok := r.m[string(n)]; ok {
		return true
	}
	r.m[string(n)] = now
	return false
}

// acceptHello is the listener's side of the handshake.
func acceptHello(rw io.ReadWriter, secret []byte, name string, now time.Time, seen *replays) (*session, error) {
	msg := make([]byte, len(magic)+nonceLen+8+macLen)
	if _, err := io.ReadFull(rw, msg); err != nil {
		return nil, fmt.Errorf("peers: reading the hello: %w", err)
	}
	if string(msg[:len(magic)]) != magic {
		return nil, errors.New("peers: not an lbd peers hello")
	}
	p := msg[len(magic):]
	nc, ts, sig := p[:nonceLen], p[nonceLen:nonceLen+8], p[nonceLen+8:]
	if !hmac.Equal(sig, mac(secret, []byte("lbd-peers-hello-v1"), []byte(name), nc, ts)) {
		return nil, ErrAuth
	}
	t := time.Unix(int64(binary.BigEndian.Uint64(ts)), 0)
	if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return nil, fmt.Errorf("peers: the hello's time is %s away from ours (at most %s): %w", d.Round(time.Second), MaxSkew, ErrAuth)
	}
	if seen.seen(nc, now) {
		return nil, fmt.Errorf("peers: a hello replayed: %w", ErrAuth)
	}
	ns := make([]byte, nonceLen)
	if _, err := rand.Read(ns); err != nil {
		return nil, err
	}
	ans := append(append([]byte(nil), ns...), mac(secret, []byte("lbd-peers-welcome-v1"), []byte(name), nc, ns)...)
	if _, err := rw.Write(ans); err != nil {
		return nil, err
	}
	return &session{key: mac(secret, []byte("lbd-peers-key-v1"), []byte(name), nc, ns)}, nil
}

// maxFrame bounds a frame's payload.
const maxFrame = 1 << 20

// writeFrame appends a frame to b.
func (s *session) appendFrame(b, payload []byte) []byte {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(payload)))
	b = append(b, l[:]...)
	b = append(b, payload...)
	b = append(b, s.tag(payload)...)
	s.seq++
	return b
}

// readFrame reads and checks the next frame into buf.
func (s *session) readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n == 0 || n > maxFrame {
		return nil, fmt.Errorf("peers: frame of %d bytes", n)
	}
	if cap(buf) < int(n)+tagLen {
		buf = make([]byte, int(n)+tagLen)
	}
	buf = buf[:int(n)+tagLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	payload := buf[:n]
	if !hmac.Equal(buf[n:], s.tag(payload)) {
		return nil, errors.New("peers: a frame's tag does not match (altered, replayed or out of order)")
	}
	s.seq++
	return payload, nil
}
