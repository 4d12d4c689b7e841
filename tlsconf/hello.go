package tlsconf

import (
	"errors"
	"fmt"
	"strings"
)

// Hello is what a client's first flight says before any TLS state exists:
// enough to route a connection by server name without terminating it (tcp
// passthrough, HAProxy's req.ssl_sni) and to tell why a connection that is
// not TLS was refused.
type Hello struct {
	// ServerName is the SNI host name (RFC 6066 §3), lower case; "" when
	// the client sent none.
	ServerName string
	// ALPN lists the protocols offered (RFC 7301 §3.1).
	ALPN []string
	// Versions are the versions offered: supported_versions (RFC 8446
	// §4.2.1), else the legacy version.
	Versions []uint16
	// Len is how many bytes of the input the records holding the
	// ClientHello take.
	Len int
}

// ErrNeedMore means the input holds only the beginning of a ClientHello.
var ErrNeedMore = errors.New("incomplete ClientHello")

// MaxHelloLen bounds the ClientHello a reader waits for: real ones are
// under 2 KiB (up to about 3 KiB with post-quantum key shares).
const MaxHelloLen = 16 << 10

// HelloError says why bytes are not a ClientHello.
type HelloError struct{ Reason string }

func (e *HelloError) Error() string { return e.Reason }

func helloErr(format string, args ...any) error {
	return &HelloError{Reason: fmt.Sprintf(format, args...)}
}

// ParseClientHello reads the ClientHello at the start of a connection's
// bytes (TLS records, RFC 8446 §5.1; the message may span several
// records). It returns ErrNeedMore while the message is incomplete, a
// *HelloError when the bytes are not a well-formed ClientHello (plain HTTP
// sent to a TLS port, a truncated or inconsistent message), or the Hello.
// It allocates only for the fields it returns.
func ParseClientHello(b []byte) (*Hello, error) {
	var msg []byte // the handshake bytes gathered from the records
	var whole []byte
	off := 0
	for {
		if len(b)-off < 5 {
			if off == 0 && len(b) > 0 && b[0] != 22 {
				return nil, notTLS(b)
			}
			return nil, ErrNeedMore
		}
		hdr := b[off : off+5]
		if hdr[0] != 22 {
			if off == 0 {
				return nil, notTLS(b)
			}
			return nil, helloErr("a record of type %d interrupts the ClientHello", hdr[0])
		}
		if hdr[1] != 3 {
			return nil, helloErr("record version %d.%d is not TLS", hdr[1], hdr[2])
		}
		n := int(hdr[3])<<8 | int(hdr[4])
		if n == 0 || n > 1<<14 {
			return nil, helloErr("record length %d is out of range 1..16384", n)
		}
		if len(b)-off-5 < n {
			if off+5+n > MaxHelloLen+5*4 {
				return nil, helloErr("ClientHello over %d bytes", MaxHelloLen)
			}
			return nil, ErrNeedMore
		}
		frag := b[off+5 : off+5+n]
		off += 5 + n
		if msg == nil && len(frag) >= 4 && off == 5+n {
			msg = frag // the common case: one record, no copy
		} else {
			whole = append(append(whole[:0:0], msg...), frag...)
			msg = whole
		}
		if len(msg) < 4 {
			continue
		}
		if msg[0] != 1 {
			return nil, helloErr("handshake message type %d is not a ClientHello", msg[0])
		}
		ml := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
		if ml > MaxHelloLen {
			return nil, helloErr("ClientHello of %d bytes is over %d", ml, MaxHelloLen)
		}
		if len(msg)-4 < ml {
			continue
		}
		if len(msg)-4 > ml {
			return nil, helloErr("data after the ClientHello in its record")
		}
		h, err := parseHelloBody(msg[4 : 4+ml])
		if err != nil {
			return nil, err
		}
		h.Len = off
		return h, nil
	}
}

// notTLS describes bytes that do not start a TLS handshake.
func notTLS(b []byte) error {
	for _, m := range []string{"GET ", "POST", "HEAD", "PUT ", "DELE", "OPTI", "PATC", "CONN", "PRI ", "TRAC"} {
		if len(b) >= 4 && string(b[:4]) == m || len(b) < 4 && strings.HasPrefix(m, string(b)) {
			return helloErr("plain HTTP sent to a TLS port")
		}
	}
	switch {
	case b[0]&0x80 != 0:
		return helloErr("not a TLS handshake (first byte 0x%02x: an SSLv2 hello?)", b[0])
	case b[0] == 20 || b[0] == 21 || b[0] == 23:
		return helloErr("not a TLS handshake (first byte 0x%02x: a TLS record of type %d before any ClientHello)", b[0], b[0])
	}
	return helloErr("not a TLS handshake (first byte 0x%02x)", b[0])
}

// reader walks a byte string with length-prefixed fields.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() int {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := int(r.b[0])
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() int {
	if len(r.b) < 2 {
		r.bad = true
		return 0
	}
	v := int(r.b[0])<<8 | int(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if len(r.b) < n {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// vec8 and vec16 read a vector with a 1- or 2-byte length.
func (r *reader) vec8() reader  { return reader{b: r.bytes(r.u8()), bad: r.bad} }
func (r *reader) vec16() reader { return reader{b: r.bytes(r.u16()), bad: r.bad} }

// parseHelloBody reads a ClientHello body (RFC 8446 §4.1.2; RFC 5246
// §7.4.1.2 for TLS 1.2 and below).
func parseHelloBody(body []byte) (*Hello, error) {
	r := reader{b: body}
	legacy := uint16(r.u16())
	r.bytes(32) // random
	if sid := r.vec8(); len(sid.b) > 32 {
		return nil, helloErr("malformed ClientHello: session ID of %d bytes", len(sid.b))
	}
	suites := r.vec16()
	if len(suites.b) < 2 || len(suites.b)%2 != 0 {
		return nil, helloErr("malformed ClientHello: cipher suite list of %d bytes", len(suites.b))
	}
	if comp := r.vec8(); len(comp.b) < 1 {
		return nil, helloErr("malformed ClientHello: no compression method")
	}
	if r.bad {
		return nil, helloErr("malformed ClientHello: truncated")
	}
	if legacy>>8 != 3 {
		return nil, helloErr("ClientHello version 0x%04x is not TLS", legacy)
	}
	h := &Hello{}
	if len(r.b) == 0 { // no extensions (RFC 5246 §7.4.1.2)
		h.Versions = []uint16{legacy}
		return h, nil
	}
	exts := r.vec16()
	if r.bad || len(r.b) != 0 {
		return nil, helloErr("malformed ClientHello: extensions do not fill the message")
	}
	var seen [64]uint64 // 4096 bits: extension types seen, by low 12 bits
	for len(exts.b) > 0 {
		typ := exts.u16()
		data := exts.vec16()
		if exts.bad || data.bad {
			return nil, helloErr("malformed ClientHello: extension %d truncated", typ)
		}
		w, bit := (typ&0xfff)/64, uint64(1)<<((typ&0xfff)%64)
		if seen[w]&bit != 0 && typ < 0x1000 {
			return nil, helloErr("malformed ClientHello: extension %d twice", typ)
		}
		seen[w] |= bit
		var err error
		switch typ {
		case 0:
			err = h.parseSNI(data)
		case 16:
			err = h.parseALPN(data)
		case 43:
			err = h.parseVersions(data)
		}
		if err != nil {
			return nil, err
		}
	}
	if h.Versions == nil {
		h.Versions = []uint16{legacy}
	}
	return h, nil
}

// parseSNI reads server_name (RFC 6066 §3): one host_name.
func (h *Hello) parseSNI(d reader) error {
	list := d.vec16()
	if d.bad || len(d.b) != 0 || len(list.b) == 0 {
		return helloErr("malformed ClientHello: bad server_name extension")
	}
	for len(list.b) > 0 {
		typ := list.u8()
		name := list.vec16()
		if list.bad || name.bad {
			return helloErr("malformed ClientHello: bad server_name extension")
		}
		if typ != 0 {
			continue
		}
		if h.ServerName != "" {
			return helloErr("malformed ClientHello: two host names in server_name")
		}
		if !validHost(name.b) {
			return helloErr("malformed ClientHello: server name %q is not a host name", name.b)
		}
		h.ServerName = strings.ToLower(strings.TrimSuffix(string(name.b), "."))
	}
	return nil
}

// validHost accepts a DNS name (a trailing dot allowed): labels of 1 to
// 63 letters, digits, "-" or "_", 253 bytes at most.
func validHost(b []byte) bool {
	s := strings.TrimSuffix(string(b), ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (h *Hello) parseALPN(d reader) error {
	list := d.vec16()
	if d.bad || len(d.b) != 0 || len(list.b) == 0 {
		return helloErr("malformed ClientHello: bad ALPN extension")
	}
	for len(list.b) > 0 {
		p := list.vec8()
		if list.bad || p.bad || len(p.b) == 0 {
			return helloErr("malformed ClientHello: bad ALPN extension")
		}
		h.ALPN = append(h.ALPN, string(p.b))
	}
	return nil
}

func (h *Hello) parseVersions(d reader) error {
	list := d.vec8()
	if d.bad || len(d.b) != 0 || len(list.b) < 2 || len(list.b)%2 != 0 {
		return helloErr("malformed ClientHello: bad supported_versions extension")
	}
	for len(list.b) > 0 {
		h.Versions = append(h.Versions, uint16(list.u16()))
	}
	return nil
}
