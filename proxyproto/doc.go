// Package proxyproto reads and writes the PROXY protocol header, versions
// 1 (text) and 2 (binary), as HAProxy's doc/proxy-protocol.txt specifies
// it: the few bytes a proxy sends before anything else on a connection to
// say which client it carries (source and destination address and port),
// so that the receiver logs, filters and balances on the real client
// rather than on the proxy.
//
// # Why strict
//
// The header is where bytes from the network become the client address
// that access control, logs, X-Forwarded-For and source hashing trust.
// A lenient reader (leading zeros read as octal by one side and as decimal
// by another, a bare LF accepted, a v2 length that runs past the address
// block) lets a sender make two parties disagree on who the client is.
// So the reader accepts exactly the grammar of the specification and
// nothing else (§2.1, §2.2):
//
//   - v1: "PROXY" SP ("TCP4" | "TCP6" | "UNKNOWN") SP src SP dst SP sport
//     SP dport CRLF, at most 107 bytes; addresses in the family announced,
//     IPv4 as four decimal numbers without leading zeros, IPv6 without a
//     zone; ports decimal 0..65535 without leading zeros or sign; exactly
//     one space between fields; only CRLF ends the line. "UNKNOWN" may
//     carry anything up to the CRLF, which is ignored (the real
//     connection's addresses apply).
//   - v2: the 12-byte signature, version 2, command LOCAL or PROXY, a
//     length that covers the address block of the family announced and
//     whose TLVs (type, length, value) end exactly at the end; a CRC32C
//     TLV, when present, must match (§2.2.5). LOCAL, and PROXY over a
//     family other than TCP over IPv4 or IPv6 (UNSPEC, UDP, UNIX), keep
//     the real connection's addresses, as HAProxy does.
//
// A reader that has seen enough bytes to know the header cannot be valid
// says so at once (the specification asks to abort as soon as possible),
// without waiting for more.
//
// # Addresses
//
// IPv4-mapped IPv6 addresses in a TCP6 header are returned unmapped, so
// that an IPv4 client is the same client whichever family a sender used;
// the writer maps an IPv4 address into IPv6 when the other one is IPv6
// (v2, as HAProxy does; v1 writes TCP6 with both in IPv6 form).
package proxyproto
