package h2

import (
	"golang.org/x/net/http2"
)

// Stream is one stream of a connection (RFC 9113 §5.1). Its states are
// kept as what each side has ended: open while neither has, half-closed
// when one has, closed when both have or it was reset.
type Stream struct {
	ID uint32
	// User is the caller's, for its side of the stream.
	User any

	inEnded  bool // the peer sent END_STREAM
	outEnded bool // we sent END_STREAM
	closed   bool // gone from the connection's streams
	counted  bool // counts against MaxConcurrentStreams until Release
	replied  bool // server: response HEADERS sent; client: request HEADERS sent
	isHead   bool // the request's method is HEAD: its response has no body
	chunked  bool // the body is passed on as chunks (no content-length)
	gotFinal bool // client: the final response head arrived

	sendWindow int64
	recvWindow int64 // what the peer may still send
	unacked    int64 // consumed by the caller, not yet given back

	contentLength int64 // declared by the peer, -1 when absent
	received      int64 // DATA bytes received

	w h1Writer // WriteH1's state
}

// Ended reports whether the peer ended its side of the stream.
func (st *Stream) Ended() bool { return st.inEnded }

// Replied reports whether our head was sent (server: the response's).
func (st *Stream) Replied() bool { return st.replied }

// Closed reports whether the stream is over for the protocol (both sides
// ended, or reset).
func (st *Stream) Closed() bool { return st.closed }

// Chunked reports whether the stream's body is passed on as chunks (it
// has no content-length): the caller frames the Data it gets.
func (st *Stream) Chunked() bool { return st.chunked }

// Complete reports whether what we send on the stream ended normally.
func (st *Stream) Complete() bool { return st.outEnded }

func (c *Conn) newStream(id uint32) *Stream {
	st := &Stream{
		ID:            id,
		sendWindow:    c.peerInitWindow,
		recvWindow:    int64(c.cfg.InitialWindowSize),
		contentLength: -1,
		counted:       true,
	}
	if id != 0 {
		c.streams[id] = st
	}
	c.active++
	return st
}

// OpenStream starts a stream for a request (client role); nil when the
// server's concurrency limit or a GOAWAY forbids one now. Its identifier
// is taken when its HEADERS are written (takeID): streams opened together
// may send their requests in any order, and a server takes a stream
// whose identifier is below one it has seen as closed (RFC 9113 §5.1.1).
func (c *Conn) OpenStream() *Stream {
	if c.role != RoleClient || c.err != nil || c.goawayRecv || c.goawaySent {
		return nil
	}
	if !c.CanOpen() {
		return nil
	}
	return c.newStream(0)
}

// takeID gives a client stream its identifier as its HEADERS go out;
// false when the connection can open no more (a GOAWAY came meanwhile,
// or the identifiers ran out): the stream is closed as refused, so that
// its request may be retried elsewhere (RFC 9113 §6.8).
func (c *Conn) takeID(st *Stream) bool {
	if st.ID != 0 {
		return true
	}
	if c.goawayRecv || c.goawaySent || c.nextLocal > maxWindow {
		c.closeStream(st, ErrCodeRefusedStream, true)
		return false
	}
	st.ID = c.nextLocal
	c.nextLocal += 2
	c.streams[st.ID] = st
	return true
}

// CanOpen reports whether OpenStream would succeed (client role).
func (c *Conn) CanOpen() bool {
	return c.role == RoleClient && c.err == nil && !c.goawayRecv && !c.goawaySent &&
		c.active < min(c.peerMaxStreams, c.cfg.MaxConcurrentStreams) && c.nextLocal <= maxWindow
}

// closeStream takes a stream out of the connection; unless both sides
// ended normally, the handler hears of it (Reset).
func (c *Conn) closeStream(st *Stream, code ErrCode, remote bool) {
	if st.closed {
		return
	}
	st.closed = true
	delete(c.streams, st.ID)
	if !(st.inEnded && st.outEnded) {
		c.h.Reset(st, code, remote)
	}
}

// resetStream sends RST_STREAM (a stream error, RFC 9113 §5.4.2) and
// closes the stream if it is open.
func (c *Conn) resetStream(id uint32, code ErrCode, why string) {
	if c.err != nil {
		return
	}
	c.framer().WriteRSTStream(id, code)
	if st := c.streams[id]; st != nil {
		c.closeStream(st, code, false)
	}
}

// Reset abandons a stream from our side (RST_STREAM with code).
func (c *Conn) Reset(st *Stream, code ErrCode) {
	if !st.closed && c.err == nil {
		if st.ID != 0 { // nothing was sent on a stream without one
			c.framer().WriteRSTStream(st.ID, code)
		}
		c.closeStream(st, code, false)
	}
}

// Release says the caller is done with a stream: it stops counting
// against MaxConcurrentStreams. A stream still open is reset: CANCEL when
// our side did not end, NO_ERROR when only the peer's body is left
// (RFC 9113 §8.1: a complete response may stop a request's upload).
func (c *Conn) Release(st *Stream) {
	if !st.closed {
		code := ErrCodeCancel
		if st.outEnded && c.role == RoleServer {
			code = ErrCodeNo
		}
		if c.err == nil && st.ID != 0 {
			c.framer().WriteRSTStream(st.ID, code)
		}
		st.inEnded = st.inEnded || code == ErrCodeNo
		c.closeStream(st, code, false)
	}
	if st.counted {
		st.counted = false
		c.active--
	}
}

// Consumed gives n bytes of a stream's received DATA back to the peer's
// flow-control windows once the caller has passed them on; window
// updates go out when half a window is due, so that one fast upload keeps
// its window open without a frame per read.
func (c *Conn) Consumed(st *Stream, n int) {
	if n <= 0 || c.err != nil {
		return
	}
	c.consumeConn(int64(n))
	if st.closed || st.inEnded {
		return
	}
	st.unacked += int64(n)
	if st.unacked >= int64(c.cfg.InitialWindowSize)/2 {
		c.framer().WriteWindowUpdate(st.ID, uint32(st.unacked))
		st.recvWindow += st.unacked
		st.unacked = 0
	}
}

func (c *Conn) consumeConn(n int64) {
	c.recvUnacked += n
	if w := int64(c.cfg.connWindow()); c.recvUnacked >= w/2 {
		c.framer().WriteWindowUpdate(0, uint32(c.recvUnacked))
		c.recvWindow += c.recvUnacked
		c.recvUnacked = 0
	}
}

func (c *Conn) onData(f *http2.DataFrame) {
	id := f.StreamID
	size := int64(f.Length) // padding included (RFC 9113 §6.9.1)
	if size > c.recvWindow {
		c.fail(ErrCodeFlowControl, "DATA over the connection window")
		return
	}
	c.recvWindow -= size
	st := c.streams[id]
	if st == nil || st.inEnded {
		if c.idle(id) {
			c.fail(ErrCodeProtocol, "DATA on an idle stream")
			return
		}
		// Closed, or half-closed (remote): the bytes still count against
		// the connection window, which is given back at once.
		c.consumeConn(size)
		c.resetStream(id, ErrCodeStreamClosed, "DATA on a closed stream")
		return
	}
	if size > st.recvWindow {
		c.consumeConn(size)
		c.resetStream(id, ErrCodeFlowControl, "DATA over the stream window")
		return
	}
	st.recvWindow -= size
	data := f.Data()
	if pad := size - int64(len(data)); pad > 0 {
		c.consumeConn(pad) // padding is nobody's to consume
		st.recvWindow += pad
	}
	end := f.StreamEnded()
	if len(data) == 0 && !end {
		if c.glitch("empty DATA frame") {
			return
		}
	}
	if c.role == RoleClient && !st.gotResponse() {
		c.resetStream(id, ErrCodeProtocol, "DATA before the response head")
		return
	}
	st.received += int64(len(data))
	if st.contentLength >= 0 && (st.received > st.contentLength || end && st.received != st.contentLength) {
		// RFC 9113 §8.1.1: the message is malformed.
		c.consumeConn(int64(len(data)))
		c.resetStream(id, ErrCodeProtocol, "DATA disagrees with content-length")
		return
	}
	if end {
		st.inEnded = true
	}
	c.h.Data(st, data, end)
	if end && st.outEnded {
		c.closeStream(st, ErrCodeNo, true)
	}
}

// gotResponse reports whether a final response head arrived (client role).
func (st *Stream) gotResponse() bool { return st.gotFinal }
