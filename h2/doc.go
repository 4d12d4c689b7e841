// Package h2 is lbd's HTTP/2 (RFC 9113, with HPACK, RFC 7541): the
// connection and stream state machines, flow control, SETTINGS, PING,
// GOAWAY and RST_STREAM, the validation of requests and responses, and
// the translation between HTTP/2 messages and the HTTP/1.1 messages that
// lbd's engine proxies, for both roles: lbd as the server of a client's
// connection and lbd as the client of a server's.
//
// # No I/O
//
// A Conn reads and writes no socket. The caller feeds it the bytes it
// read (Feed), which it answers with events (a Handler) and with bytes to
// write (Output); the caller writes the messages of its streams in
// HTTP/1.1 form (WriteH1), which come out as frames. So the package holds
// no goroutine and no lock of its own: the caller (the proxy) serializes
// the calls, runs the streams as it likes, and parks an idle connection
// without anything of it running. The wire format is golang.org/x/net's:
// frames are read with its Framer (which checks every frame's size,
// padding and stream identifier rules) and header blocks are coded with
// its hpack package; DATA frames are the one frame written without the
// Framer (a 9-byte header before the payload), so that a payload is
// copied once.
//
// # One engine behind both protocols
//
// lbd's engine proxies HTTP/1.1 messages, parsed by one strict codec
// (package h1). An HTTP/2 request is validated here by the rules of RFC
// 9113 §8 and written as an HTTP/1.1 head (Request.Head), which the engine
// parses again with h1 as for any client: the second reading is a second
// line of defence, and everything after it (routing, rules, balancing,
// persistence, queues, logs) is the path HTTP/1 requests take. The body
// follows in the framing the head declares: raw bytes after a
// content-length, chunks otherwise, the trailers as the chunked body's
// trailer section. The other way, the HTTP/1.1 message the engine writes
// (a response to a client, a request to an HTTP/2 server) is read back by
// WriteH1 and sent as HEADERS, DATA and trailing HEADERS frames. An
// HTTP/2 client is then served by HTTP/1.1 servers, an HTTP/1.1 client by
// HTTP/2 servers, and gRPC (trailers, streaming) goes through.
//
// Nothing that HTTP/1.1 would read as framing crosses over: connection-
// specific fields (connection, keep-alive, proxy-connection,
// transfer-encoding, upgrade) and te other than "trailers" make a request
// malformed (§8.2.2), as do uppercase field names (§8.2), CR, LF or NUL in
// a value and whitespace around it (§8.2.1), pseudo-header fields that are
// unknown, repeated, missing or after regular fields (§8.3), and a
// content-length that disagrees with the DATA frames (§8.1.1). A
// malformed message is a stream error of type PROTOCOL_ERROR: its stream
// is reset before anything of it reaches a server. Host and framing are
// written from what was validated, never copied.
//
// # Limits
//
// Every resource a peer can make lbd spend is bounded by Config, whose
// names follow HAProxy's tune.h2.* settings where they exist: streams at
// once (a stream stays counted until its work is done, so resetting
// streams does not free their place early: CVE-2023-44487, the rapid
// reset), streams per connection, the decoded header list (HPACK bombs)
// and the header block with its CONTINUATION frames (the CONTINUATION
// flood of 2024), frame sizes, and glitches: frames a well-behaved peer
// has no reason to send (a reset of a stream whose response has not
// begun, empty DATA or CONTINUATION frames, PING and SETTINGS beyond a
// budget that refills with time, WINDOW_UPDATE frames beyond what the DATA
// sent can explain, refused streams). Past a limit the connection is
// closed with GOAWAY, and the error says which limit (Error.Limit), for
// the caller's log line.
package h2
