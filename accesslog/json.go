package accesslog

import "github.com/rs/zerolog"

// Event adds r's fields to a zerolog event: lbd's JSON access line, the
// object the proxy wrote before this package existed, field for field
// (what reads it keeps working), plus "request_headers" and
// "response_headers" objects when the frontend captures headers (null for
// a header the message did not carry). The JSON lines are zerolog events
// so that they go where lbd's other logs go (stderr and the syslog
// targets), in JSON or console form.
func (f *Format) Event(ev *zerolog.Event, r *Record) *zerolog.Event {
	be, srv := r.Backend, r.ServerName
	if be == "" {
		be = noServer
	}
	if srv == "" {
		srv = noServer
	}
	var b [64]byte
	ev = ev.Bytes("client", r.Client.AppendTo(b[:0])).
		Str("frontend", r.Frontend).
		Str("backend", be).
		Str("server", srv)
	if r.HTTP {
		ev = ev.Int64("Th", r.Th).
			Int64("Ti", r.Ti).
			Int64("TR", r.TR).
			Int64("Tw", r.Tw).
			Int64("Tc", r.Tc).
			Int64("Tr", r.Tr).
			Int64("Ta", r.Ta).
			Int64("status", int64(r.Status))
	} else {
		ev = ev.Int64("Tw", r.Tw).
			Int64("Tc", r.Tc).
			Int64("Tt", r.Tt)
	}
	if r.TLS {
		ev = ev.Str("ssl_fc_protocol", r.TLSVersion).
			Str("ssl_fc_cipher", r.TLSCipher).
			Bool("ssl_fc_is_resumed", r.TLSResumed)
	}
	if r.SNI != "" {
		ev = ev.Str("ssl_fc_sni", r.SNI)
	}
	ev = ev.Int64("bytes_read", r.BytesRead).
		Int64("bytes_uploaded", r.BytesUploaded).
		Bytes("termination_state", r.Term[:]).
		Int64("actconn", r.ActConn).
		Int64("feconn", r.FeConn).
		Int64("beconn", r.BeConn).
		Int64("srv_conn", r.SrvConn).
		Int("retries", r.Retries).
		Int64("srv_queue", r.SrvQueue).
		Int64("backend_queue", r.BackendQueue)
	if r.HTTP {
		ev = ev.Bytes("request", r.RequestLine)
	}
	// The objects are written into ev itself (zerolog's Dict would take
	// another event from its pool per object).
	if len(f.reqNames) > 0 {
		r.reqObj = captureObject{f.reqNames, r.ReqHeaders}
		ev = ev.Object("request_headers", &r.reqObj)
	}
	if len(f.respNames) > 0 {
		r.respObj = captureObject{f.respNames, r.RespHeaders}
		ev = ev.Object("response_headers", &r.respObj)
	}
	return ev
}

// captureObject is the JSON object of a message's captured headers: name
// to value, null for a header the message did not carry.
type captureObject struct {
	names []string
	vals  [][]byte
}

func (c *captureObject) MarshalZerologObject(e *zerolog.Event) {
	for i, n := range c.names {
		if i < len(c.vals) && c.vals[i] != nil {
			e.Bytes(n, c.vals[i])
		} else {
			e.RawJSON(n, null)
		}
	}
}

var null = []byte("null")
