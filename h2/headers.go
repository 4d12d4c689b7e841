package h2

import (
	"errors"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// A header block arrives in a HEADERS frame and the CONTINUATION frames
// after it (RFC 9113 §4.3). Its fragments go to the HPACK decoder as they
// come, so the compressed block is never held whole; the decoded fields
// are checked and written as HTTP/1.1 field lines one by one (fields.go).
// Whatever the outcome for the stream, every block is decoded to its end:
// the decoder's table is the connection's, and skipping a block would
// leave it behind the peer's (a COMPRESSION_ERROR for the next one).

// Limits on a header block beyond MaxHeaderListSize (CONTINUATION flood):
// the compressed block may not be much larger than the decoded list it
// is allowed to make, and may not come in more frames than a sane sender
// uses.
const (
	maxBlockFrames = 64
)

// blockKind is what a header block is.
type blockKind uint8

const (
	blockRequest  blockKind = iota // a new stream's request head (server)
	blockTrailers                  // trailer fields ending a stream's body
	blockResponse                  // a response head (client)
	blockIgnore                    // decoded for the HPACK state only
)

// headerBlock is a header block being received.
type headerBlock struct {
	active    bool
	kind      blockKind
	id        uint32
	st        *Stream
	endStream bool
	refuse    ErrCode // reset the stream with this once decoded (0: none)
	refuseWhy string
	bytes     int // compressed bytes so far
	frames    int
	msg       message // the message the fields make
}

func (c *Conn) onHeaders(f *http2.HeadersFrame) {
	id := f.StreamID
	hb := &c.hb
	*hb = headerBlock{active: true, id: id, endStream: f.StreamEnded(), kind: blockIgnore, msg: hb.msg}
	hb.msg.reset(c.cfg.MaxHeaderListSize)
	if f.HasPriority() && f.Priority.StreamDep == id {
		// RFC 9113 §5.3.1; the block is still decoded.
		hb.refuse, hb.refuseWhy = ErrCodeProtocol, "stream depends on itself"
	}
	if c.role == RoleServer {
		c.serverHeaders(hb)
	} else {
		c.clientHeaders(hb)
	}
	if c.err != nil {
		return
	}
	c.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

// serverHeaders decides what a HEADERS frame from a client is.
func (c *Conn) serverHeaders(hb *headerBlock) {
	id := hb.id
	if id%2 == 0 {
		c.fail(ErrCodeProtocol, "client stream with an even identifier")
		return
	}
	if st := c.streams[id]; st != nil {
		if st.inEnded {
			c.fail(ErrCodeStreamClosed, "HEADERS on a half-closed stream")
			return
		}
		hb.st = st
		hb.kind = blockTrailers
		if !hb.endStream {
			hb.refuse, hb.refuseWhy = ErrCodeProtocol, "trailers without END_STREAM"
		}
		return
	}
	if id <= c.lastPeer {
		// RFC 9113 §5.1.1: identifiers only grow; a lower or reused one
		// names a closed stream.
		c.fail(ErrCodeProtocol, "HEADERS on a closed stream")
		return
	}
	c.lastPeer = id
	c.total++
	switch {
	case c.goawaySent:
		// Streams after our GOAWAY are ignored (RFC 9113 §6.8).
		return
	case c.active >= c.cfg.MaxConcurrentStreams:
		// Streams still at work count, reset or not: resetting requests
		// does not make room for more (CVE-2023-44487).
		hb.refuse, hb.refuseWhy = ErrCodeRefusedStream, "over max_concurrent_streams"
		c.glitch("stream over max_concurrent_streams")
		return
	}
	hb.kind = blockRequest
	if c.cfg.MaxTotalStreams > 0 && c.total >= c.cfg.MaxTotalStreams {
		// tune.h2.fe.max-total-streams: this one is the last.
		c.goawaySent = true
		c.goawayLast = id
		c.framer().WriteGoAway(id, ErrCodeNo, []byte("max_total_streams"))
	}
}

// clientHeaders decides what a HEADERS frame from a server is.
func (c *Conn) clientHeaders(hb *headerBlock) {
	st := c.streams[hb.id]
	if st == nil {
		if c.idle(hb.id) {
			c.fail(ErrCodeProtocol, "HEADERS on an idle stream")
		}
		return // a stream we reset: decoded and dropped
	}
	if st.inEnded {
		c.fail(ErrCodeStreamClosed, "HEADERS on a half-closed stream")
		return
	}
	hb.st = st
	if st.gotFinal {
		hb.kind = blockTrailers
		if !hb.endStream {
			hb.refuse, hb.refuseWhy = ErrCodeProtocol, "trailers without END_STREAM"
		}
		return
	}
	hb.kind = blockResponse
}

func (c *Conn) onContinuation(f *http2.ContinuationFrame) {
	// The Framer makes sure it follows HEADERS or CONTINUATION on the
	// same stream (RFC 9113 §6.10).
	if !c.hb.active {
		c.fail(ErrCodeProtocol, "CONTINUATION without HEADERS")
		return
	}
	frag := f.HeaderBlockFragment()
	if len(frag) == 0 && !f.HeadersEnded() {
		if c.glitch("empty CONTINUATION frame") {
			return
		}
	}
	c.fragment(frag, f.HeadersEnded())
}

// fragment decodes part of the block; end completes it.
func (c *Conn) fragment(frag []byte, end bool) {
	hb := &c.hb
	hb.frames++
	hb.bytes += len(frag)
	if hb.frames > maxBlockFrames || hb.bytes > 2*int(c.cfg.MaxHeaderListSize)+1024 {
		// A block that goes on and on: the CONTINUATION flood. The
		// decoded list is bounded by MaxHeaderListSize already; this
		// bounds the frames and bytes it may take to say it.
		c.failLimit(ErrCodeEnhanceYourCalm, "header block in "+itoa(int64(hb.frames))+" frames, "+itoa(int64(hb.bytes))+" bytes",
			"max_header_list_size")
		return
	}
	if _, err := c.dec.Write(frag); err != nil {
		if errors.Is(err, hpack.ErrStringLength) {
			c.failLimit(ErrCodeCompression, "header field longer than twice max_header_list_size", "max_header_list_size")
			return
		}
		c.fail(ErrCodeCompression, "HPACK: "+err.Error())
		return
	}
	if !end {
		return
	}
	if err := c.dec.Close(); err != nil {
		c.fail(ErrCodeCompression, "HPACK: "+err.Error())
		return
	}
	hb.active = false
	c.blockDone()
}

// onField receives one decoded field.
func (c *Conn) onField(f hpack.HeaderField) {
	if c.hb.kind == blockIgnore || c.hb.refuse != 0 {
		return
	}
	c.hb.msg.field(f.Name, f.Value)
}

// blockDone acts on a complete header block.
func (c *Conn) blockDone() {
	hb := &c.hb
	switch {
	case hb.kind == blockIgnore:
		if hb.refuse != 0 {
			c.framer().WriteRSTStream(hb.id, hb.refuse)
			c.h.Refused(hb.id, hb.refuseWhy)
		}
		return
	case hb.refuse != 0:
		if hb.kind == blockRequest {
			c.framer().WriteRSTStream(hb.id, hb.refuse)
			c.h.Refused(hb.id, hb.refuseWhy)
		} else {
			c.resetStream(hb.id, hb.refuse, hb.refuseWhy)
		}
		return
	}
	m := &hb.msg
	switch hb.kind {
	case blockRequest:
		c.requestDone(hb, m)
	case blockResponse:
		c.responseDone(hb, m)
	case blockTrailers:
		c.trailersDone(hb, m)
	}
}

// Request is a client's request (Handler.Request).
type Request struct {
	// Head is the request as an HTTP/1.1 head, valid during the call.
	Head []byte
	// EndStream: no body follows.
	EndStream bool
	// Chunked: the body is to be passed on as chunks (there was no
	// content-length); Data bytes are raw and the caller frames them.
	Chunked bool
	// Status, when not 0, is the error status to answer instead of
	// forwarding the request (431: its header list is too large); Head
	// is empty then.
	Status int
}

func (c *Conn) requestDone(hb *headerBlock, m *message) {
	if !m.tooLarge {
		if why := m.requestHead(hb.endStream); why != "" {
			// RFC 9113 §8.1.1: a malformed request is a stream error; it
			// never becomes a stream of ours.
			c.framer().WriteRSTStream(hb.id, ErrCodeProtocol)
			c.h.Refused(hb.id, why)
			c.glitch("malformed request")
			return
		}
	}
	st := c.newStream(hb.id)
	st.inEnded = hb.endStream
	c.earnControl(ctlPerRequest)
	req := &c.req
	*req = Request{EndStream: hb.endStream}
	if m.tooLarge {
		req.Status = 431
		c.h.Request(st, req)
		return
	}
	st.contentLength = m.contentLength
	st.isHead = m.isHead
	st.chunked = !hb.endStream && m.contentLength < 0
	req.Head, req.Chunked = m.out, st.chunked
	c.h.Request(st, req)
	*req = Request{}
}

func (c *Conn) trailersDone(hb *headerBlock, m *message) {
	st := hb.st
	if why := m.trailers(); why != "" {
		c.resetStream(st.ID, ErrCodeProtocol, why)
		return
	}
	if st.contentLength >= 0 && st.received != st.contentLength {
		c.resetStream(st.ID, ErrCodeProtocol, "DATA disagrees with content-length")
		return
	}
	st.inEnded = true
	c.h.Trailers(st, m.out)
	if st.outEnded {
		c.closeStream(st, ErrCodeNo, true)
	}
}
