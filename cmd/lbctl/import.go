package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"lbd/config"
	"lbd/importer"
)

const importUsage = `usage: lbctl import [--haproxy FILE] [--keepalived FILE] [-o FILE [--force]]

Converts haproxy.cfg and/or keepalived.conf into one lbd configuration:
the HCL goes to stdout (or FILE), every directive not converted is listed
on stderr as FILE:LINE with the reason.

Exit codes:
  0  everything was converted (or has no meaning in lbd) and the result
     passes lbd -c
  3  the result passes lbd -c, but some directives were not converted
     (listed as "not converted")
  1  the result does not pass lbd -c (its problems are listed), or an
     input cannot be read
  2  usage error
`

// exitIncomplete is import's "converted, with leftovers".
const exitIncomplete = 3

// runImport is `lbctl import`: it needs no daemon.
func runImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbctl import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	hapPath := fs.String("haproxy", "", "")
	kaPath := fs.String("keepalived", "", "")
	out := fs.String("o", "", "")
	force := fs.Bool("force", false, "")
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "lbctl import: %s\n\n%s", msg, importUsage)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, importUsage)
			return exitOK
		}
		return usage(err.Error())
	}
	if fs.NArg() > 0 {
		return usage(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if *hapPath == "" && *kaPath == "" {
		return usage("give --haproxy FILE, --keepalived FILE, or both")
	}
	if *out != "" && !*force {
		if _, err := os.Stat(*out); err == nil {
			fmt.Fprintf(stderr, "lbctl import: %s exists; add --force to replace it\n", *out)
			return exitFail
		}
	}
	opts := importer.Options{ReadFile: os.ReadFile, Glob: filepath.Glob}
	for _, in := range []struct {
		path string
		dst  **importer.Source
	}{{*hapPath, &opts.HAProxy}, {*kaPath, &opts.Keepalived}} {
		if in.path == "" {
			continue
		}
		data, err := readInput(in.path)
		if err != nil {
			fmt.Fprintf(stderr, "lbctl import: %v\n", err)
			return exitFail
		}
		*in.dst = &importer.Source{Name: in.path, Data: data}
	}
	res, err := importer.Convert(opts)
	if err != nil {
		fmt.Fprintf(stderr, "lbctl import: %v\n", err)
		return exitFail
	}
	counts := map[importer.Kind]int{}
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, n)
		counts[n.Kind]++
	}

	// lbd -c on the result: relative paths (error files) resolve from
	// where the file is written.
	name := *out
	if name == "" {
		name = "appliance.hcl"
	}
	_, verr := config.Parse(name, res.HCL)
	if *out != "" {
		if err := writeFileAtomic(*out, res.HCL); err != nil {
			fmt.Fprintf(stderr, "lbctl import: %v\n", err)
			return exitFail
		}
	} else if _, err := stdout.Write(res.HCL); err != nil {
		fmt.Fprintf(stderr, "lbctl import: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stderr, "lbctl import: %d not converted, %d ignored (no meaning in lbd), %d replaced\n",
		counts[importer.NotConverted], counts[importer.Ignored], counts[importer.Replaced])
	var diags config.Diagnostics
	if errors.As(verr, &diags) {
		fmt.Fprintf(stderr, "lbctl import: the result does not pass lbd -c yet:\n")
		for _, d := range diags {
			fmt.Fprintln(stderr, d)
		}
		return exitFail
	}
	if verr != nil {
		fmt.Fprintf(stderr, "lbctl import: checking the result: %v\n", verr)
		return exitFail
	}
	if !res.Complete() {
		fmt.Fprintf(stderr, "lbctl import: the result passes lbd -c; the directives \"not converted\" above need a decision\n")
		return exitIncomplete
	}
	fmt.Fprintf(stderr, "lbctl import: complete; the result passes lbd -c\n")
	return exitOK
}

// readInput reads an input file, refusing what cannot be a configuration
// (a directory, a device, something huge).
func readInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	const limit = 16 << 20
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a configuration file", path, limit)
	}
	return data, nil
}

// writeFileAtomic writes the file next to its final name, then renames
// it, so a reader (lbd reloading) never sees half of it. The mode is 0640:
// the file may hold passwords (stats auth, auth_pass).
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
