// Package sample is the small language lbd's traffic policy is written
// in, with HAProxy's words: sample fetches (src, path, req.hdr(host),
// sc_http_req_rate(0), ...), converters chained after them (lower,
// map_beg(paths,default), ...), templates that mix text with "%[...]"
// expressions (the values of set_header, redirect locations, dynamic
// backends), and the condition expressions of if/unless ("a && !b",
// "a b or c" as HAProxy writes it).
//
// The package only reads and checks: it turns text into syntax trees
// with the position of every mistake (so that the configuration reports
// FILE:LINE:COL), and holds the catalog of fetches and converters with
// their arguments and types. It has no runtime state and imports nothing
// of lbd: config validates with it, and package rules compiles its trees
// into what runs on the data path.
//
// # Syntax
//
// An expression is a fetch and converters separated by commas, without
// spaces: `req.hdr(host),lower,map(hosts,web)`. Arguments are separated
// by commas inside parentheses; an argument holding a comma, a
// parenthesis or a quote is written in double quotes with backslash
// escapes, as HAProxy allows.
//
// A template is text with expressions inside "%[" and "]": `%[src]`,
// `https://%[req.hdr(host)]%[path]`. A literal percent sign is "%%".
//
// A condition combines named conditions (acl blocks, and HAProxy's
// predefined ones: TRUE, FALSE, LOCALHOST, METH_GET, HTTP_1.1, ...) with
// "!" (not), "&&" (and), "||" or "or" (or) and parentheses. As in
// HAProxy, names written one after the other are and-ed: "a b || c" is
// "(a && b) || c"; "&&" binds tighter than "||".
package sample
