package importer

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Source is one input file: the name used in notes and comments, and its
// bytes.
type Source struct {
	Name string
	Data []byte
}

// Options is one conversion: either file may be missing, not both.
type Options struct {
	HAProxy    *Source
	Keepalived *Source
	// ReadFile reads files the inputs name: keepalived's includes and the
	// shell scripts of vrrp_script (to recognize a check of the local
	// proxy). nil: nothing but the inputs is read.
	ReadFile func(path string) ([]byte, error)
	// Glob expands keepalived's include patterns; nil: patterns are read
	// as plain file names.
	Glob func(pattern string) ([]string, error)
}

// Result is a conversion: the HCL file and what was not converted, with
// why.
type Result struct {
	HCL   []byte
	Notes []Note
}

// Complete reports whether every directive was converted (or had no
// meaning in lbd): no note of kind NotConverted.
func (r *Result) Complete() bool {
	for _, n := range r.Notes {
		if n.Kind == NotConverted {
			return false
		}
	}
	return true
}

// Convert turns haproxy.cfg and/or keepalived.conf into one lbd HCL file.
// It never fails on what the files say: what it cannot convert becomes a
// note. The error is for unusable options (no input, an input too large).
func Convert(opts Options) (*Result, error) {
	if opts.HAProxy == nil && opts.Keepalived == nil {
		return nil, errors.New("nothing to convert: give a haproxy.cfg, a keepalived.conf, or both")
	}
	for _, s := range []*Source{opts.HAProxy, opts.Keepalived} {
		if s != nil && len(s.Data) > maxInput {
			return nil, fmt.Errorf("%s: %d bytes is too large to be a configuration file (at most %d)", s.Name, len(s.Data), maxInput)
		}
	}
	doc := &document{comments: comments{}}
	ns := &notes{}
	var header []string
	header = append(header, "lbd configuration written by `lbctl import` from:")
	if s := opts.HAProxy; s != nil {
		header = append(header, "  "+s.Name+" (HAProxy)")
		convertHAProxy(displayName(s.Name), s.Data, doc, ns)
	}
	if s := opts.Keepalived; s != nil {
		header = append(header, "  "+s.Name+" (keepalived)")
		convertKeepalived(displayName(s.Name), s.Data, &opts, newProxyView(doc, opts.HAProxy != nil), doc, ns)
	}
	header = append(header,
		"Each block names the line it came from; a comment after a value says",
		"why a value nobody wrote is set (HAProxy's or keepalived's default).",
		"Check it with: lbd -c -f FILE")
	return &Result{HCL: doc.render(header), Notes: dedupe(ns.sorted())}, nil
}

// displayName is how an input is named in comments: as given (a path
// relative or absolute), never rewritten.
func displayName(name string) string { return filepath.Clean(name) }

// dedupe drops repeated notes (a defaults line is seen by every proxy).
func dedupe(in []Note) []Note {
	seen := map[Note]bool{}
	var out []Note
	for _, n := range in {
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}
