package proxyproto

import (
	"bytes"
	"errors"
	"net/netip"
)

// Command is what a header says about the connection.
type Command uint8

const (
	// Local: the connection was made by the sender itself (a health
	// check); the receiver uses the connection's own addresses.
	Local Command = iota
	// Proxy: the connection carries a client's; Src and Dst say whose,
	// unless the family is one the addresses cannot express (then they
	// are invalid and the real connection's apply).
	Proxy
)

// Header is a parsed PROXY protocol header.
type Header struct {
	Version int // 1 or 2
	Command Command
	// Src and Dst are the client's address and the address it reached.
	// They are invalid (IsValid false) for LOCAL, for v1 UNKNOWN and for
	// a v2 family other than TCP over IPv4 or IPv6.
	Src, Dst netip.AddrPort
	// Authority is the v2 PP2_TYPE_AUTHORITY TLV (the host name the
	// client asked for, e.g. its TLS SNI), empty when absent. It points
	// into the parsed bytes.
	Authority []byte
}

// HasAddrs reports whether the header carries the client's addresses.
func (h *Header) HasAddrs() bool { return h.Src.IsValid() && h.Dst.IsValid() }

// ErrIncomplete means the bytes are a valid beginning of a header: read
// more and parse again.
var ErrIncomplete = errors.New("proxyproto: incomplete header")

// Error is a header refused, with the reason.
type Error struct{ Reason string }

func (e *Error) Error() string { return "proxyproto: " + e.Reason }

func bad(reason string) error { return &Error{Reason: reason} }

// MaxV1 is the longest v1 line, CRLF included (§2.1).
const MaxV1 = 107

// MaxV2 bounds the v2 headers lbd accepts: the 16-byte fixed part and
// up to 2032 bytes of addresses and TLVs. The specification only asks
// receivers for 536 bytes (§2.2); senders' TLVs (TLS facts, unique ids)
// stay well below this.
const MaxV2 = 2048

var (
	v1Prefix = []byte("PROXY ")
	v2Sig    = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// Parse reads the header at the start of b. It returns the header and its
// length in bytes; ErrIncomplete when b is a valid but incomplete
// beginning; or an *Error. Authority points into b.
func Parse(b []byte) (Header, int, error) {
	if len(b) == 0 {
		return Header{}, 0, ErrIncomplete
	}
	switch b[0] {
	case 'P':
		if n := min(len(b), len(v1Prefix)); !bytes.Equal(b[:n], v1Prefix[:n]) {
			return Header{}, 0, bad("not a PROXY protocol header")
		}
		return parseV1(b)
	case '\r':
		if n := min(len(b), len(v2Sig)); !bytes.Equal(b[:n], v2Sig[:n]) {
			return Header{}, 0, bad("not a PROXY protocol header")
		}
		return parseV2(b)
	}
	return Header{}, 0, bad("not a PROXY protocol header")
}
