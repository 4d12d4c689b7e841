// Package desync proves that lbd never lets one message become two: for a
// table of request-side and response-side cases (smuggling families,
// framing oddities, the findings of the HTTP/1.1 safety audit) and for
// random bytes (FuzzWholePath), a real proxy engine on loopback sits
// between a raw client and a raw origin that records every byte it
// receives, and each exchange must end in one of two ways:
//
//   - refused: the client got a 4xx/5xx (502 for a bad response) and the
//     origin received nothing of that message; or
//   - forwarded: the origin received exactly one request, read by net/http
//     (another implementation than lbd's), whose method, target, Host and
//     body bytes are the ones the client meant; the client received
//     exactly the response the origin meant;
//
// and in both, the next request on the same client connection and on a
// new one (which may reuse the server connection) arrives intact and gets
// its own response: no byte of one exchange is read as part of another.
//
// The origin reads with net/http on purpose: a desync is a disagreement
// between two parsers, so the second parser must not be lbd's.
package desync
