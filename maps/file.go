package maps

import (
	"bytes"
	"fmt"
)

// ParseError is a bad line of a map file.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads a map file as HAProxy does: one entry per line, the key up
// to the first blank, the value the rest of the line with the blanks
// around it removed; lines starting with '#' (after blanks) and blank
// lines are skipped; CRLF line ends are accepted. A key without a value
// maps to the empty string. Lines that no entry may hold (control
// characters, oversized keys or values) are reported with their number.
func Parse(raw []byte) ([]Entry, []*ParseError) {
	var out []Entry
	var errs []*ParseError
	n := 0
	for len(raw) > 0 {
		n++
		var line []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			line, raw = raw, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		line = bytes.TrimLeft(line, " \t")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k := bytes.IndexAny(line, " \t")
		key, value := line, []byte(nil)
		if k >= 0 {
			key, value = line[:k], bytes.Trim(line[k:], " \t")
		}
		if err := CheckEntry(string(key), string(value)); err != nil {
			errs = append(errs, &ParseError{Line: n, Msg: err.Error()})
			continue
		}
		out = append(out, Entry{Key: string(key), Value: string(value), Line: n})
	}
	return out, errs
}
