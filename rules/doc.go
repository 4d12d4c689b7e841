// Package rules runs a frontend's traffic policy: the acl blocks (named
// conditions), the http_request, http_response and tcp_request rules,
// and the routes, with HAProxy's meanings. The configuration (package
// config, with the syntax of package sample) is compiled once per load
// into a Program: matchers with their patterns ready (exact patterns in a
// hash set past a few, regexes compiled, CIDR lists parsed), conditions
// as trees over acl indexes, templates as literal parts and compiled
// expressions, maps and stick tables bound.
//
// # The data path
//
// A request is evaluated against a Ctx the proxy keeps per transaction:
// the parsed head (spans into the client's buffer, package h1), the
// client and destination addresses, TLS facts and stick counters. An acl
// is evaluated at most once per request (its result is cached until a
// rewrite), matchers read the head in place, converters and templates
// write into a workspace reused from request to request: evaluating
// conditions and running the rules costs no allocation (tested with
// testing.AllocsPerRun). The one exception is a regex replacement
// (replace_header, replace_value, replace_path, replace_uri), for which Go's
// regexp returns the submatch positions in a new slice.
//
// Regular expressions are Go's (RE2): matching takes time linear in the
// input, whatever the expression and the input, so that no request can
// make a rule backtrack for seconds (PCRE's catastrophic backtracking).
// RE2 has no back-references and no look-around; the configuration
// refuses such expressions with their position.
//
// # Rewrites
//
// Edits go through an Editor that rebuilds the head and parses it again
// with h1: the rules that follow see the rewritten request (as in
// HAProxy), and the proxy forwards it with its own writer, which writes
// framing and Host from the parse and never copies them. Rules cannot
// name framing or hop-by-hop fields (refused at load); values built at
// request time are refused when they hold CR, LF, NUL or another control
// character; Host can only be replaced, with a valid host.
//
// # HAProxy's matching rules
//
//   - hdr(NAME) in a condition tries every value of every occurrence,
//     split on commas outside quotes, trimmed, empty values included; as a
//     sample (in a template) it is the last value. fhdr does not split.
//     Header names compare without case, values with case unless
//     ignore_case (HAProxy's -i).
//   - cookie(NAME) tries every cookie of that exact name in every Cookie
//     line; url_param(NAME) every "NAME=value" of the query string
//     (parameters separated by & or ;); a bare "NAME" is not found.
//   - path is the path without the query; path_dir and path_dom match
//     whole words delimited by "/" and "?" (dom: also "." and ":").
//   - host (lbd's) is the Host without its port and compares without
//     case, as clients write it; hdr "Host" is the field as sent.
//   - Integers compare with eq, ge, gt, le, lt or ranges LO:HI.
//   - A sample that has no value (a missing header) matches nothing,
//     except found; an empty value is a value.
package rules
