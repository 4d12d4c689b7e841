package importer

import (
	"fmt"
	"sort"
)

// Kind says what became of a directive that was not simply converted.
type Kind int

const (
	// NotConverted: lbd cannot do what the directive asks (yet), or only
	// approximately; the conversion is incomplete.
	NotConverted Kind = iota
	// Ignored: the directive has no meaning in lbd (lbd does it by itself,
	// or systemd does); nothing is lost.
	Ignored
	// Replaced: converted into something else that does the same job, for
	// example a vrrp_script that checks the local HAProxy became a native
	// track_backend.
	Replaced
)

func (k Kind) String() string {
	switch k {
	case NotConverted:
		return "not converted"
	case Ignored:
		return "ignored"
	case Replaced:
		return "replaced"
	}
	return "?"
}

// Note is what the conversion says about one directive of an input file.
type Note struct {
	File      string
	Line      int
	Kind      Kind
	Directive string // the directive as written (shortened)
	Reason    string
}

// String formats the note as FILE:LINE: kind: directive: reason.
func (n Note) String() string {
	loc := n.File
	if n.Line > 0 {
		loc = fmt.Sprintf("%s:%d", n.File, n.Line)
	}
	if n.Directive == "" {
		return fmt.Sprintf("%s: %s: %s", loc, n.Kind, n.Reason)
	}
	return fmt.Sprintf("%s: %s: %s: %s", loc, n.Kind, n.Directive, n.Reason)
}

// notes collects the notes of one conversion.
type notes struct {
	list []Note
}

func (ns *notes) add(p pos, k Kind, directive, format string, args ...any) {
	ns.list = append(ns.list, Note{
		File: p.file, Line: p.line, Kind: k,
		Directive: shorten(commentText(directive), 80),
		Reason:    commentText(fmt.Sprintf(format, args...)),
	})
}

// sorted returns the notes by file, then line, in a stable order.
func (ns *notes) sorted() []Note {
	out := append([]Note(nil), ns.list...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}
