package tlsconf

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Sessions makes TLS sessions resumable, for every TLS bind of the process.
//
// Stateless (tickets on, the default): the session state goes to the
// client inside a ticket encrypted with AES-256-GCM under a key of the
// current period. Keys are derived with HKDF-SHA256 (RFC 5869) from a
// secret and the period number, floor(unix time / period): two nodes that
// read the same secret file compute the same keys and change them at the
// same moments, so a ticket issued by one node resumes on the other after
// a failover, with no channel between them. Tickets of the two previous
// periods and of the next one (clock skew between nodes) are accepted, so
// a ticket lives between two and three periods.
//
// Stateful (a bind with tickets off, HAProxy's no-tls-tickets): the state
// stays in a bounded in-memory cache and the client's ticket is only a
// random 32-byte handle to it, as OpenSSL's TLS 1.3 stateful tickets.
// Those sessions resume on this node only.
type Sessions struct {
	mu      sync.Mutex
	secret  []byte
	file    string // "" = random per process
	period  time.Duration
	old     []oldSecret // replaced secrets, for decryption until they age out
	rotated time.Time

	ring atomic.Pointer[keyRing]

	cacheMu   sync.Mutex
	cache     map[[32]byte]cached
	order     [][32]byte // insertion order, oldest first
	cacheSize int
	lifetime  time.Duration

	now func() time.Time
}

type oldSecret struct {
	secret []byte
	until  time.Time
}

type cached struct {
	state   []byte
	expires int64
}

// ticketKey is one period's key: a 4-byte name that says which key a
// ticket is under, and the AEAD.
type ticketKey struct {
	name   [4]byte
	period int64
	aead   cipher.AEAD
}

// keyRing is the keys of one period: keys[0] encrypts, all decrypt.
type keyRing struct {
	period int64
	keys   []ticketKey
}

// Defaults of the session settings (HAProxy's tune.ssl.cachesize and
// tune.ssl.lifetime for the cache).
const (
	DefaultTicketPeriod    = 12 * time.Hour
	DefaultCacheSize       = 20000
	DefaultSessionLifetime = 5 * time.Minute
	// MinSecretLen is the shortest ticket secret accepted, in bytes.
	MinSecretLen = 32
)

// NewSessions returns sessions with a random secret (not shared with any
// other node) and the default settings.
func NewSessions() *Sessions {
	s := &Sessions{period: DefaultTicketPeriod, cacheSize: DefaultCacheSize, lifetime: DefaultSessionLifetime,
		cache: map[[32]byte]cached{}, now: time.Now}
	s.secret = randomSecret()
	return s
}

func randomSecret() []byte {
	b := make([]byte, 48)
	rand.Read(b)
	return b
}

// ReadSecret reads a ticket secret file: any content of at least
// MinSecretLen bytes (for example `head -c 48 /dev/urandom | base64`, or
// an HAProxy tls-ticket-keys file), used whole as HKDF input.
func ReadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < MinSecretLen {
		return nil, fmt.Errorf("%s holds %d bytes: a ticket secret needs at least %d (e.g. head -c 48 /dev/urandom | base64 > %s)",
			path, len(b), MinSecretLen, filepath.Base(path))
	}
	return b, nil
}

// Configure applies settings (first start and every reload): file is the
// secret file shared by the pair ("" keeps or makes a random secret),
// period the key rotation period, cacheSize and lifetime the stateful
// cache's bounds. A changed secret keeps the old one's keys for
// decryption until its tickets age out, so a reload loses no session.
func (s *Sessions) Configure(file string, period time.Duration, cacheSize int, lifetime time.Duration) error {
	var secret []byte
	if file != "" {
		var err error
		if secret, err = ReadSecret(file); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if period <= 0 {
		period = DefaultTicketPeriod
	}
	if secret == nil && s.file != "" {
		secret = randomSecret() // the file was dropped: stop using its keys for new tickets
	}
	if secret != nil && string(secret) != string(s.secret) {
		s.retire(s.now())
		s.secret = secret
	}
	s.file, s.period = file, period
	s.ring.Store(nil)
	s.cacheMu.Lock()
	s.cacheSize, s.lifetime = cacheSize, lifetime
	s.cacheMu.Unlock()
	return nil
}

// retire keeps the current secret for decryption for three periods.
func (s *Sessions) retire(now time.Time) {
	s.old = append(s.old, oldSecret{secret: s.secret, until: now.Add(3 * s.period)})
	k := 0
	for _, o := range s.old {
		if o.until.After(now) {
			s.old[k] = o
			k++
		}
	}
	s.old = s.old[:k]
}

// Rotate replaces the secret with a new random one now (lbctl tls tickets
// rotate). With a secret file, the new secret is written to it (mode
// 0600), to be copied to the peer node, which reloads to follow; tickets
// under the old secret still resume until they age out.
func (s *Sessions) Rotate() error {
	secret := []byte(hex.EncodeToString(randomSecret()) + "\n")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != "" {
		tmp := s.file + ".new"
		if err := os.WriteFile(tmp, secret, 0o600); err != nil {
			return fmt.Errorf("write ticket secret: %w", err)
		}
		if err := os.Rename(tmp, s.file); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("write ticket secret: %w", err)
		}
	}
	now := s.now()
	s.retire(now)
	s.secret = secret
	s.rotated = now
	s.ring.Store(nil)
	return nil
}

// TicketStatus is what `lbctl tls tickets` shows.
type TicketStatus struct {
	Source      string    `json:"source"` // the secret file, or "random (this node only)"
	Period      string    `json:"period"`
	KeyName     string    `json:"key_name"` // of the key encrypting new tickets
	NextRotate  time.Time `json:"next_rotation"`
	OldSecrets  int       `json:"old_secrets"` // replaced secrets still accepted
	LastRotated time.Time `json:"last_manual_rotation,omitzero"`
	Cached      int       `json:"cached_sessions"` // stateful sessions held
	CacheSize   int       `json:"cache_size"`
}

// Status describes the keys in use.
func (s *Sessions) Status() TicketStatus {
	r := s.keys()
	s.mu.Lock()
	st := TicketStatus{Source: s.file, Period: s.period.String(), OldSecrets: len(s.old), LastRotated: s.rotated,
		NextRotate: time.Unix(0, (r.period+1)*int64(s.period)).UTC()}
	s.mu.Unlock()
	if st.Source == "" {
		st.Source = "random (this node only)"
	}
	st.KeyName = hex.EncodeToString(r.keys[0].name[:])
	s.cacheMu.Lock()
	st.Cached, st.CacheSize = len(s.cache), s.cacheSize
	s.cacheMu.Unlock()
	return st
}

// keys returns the ring of the current period, deriving it when the
// period changed (the automatic rotation).
func (s *Sessions) keys() *keyRing {
	now := s.now()
	r := s.ring.Load()
	s.mu.Lock()
	period := now.UnixNano() / int64(s.period)
	if r != nil && r.period == period {
		s.mu.Unlock()
		return r
	}
	r = &keyRing{period: period}
	// The current key first (it encrypts), then the ones accepted.
	for _, p := range []int64{period, period - 1, period - 2, period + 1} {
		r.keys = append(r.keys, deriveKey(s.secret, p))
	}
	for _, o := range s.old {
		if o.until.After(now) {
			for _, p := range []int64{period, period - 1, period - 2} {
				r.keys = append(r.keys, deriveKey(o.secret, p))
			}
		}
	}
	s.mu.Unlock()
	s.ring.Store(r)
	return r
}

func deriveKey(secret []byte, period int64) ticketKey {
	var info [8]byte
	binary.BigEndian.PutUint64(info[:], uint64(period))
	km, err := hkdf.Key(sha256.New, secret, []byte("lbd tls ticket key v1"), string(info[:]), 36)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	block, _ := aes.NewCipher(km[4:])
	aead, _ := cipher.NewGCM(block)
	k := ticketKey{period: period, aead: aead}
	copy(k.name[:], km[:4])
	return k
}

// Ticket layout: key name (4) | nonce (12) | AES-256-GCM(state) with the
// key name as additional data.
const ticketOverhead = 4 + 12 + 16

var errNoKey = errors.New("ticket under an unknown or retired key")

// Seal encrypts a serialized session state under the current key.
func (s *Sessions) Seal(state []byte) []byte {
	k := s.keys().keys[0]
	out := make([]byte, 16, ticketOverhead+len(state))
	copy(out, k.name[:])
	rand.Read(out[4:16])
	return k.aead.Seal(out, out[4:16], state, out[:4])
}

// Open decrypts a ticket made by Seal under any key still accepted.
func (s *Sessions) Open(ticket []byte) ([]byte, error) {
	if len(ticket) < ticketOverhead {
		return nil, errNoKey
	}
	for _, k := range s.keys().keys {
		if [4]byte(ticket[:4]) != k.name {
			continue
		}
		if pt, err := k.aead.Open(nil, ticket[4:16], ticket[16:], ticket[:4]); err == nil {
			return pt, nil
		}
	}
	return nil, errNoKey
}

// wrapTicket is Config.WrapSession for stateless tickets.
func (s *Sessions) wrapTicket(_ tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	b, err := ss.Bytes()
	if err != nil {
		return nil, err
	}
	return s.Seal(b), nil
}

// unwrapTicket is Config.UnwrapSession for stateless tickets: a ticket
// that does not open gives a full handshake, not an error.
func (s *Sessions) unwrapTicket(identity []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
	pt, err := s.Open(identity)
	if err != nil {
		return nil, nil
	}
	ss, err := tls.ParseSessionState(pt)
	if err != nil {
		return nil, nil
	}
	return ss, nil
}

// wrapCached is Config.WrapSession for stateful sessions.
func (s *Sessions) wrapCached(_ tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	b, err := ss.Bytes()
	if err != nil {
		return nil, err
	}
	var id [32]byte
	rand.Read(id[:])
	now := s.now().UnixNano()
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cacheSize <= 0 {
		return id[:], nil // a handle to nothing: no resumption
	}
	for len(s.order) > 0 && (len(s.cache) >= s.cacheSize || s.cache[s.order[0]].expires <= now) {
		delete(s.cache, s.order[0])
		s.order = s.order[1:]
	}
	s.cache[id] = cached{state: b, expires: now + int64(s.lifetime)}
	s.order = append(s.order, id)
	return id[:], nil
}

// unwrapCached is Config.UnwrapSession for stateful sessions.
func (s *Sessions) unwrapCached(identity []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
	if len(identity) != 32 {
		return nil, nil
	}
	s.cacheMu.Lock()
	c, ok := s.cache[[32]byte(identity)]
	s.cacheMu.Unlock()
	if !ok || c.expires <= s.now().UnixNano() {
		return nil, nil
	}
	ss, err := tls.ParseSessionState(c.state)
	if err != nil {
		return nil, nil
	}
	return ss, nil
}

// install sets conf's session functions: stateless tickets or the cache.
func (s *Sessions) install(conf *tls.Config, tickets bool) {
	if tickets {
		conf.WrapSession, conf.UnwrapSession = s.wrapTicket, s.unwrapTicket
	} else {
		conf.WrapSession, conf.UnwrapSession = s.wrapCached, s.unwrapCached
	}
}
