// Package importer converts HAProxy's haproxy.cfg and keepalived's
// keepalived.conf into one lbd HCL file: `lbctl import`. Users arrive with
// files that took years to write; moving a pair to lbd should be one
// checked step, never a silent loss.
//
// # What it guarantees
//
// Every directive of the inputs is either converted (each output value
// names the FILE:LINE it came from, the author's comments travel with it)
// or listed in a Note with FILE:LINE and the reason: NotConverted (lbd
// cannot do it, or only approximately: the conversion is incomplete),
// Ignored (it has no meaning in lbd: daemon, chroot, ...) or Replaced (it
// became something else that does its job: a vrrp_script checking the
// local HAProxy becomes a native track_backend). Where HAProxy's or
// keepalived's defaults differ from lbd's, the output writes HAProxy's and
// keepalived's values out with a comment saying so (a server without
// "check" gets check = false, a cookie line without "httponly" gets
// httponly = false, keepalived's script interval 1s...), so that the
// converted pair behaves as the old one. The output is in a stable order
// (lbd's schema order, then the files' order) and the result of the same
// inputs is the same bytes.
//
// The inputs are untrusted: lines are bounded, quoting and escaping follow
// HAProxy's parse_line and keepalived's parser, nesting and includes are
// bounded, and every string written to the HCL is escaped so that the
// output is data (FuzzHAProxy, FuzzKeepalived, FuzzQuote).
//
// # How the conversion is organized: tables
//
// Each input file is parsed into lines (haproxy.cfg: sections of words;
// keepalived.conf: a tree of statements), then every line is looked up in
// a conversion table and its row runs:
//
//   - haproxy.cfg: proxyKeywords (defaults, frontend, backend, listen),
//     globalKeywords (and globalPrefixes for tune.* and friends),
//     bindOptions (the words after "bind ADDR"), serverOptions (server and
//     default-server lines), cookieOptions, aclCriteria (what a route can
//     match on);
//   - keepalived.conf: topKeywords, globalDefsKeywords, scriptKeywords,
//     trackProcessKeywords, instanceKeywords, vipOptions; proxyIdioms
//     recognize the scripts that check the local HAProxy.
//
// A row says where HAProxy accepts the keyword (the "May be used in
// sections" line of its manual) and what it becomes: a conv function, or
// an ignore reason (no meaning in lbd), or a reject reason (not
// convertible yet). Simple rows write an attribute of the output block
// (feInt, beInt, globalInt); rows whose meaning spans lines write into the
// proxy's accumulators (servers, checks, cookies, acls and use_backend,
// stats, timeouts), which the finish step turns into blocks once the
// section is read, resolving HAProxy's defaults sections and the timeouts
// HAProxy derives from others.
//
// # Adding a directive
//
// When lbd gains a capability, its HAProxy/keepalived directives are not
// done until import converts them. That is one row and one test row:
//
//  1. Find the row in the table above (most unsupported directives already
//     have a reject row, e.g. "proto" in bindOptions, "http-response"
//     in proxyKeywords, "track_bfd" in instanceKeywords) and replace its
//     reject with a conv function that writes the new attribute or block.
//     For the output's order, add the attribute to attrOrder.
//  2. Add a row to TestDirectives (directives_test.go) with the directive
//     and the HCL it must become; the test also checks that the output
//     passes lbd's config package.
//  3. Run go test ./importer -update and review the golden files that
//     change (the seed articles' and Debian's examples' conversions).
//
// TLS is done that way (haproxy_tls.go, haproxy_tls_server.go): a bind
// line with "ssl" becomes a tls block, server TLS options a server's tls
// block, ssl-default-* global's blocks. For example HTTP/2: "alpn" and
// "proto"; rules: the "http-request" row of proxyKeywords parses the
// rule (aclCriteria and parseCondition already read acls and conditions);
// VRRPv3, IPv6, virtual MACs and sync groups too (keepalived_v3.go): the
// "version" and "vrrp_version" rows record the version, finish writes it
// with advert_int in the version's unit; "vrrp_sync_group" has a table of
// its own (syncGroupKeywords).
package importer
