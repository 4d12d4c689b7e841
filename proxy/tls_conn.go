package proxy

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"lbd/tlsconf"
)

// TLS in the engine: a connection that speaks TLS keeps its endpoint, its
// buffers and its deadlines; only the endpoint's I/O (sysio) goes through
// crypto/tls, which reads and writes the socket with the same raw
// non-blocking calls through the netpoller as plain connections do
// (tlsTransport). What the engine relies on keeps working:
//
//   - a read that must not wait (readNoWait) returns errWouldBlock: the
//     transport gives crypto/tls a temporary net.Error on EAGAIN, which
//     crypto/tls passes up without failing the connection, a partial
//     record staying in its input buffer;
//   - an idle keep-alive connection holds no pool buffer while it waits:
//     the endpoint first asks crypto/tls, without waiting, whether a whole
//     record is already there, then waits for the socket to be readable
//     holding nothing, and reads only then (readIdle);
//   - such a connection can be parked in the parker's epoll set without a
//     goroutine: once crypto/tls has nothing decryptable buffered, the next
//     bytes can only come from the socket, and epoll reports them.
//
// What an idle TLS connection costs on top of a plain one is crypto/tls's
// own state: its Conn, the AEAD of each direction and the buffers it grew
// during the handshake (about 7 KiB).

// tlsConn is the TLS layer of an endpoint.
type tlsConn struct {
	tc *tls.Conn
	tr *tlsTransport
	// Facts for access logs and headers, taken once the handshake is over.
	version uint16
	suite   uint16
	resumed bool
	sni     string
	alpn    string
	hsNanos int64 // handshake duration
	state   *tls.ConnectionState
	bind    *tlsBind // the bind it came through: its http settings
}

// errTLSWouldBlock is what the transport gives crypto/tls for EAGAIN in a
// read that must not wait: Temporary, so crypto/tls does not make it the
// connection's permanent error.
type tlsWouldBlock struct{}

func (tlsWouldBlock) Error() string   { return "tls transport: no data" }
func (tlsWouldBlock) Timeout() bool   { return false }
func (tlsWouldBlock) Temporary() bool { return true }

var errTLSWouldBlock net.Error = tlsWouldBlock{}

// tlsTransport is the net.Conn under crypto/tls: the socket, read and
// written with raw non-blocking calls (tls_raw_linux.go), and, first, the
// bytes of the ClientHello the engine read itself (pre).
type tlsTransport struct {
	c    sockConn
	pre  []byte   // bytes already read from the socket, served first
	mode readMode // of the read in progress
	raw  rawTLS   // platform part: raw read and write state
}

func newTLSTransport(c sockConn, pre []byte) *tlsTransport {
	t := &tlsTransport{c: c, mode: readTry}
	if len(pre) > 0 {
		t.pre = append([]byte(nil), pre...)
	}
	t.raw.init(c)
	return t
}

func (t *tlsTransport) Read(b []byte) (int, error) {
	if len(t.pre) > 0 {
		n := copy(b, t.pre)
		t.pre = t.pre[n:]
		if len(t.pre) == 0 {
			t.pre = nil
		}
		return n, nil
	}
	return t.raw.read(t.c, b, t.mode)
}

func (t *tlsTransport) Write(b []byte) (int, error) {
	if err := t.raw.write(t.c, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (t *tlsTransport) Close() error                       { return t.c.Close() }
func (t *tlsTransport) LocalAddr() net.Addr                { return t.c.LocalAddr() }
func (t *tlsTransport) RemoteAddr() net.Addr               { return t.c.RemoteAddr() }
func (t *tlsTransport) SetDeadline(d time.Time) error      { return t.c.SetDeadline(d) }
func (t *tlsTransport) SetReadDeadline(d time.Time) error  { return t.c.SetReadDeadline(d) }
func (t *tlsTransport) SetWriteDeadline(d time.Time) error { return t.c.SetWriteDeadline(d) }

// read is sysio.read over TLS.
func (t *tlsConn) read(b []byte, mode readMode) (int, error) {
	if mode == readWait {
		mode = readTry // crypto/tls reads only when it needs bytes
	}
	t.tr.mode = mode
	n, err := t.tc.Read(b)
	t.tr.mode = readTry
	if err != nil && errors.Is(err, errTLSWouldBlock) {
		return n, errWouldBlock
	}
	return n, err
}

// write is sysio.write over TLS: b whole, in records of up to 16 KiB.
func (t *tlsConn) write(b []byte) error {
	_, err := t.tc.Write(b)
	return err
}

// readIdle is endpoint.readIdleMode over TLS: what crypto/tls can decrypt
// at once, else a wait for the socket holding no buffer, then a read.
func (t *tlsConn) readIdle(ep *endpoint, mode readMode) (int, error) {
	ep.hold()
	b := (*ep.buf)[ep.w:]
	n, err := t.read(b, readNoWait)
	if n > 0 {
		ep.w += n
		ep.busy = n == len(b)
		return n, nil
	}
	ep.releaseIfEmpty()
	if err != nil && !errors.Is(err, errWouldBlock) {
		return 0, err
	}
	if mode == readNoWait {
		return 0, errWouldBlock
	}
	if err := t.tr.raw.waitReadable(); err != nil {
		return 0, err
	}
	ep.hold()
	b = (*ep.buf)[ep.w:]
	n, err = t.read(b, readTry)
	ep.w += n
	ep.busy = n == len(b)
	if n == 0 {
		ep.releaseIfEmpty()
	}
	return n, err
}

// closeNotify ends a TLS connection cleanly (close_notify, RFC 8446
// §6.1) before the socket closes, without waiting long for a client that
// does not read.
func (t *tlsConn) closeNotify() {
	t.tr.c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	t.tc.CloseWrite()
}

// takeFacts records what the access log and the headers show.
func (t *tlsConn) takeFacts(hsNanos int64) {
	cs := t.tc.ConnectionState()
	t.version, t.suite, t.resumed = cs.Version, cs.CipherSuite, cs.DidResume
	t.sni, t.alpn, t.hsNanos = cs.ServerName, cs.NegotiatedProtocol, hsNanos
	if len(cs.PeerCertificates) > 0 {
		t.state = &cs // client certificate facts are read from it
	}
}

// facts returns the connection's TLS facts (HAProxy's ssl_fc_*).
func (t *tlsConn) facts() tlsconf.ConnFacts {
	return tlsconf.ConnFacts{Protocol: tlsconf.VersionName(t.version), Cipher: tlsconf.SuiteName(t.suite),
		SNI: t.sni, ALPN: t.alpn, Resumed: t.resumed}
}

// clientCert returns the client certificate facts (HAProxy's ssl_c_*).
func (t *tlsConn) clientCert() tlsconf.ClientCert {
	if t.state == nil {
		return tlsconf.ClientCert{}
	}
	return tlsconf.ClientCertOf(t.state)
}

// isTLS reports whether the endpoint speaks TLS.
func (ep *endpoint) isTLS() bool { return ep.sys.tls != nil }

// closeWrite half-closes the endpoint: close_notify first over TLS.
func (ep *endpoint) closeWrite() {
	if t := ep.sys.tls; t != nil {
		t.tc.CloseWrite()
	}
	ep.c.CloseWrite()
}
