// Package h1 is lbd's one HTTP/1.x codec (RFC 9112, with the field rules of
// RFC 9110): the proxy's engine parses and forwards messages with it, and the
// http checks read their servers' responses with it, so that a check judges a
// server by exactly the rules its traffic meets.
//
// # Why one strict codec
//
// A proxy and the server behind it must agree on where every message ends.
// When they do not, the bytes one client sends past the end lbd saw become
// the start of another request on the server connection (request smuggling,
// or desync). Two rules keep them in agreement:
//
//  1. Parse strictly and refuse what is ambiguous, as HAProxy does: bare CR,
//     obs-fold, whitespace before a colon, conflicting or malformed
//     Content-Length, Transfer-Encoding other than a well-formed list ending
//     in chunked (requests: exactly "chunked"), Transfer-Encoding with
//     Content-Length in a request, a chunk-size or trailer line that is not
//     exactly the grammar. A refused request gets a 4xx before any byte of it
//     reaches a server; a refused response gets the client a 502.
//
//  2. Never copy framing: the framing lbd used to read a message is the
//     framing it writes. The parser marks every Content-Length,
//     Transfer-Encoding and Host field as not forwarded (Field.Drop), and the
//     forwarder writes them again from what was parsed (Append*Framing,
//     Head.HostField). Chunked bodies are re-framed as they stream
//     (Chunked): chunk sizes are written in hexadecimal without leading
//     zeros, extensions or whitespace, and trailer fields are validated as
//     header fields, with those RFC 9110 §6.5.1 forbids in trailers dropped.
//     So no field the server sees can describe another framing than the one
//     lbd read, whatever the client or the server wrote.
//
// A Connection header lists hop-by-hop fields that a proxy removes before
// forwarding (RFC 9110 §7.6.1). A sender must not list a field meant for
// every recipient, and no legitimate client lists Content-Length,
// Transfer-Encoding or Host; lbd ignores such tokens rather than refusing
// the message: the message was read with the framing it declares, that
// framing is written again, and the server reads the same one message.
// Ignoring is also what HAProxy and nginx do (neither removes nominated
// fields), so a migrated site sees no new errors.
//
// # Zero allocation
//
// A head is parsed in place: Head holds offsets (Span) into the caller's
// buffer and a reused field array, so a request costs no allocation. The
// chunked re-framer appends to a caller's buffer.
//
// # The streaming driver
//
// ResponseReader is the push form used by the health checks: bytes are fed
// as each read returns them, and how they are cut never changes the
// outcome. It uses the same head parser and the same chunked re-framer.
package h1
