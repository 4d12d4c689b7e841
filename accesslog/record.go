// Package accesslog formats access-log lines: one per HTTP request or tcp
// connection, as lbd's JSON object (the default, field names stable since
// the first release) or as HAProxy's text formats, byte for byte: httplog,
// tcplog and custom formats with HAProxy's %-variables ("log-format"). The
// text forms let the tools operators built on HAProxy's logs keep working:
// halog, rsyslog rules, log parsers and dashboards.
//
// The proxy fills a Record and asks its frontend's Format for the line: a
// text format appends it to a buffer (which logsink sends to the log
// targets), the JSON format adds its fields to a zerolog event (which goes
// where lbd's other logs go). This package knows nothing of sockets or
// where lines go. Formatting allocates nothing: buffers come from the
// caller and every value is appended in place.
//
// The text formats follow HAProxy 2.6's log.c: variables are rendered as
// sess_build_logline renders them, blanks in the format are separators
// that collapse (a variable that writes nothing, such as %hr without
// captures, leaves one blank), a missing value is "-", captured header
// values escape '"', '#', '{', '|', '}' and non-printable bytes as #XX,
// the request line '"', '#' and non-printable bytes (HAProxy's
// hdr_encode_map and url_encode_map). Dates are local time, as HAProxy
// writes them.
package accesslog

import (
	"net/netip"
)

// MaxCaptureLen bounds the bytes kept of one captured header value.
const MaxCaptureLen = 4096

// MaxCaptures bounds the headers a frontend captures (request and
// response together).
const MaxCaptures = 32

// Record is one access-log line's data. Timers are milliseconds, -1 for a
// phase not reached; dates are unix nanoseconds.
type Record struct {
	// HTTP says the record is a request (else a tcp connection).
	HTTP bool

	Client   netip.AddrPort // the client's address
	Listener netip.AddrPort // the frontend address the client connected to
	Server   netip.AddrPort // the server's address, when one was reached

	Frontend string
	// Backend is empty when no backend was chosen (a refused request):
	// the JSON form writes "<NOSRV>", the text forms the frontend's name,
	// as HAProxy does.
	Backend string
	// Server name, empty when no server was reached ("<NOSRV>").
	ServerName string

	Accept  int64 // unix ns: the connection (tcp) or the request's stream began
	Request int64 // unix ns: the request's first byte (http); 0: Accept

	Th, Ti, TR, Tw, Tc, Tr, Ta, Tt int64
	// Assigned is, for a tcp connection, the ms from the accept to the
	// server's assignment (-1: none). HAProxy's text formats print a tcp
	// connection's Tw as Assigned + 1 (its t_queue minus an unset
	// t_request of -1); lbd's JSON keeps the time spent queued (Tw).
	Assigned int64

	Status        int   // sent to the client; -1 none
	BytesRead     int64 // sent to the client (HAProxy's %B)
	BytesUploaded int64 // received from the client (%U)

	// Term is HAProxy's termination state: who ended the session and in
	// which phase ("--" when it ended normally).
	Term [2]byte
	// Cookie is HAProxy's persistence cookie state, the 3rd and 4th
	// characters of %tsc: what the request carried (N none, I invalid,
	// D for a DOWN server, V valid, E expired, O old) and what the
	// response did (N nothing, I inserted, R rewritten, U updated, D
	// deleted, P passive). "--" without cookie persistence.
	Cookie [2]byte

	ActConn, FeConn, BeConn, SrvConn int64
	Retries                          int
	Redispatched                     bool
	SrvQueue, BackendQueue           int64

	// TLS facts of the client connection (HAProxy's ssl_fc_*): TLS says
	// it is TLS (terminated by lbd), TLSVersion is "TLSv1.3"...,
	// TLSCipher the suite's name (OpenSSL's, as HAProxy's %sslc). SNI is the ClientHello's server
	// name, also known without termination (tcp routing by SNI).
	TLS        bool
	TLSVersion string
	TLSCipher  string
	TLSResumed bool
	SNI        string

	// Refused says the request head was refused before it could be
	// parsed (400, 408, 414, 431, 501, 505): HAProxy logs these without
	// a stream, so its text formats show TR -1, no bytes and no captured
	// headers. The JSON form keeps the values as they are.
	Refused bool

	// RequestLine is the request line as received ("GET / HTTP/1.1");
	// empty when none was read ("<BADREQ>").
	RequestLine []byte
	// ReqHeaders and RespHeaders are the captured header values, one per
	// capture of the frontend in its order; nil when the header was
	// absent.
	ReqHeaders, RespHeaders [][]byte

	// the JSON form's objects of captured headers (json.go), here so
	// that handing them to zerolog allocates nothing
	reqObj, respObj captureObject
}

// Reset clears r for reuse, keeping the capture slices' storage.
func (r *Record) Reset() {
	req, resp := r.ReqHeaders[:0], r.RespHeaders[:0]
	line := r.RequestLine[:0]
	*r = Record{ReqHeaders: req, RespHeaders: resp, RequestLine: line}
}
