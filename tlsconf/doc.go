// Package tlsconf is lbd's TLS configuration: certificates loaded from PEM
// files, directories and crt-lists as HAProxy's "crt" and "crt-list" take
// them, certificate selection by server name (RFC 6066 §3), protocol
// versions, cipher suites and key-exchange groups named as OpenSSL names
// them, client certificate policy with CA files and CRLs (RFC 5280 §6.3),
// session resumption (RFC 5077 tickets in TLS 1.2, RFC 8446 §4.6.1 tickets
// in TLS 1.3) and OCSP stapling (RFC 6066 §8), on top of Go's crypto/tls.
//
// It is a leaf package: config uses it to check files and strings where
// they are written (FILE:LINE:COL), the proxy and the health checks use it
// to build *tls.Config values. It holds no listener and no connection.
//
// Choices, and why:
//
//   - Versions default to TLS 1.2 and 1.3, TLS 1.2 suites to the ECDHE AEAD
//     suites of Mozilla's "intermediate" profile (its finite-field DHE
//     suites do not exist in Go), groups to X25519, P-256 and P-384 after
//     the hybrid post-quantum X25519MLKEM768 that modern browsers offer.
//     TLS 1.3 suites are not configurable: crypto/tls always offers its
//     three AEAD suites, all of which are in every Mozilla profile.
//   - Cipher strings are OpenSSL's syntax (names, aliases such as ECDHE or
//     AESGCM, "+" conjunctions, "!"/"-" removals), so that haproxy.cfg's
//     ciphers lines keep working. crypto/tls ignores the order of the list
//     (it orders suites itself, preferring AES-GCM when both ends have AES
//     hardware), so only the set matters.
//   - Session tickets are encrypted by lbd itself (Config.WrapSession) with
//     keys derived from a secret (HKDF, RFC 5869) and the current time
//     period: both nodes of a pair that read the same secret file derive
//     the same keys at the same time and rotate them together, without a
//     network channel between them, so a client resumes its session on the
//     node that took the VIP over. Without a secret file the secret is
//     random per process. With tickets turned off (HAProxy's
//     no-tls-tickets) sessions are kept in a bounded in-memory cache and
//     the ticket the client gets is only a random handle to it, as
//     OpenSSL's stateful TLS 1.3 tickets. TLS 1.2 resumption by session ID
//     (clients that offer no ticket extension) is not possible with
//     crypto/tls, which never assigns session IDs (golang/go#18607): such
//     clients make a full handshake.
package tlsconf
