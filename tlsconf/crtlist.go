package tlsconf

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// EntryOptions are the SSL options of one crt-list line, which apply to
// the handshakes that select its certificate. Unset fields (nil, zero,
// "") keep the bind's setting.
type EntryOptions struct {
	ALPN       []string
	MinVersion uint16
	MaxVersion uint16
	Ciphers    []uint16
	Curves     []tls.CurveID
	Verify     string // none, optional or required
	CAFile     string
	CRLFile    string
	// ClientCAs and CRLs are CAFile and CRLFile loaded.
	ClientCAs *x509.CertPool
	CRLs      *CRLSet
}

// LoadCrtList reads a crt-list file (HAProxy's format: one certificate per
// line, "FILE [OPTIONS] [FILTER...]", "#" comments): FILE is a PEM file or
// a directory, OPTIONS a bracketed list of HAProxy bind options among alpn,
// ciphers, curves, ecdhe, ssl-min-ver, ssl-max-ver, verify, ca-file and
// crl-file, and FILTERs the SNI names (wildcards "*.example.com",
// exclusions "!name") that select the certificate instead of its own
// names. Relative paths are taken from dir. Problems carry the line
// number.
func LoadCrtList(path, dir string, now time.Time) ([]*Certificate, Problems) {
	var ps Problems
	raw, err := os.ReadFile(path)
	if err != nil {
		ps.errorf("cannot read crt-list: %v", err)
		return nil, ps
	}
	var out []*Certificate
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		file, opts, filters, err := parseCrtListLine(line)
		if err != nil {
			ps.errorf("%s:%d: %v", path, ln, err)
			continue
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		certs, p := LoadCrt(file, now)
		for _, x := range p {
			x.Message = fmt.Sprintf("%s:%d: %s", path, ln, x.Message)
			ps = append(ps, x)
		}
		if opts != nil {
			loadEntryFiles(&ps, opts, dir, fmt.Sprintf("%s:%d: ", path, ln), now)
		}
		for _, c := range certs {
			c.Options = opts
			if len(filters) > 0 {
				var inc []string
				for _, f := range filters {
					if strings.HasPrefix(f, "!") {
						c.Exclude = append(c.Exclude, strings.ToLower(f[1:]))
					} else {
						inc = append(inc, strings.ToLower(f))
					}
				}
				if len(inc) > 0 {
					c.Names = inc
				}
			}
			out = append(out, c)
		}
	}
	if len(out) == 0 && !ps.HasErrors() {
		ps.errorf("crt-list %s lists no certificate", path)
	}
	return out, ps
}

// parseCrtListLine splits "file [opt val ...] filter..." into its parts.
func parseCrtListLine(line string) (file string, opts *EntryOptions, filters []string, err error) {
	fields := strings.Fields(line)
	file = fields[0]
	rest := fields[1:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "[") {
		end := -1
		for i, f := range rest {
			if strings.HasSuffix(f, "]") {
				end = i
				break
			}
		}
		if end < 0 {
			return "", nil, nil, fmt.Errorf("unterminated [options]")
		}
		words := strings.Fields(strings.Trim(strings.Join(rest[:end+1], " "), "[]"))
		rest = rest[end+1:]
		if opts, err = parseEntryOptions(words); err != nil {
			return "", nil, nil, err
		}
	}
	for _, f := range rest {
		n := strings.TrimPrefix(f, "!")
		if n == "" || strings.ContainsAny(n, "[]/") {
			return "", nil, nil, fmt.Errorf("%q is not an SNI filter", f)
		}
	}
	return file, opts, rest, nil
}

func parseEntryOptions(words []string) (*EntryOptions, error) {
	o := &EntryOptions{}
	for i := 0; i < len(words); i++ {
		name := words[i]
		if i+1 >= len(words) {
			return nil, fmt.Errorf("option %s needs a value", name)
		}
		i++
		val := words[i]
		var err error
		switch name {
		case "alpn":
			o.ALPN, err = ParseALPN(strings.Split(val, ","), false)
		case "ciphers":
			o.Ciphers, _, err = ParseCiphers(val)
		case "curves", "ecdhe":
			o.Curves = nil
			for _, n := range strings.Split(val, ":") {
				var c tls.CurveID
				if c, err = ParseCurve(n); err != nil {
					break
				}
				o.Curves = append(o.Curves, c)
			}
		case "ssl-min-ver":
			o.MinVersion, err = ParseVersion(val)
		case "ssl-max-ver":
			o.MaxVersion, err = ParseVersion(val)
		case "verify":
			if val != "none" && val != "optional" && val != "required" {
				err = fmt.Errorf("verify %q is not none, optional or required", val)
			}
			o.Verify = val
		case "ca-file":
			o.CAFile = val
		case "crl-file":
			o.CRLFile = val
		default:
			return nil, fmt.Errorf("crt-list option %q is not supported (alpn, ciphers, curves, ecdhe, ssl-min-ver, ssl-max-ver, verify, ca-file, crl-file are)", name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
	}
	if o.Verify != "" && o.Verify != "none" && o.CAFile == "" {
		return nil, fmt.Errorf("verify %s needs ca-file", o.Verify)
	}
	return o, nil
}

// ParseALPN checks a list of ALPN protocol names. With http set (an http
// frontend), only protocols lbd speaks are allowed: "h2" and "http/1.1"
// (a client told "h3" or "h2c" would speak something lbd cannot read). A
// tcp frontend passes the bytes on and may advertise what its servers
// speak.
func ParseALPN(protos []string, http bool) ([]string, error) {
	var out []string
	for _, p := range protos {
		switch {
		case http && p != "h2" && p != "http/1.1" && p != "http/1.0":
			return nil, fmt.Errorf("%q: an http frontend speaks \"h2\" and \"http/1.1\"", p)
		case p == "" || len(p) > 255:
			return nil, fmt.Errorf("%q is not an ALPN protocol name", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// loadEntryFiles loads a crt-list line's ca-file and crl-file.
func loadEntryFiles(ps *Problems, o *EntryOptions, dir, where string, now time.Time) {
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if o.CAFile != "" {
		pool, err := PoolFromFile(abs(o.CAFile))
		if err != nil {
			ps.errorf("%sca-file: %v", where, err)
		}
		o.ClientCAs = pool
	}
	if o.CRLFile != "" {
		set, p := LoadCRLs(abs(o.CRLFile), now)
		for _, x := range p {
			x.Message = where + "crl-file: " + x.Message
			*ps = append(*ps, x)
		}
		o.CRLs = set
	}
}
