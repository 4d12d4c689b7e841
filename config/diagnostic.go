package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostic is one problem found in a configuration file.
type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	// Warning marks a problem that leaves the configuration valid.
	Warning bool `json:"warning,omitempty"`
}

// String formats the diagnostic as FILE:LINE:COL: message, the form editors
// and compilers use, so that an operator can jump to it.
func (d Diagnostic) String() string {
	msg := d.Message
	if d.Warning {
		msg = "warning: " + msg
	}
	if d.Line == 0 {
		return fmt.Sprintf("%s: %s", d.File, msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Column, msg)
}

// Diagnostics is every problem of a file; as an error it prints one per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Strings returns the diagnostics formatted one per element.
func (ds Diagnostics) Strings() []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

// fromHCL converts HCL's diagnostics, sorted by position so that the output
// reads top to bottom like the file.
func fromHCL(filename string, hds hcl.Diagnostics) Diagnostics {
	return convertHCL(filename, hds, hcl.DiagError)
}

// warningsFromHCL converts the warnings among hds.
func warningsFromHCL(filename string, hds hcl.Diagnostics) Diagnostics {
	return convertHCL(filename, hds, hcl.DiagWarning)
}

func convertHCL(filename string, hds hcl.Diagnostics, sev hcl.DiagnosticSeverity) Diagnostics {
	var out Diagnostics
	for _, hd := range hds {
		if hd.Severity != sev {
			continue
		}
		msg := hd.Summary
		if hd.Detail != "" {
			msg += ": " + hd.Detail
		}
		d := Diagnostic{File: filename, Message: msg, Warning: sev == hcl.DiagWarning}
		if hd.Subject != nil {
			if hd.Subject.Filename != "" {
				d.File = hd.Subject.Filename
			}
			d.Line = hd.Subject.Start.Line
			d.Column = hd.Subject.Start.Column
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return out
}
