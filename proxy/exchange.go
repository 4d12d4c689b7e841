package proxy

import (
	"sync/atomic"

	"lbd/h2"
)

// exchange is one request in flight and what it is bound to: the frontend
// it entered through, the side it came from and its response goes to, and
// the server connection it uses. An HTTP/1 connection runs one exchange at
// a time (session.x, reused from request to request); an HTTP/2
// connection runs one per stream at once, each with its own txn and server
// connection, its client side being the stream (h2_*.go).
//
// An exchange embeds its session for what belongs to the client
// connection: the engine, the peer's address, the limits it holds, its
// kill state and its TLS facts. The fields it declares itself hide the
// session's of the same name on purpose: they belong to the request.
type exchange struct {
	*session

	// fe is the frontend of this request: the listener's at the time the
	// request began (a reload in between changes it for the next one).
	fe *frontend
	// cli is where the request's bytes come from and the response's go:
	// the client connection's endpoint for HTTP/1.
	cli *endpoint
	// up is the server connection kept after the response for the next
	// request to the same server (HTTP/1 keep-alive); nil when none.
	up *upConn
	// upc is the server connection in use, for kill.
	upc atomic.Pointer[upConn]
	// linger: the client may still be sending; an HTTP/1 connection
	// drains it before closing (session.lingeringClose).
	linger bool
	// resetCode: an HTTP/2 server reset the request's stream with this
	// code; an HTTP/2 client's stream is reset with it (h2_stream.go).
	resetCode h2.ErrCode
}

// begin prepares the session's exchange for its next request.
func (s *session) begin(fe *frontend) *exchange {
	x := &s.x
	x.fe = fe
	x.linger = false
	return x
}
