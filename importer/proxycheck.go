package importer

import (
	"bytes"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"lbd/config"
)

// proxyCheck says that a vrrp_script checks the local proxy: that HAProxy
// runs (port 0), or that it answers on a port.
type proxyCheck struct {
	what string // the idiom, for the notes
	port int    // 0: the process
}

// proxyIdioms recognize the command lines keepalived users write to check
// their local HAProxy (the seed articles use killall -0 and a curl to
// localhost in a script). Each gets the command split into words and
// returns the check, or nil. Add a row for another idiom.
var proxyIdioms = []func(args []string) *proxyCheck{
	// killall -0 haproxy, pidof haproxy, pgrep [-x] haproxy
	func(a []string) *proxyCheck {
		switch {
		case len(a) == 3 && base(a[0]) == "killall" && a[1] == "-0" && isProxyProcess(a[2]):
			return &proxyCheck{what: "killall -0 " + a[2]}
		case len(a) >= 2 && (base(a[0]) == "pidof" || base(a[0]) == "pgrep") && isProxyProcess(a[len(a)-1]) && allFlags(a[1:len(a)-1]):
			return &proxyCheck{what: base(a[0]) + " " + a[len(a)-1]}
		}
		return nil
	},
	// systemctl is-active [--quiet] haproxy[.service]; service haproxy status
	func(a []string) *proxyCheck {
		switch {
		case len(a) >= 3 && base(a[0]) == "systemctl" && a[1] == "is-active" && isProxyProcess(strings.TrimSuffix(a[len(a)-1], ".service")) && allFlags(a[2:len(a)-1]):
			return &proxyCheck{what: "systemctl is-active " + a[len(a)-1]}
		case len(a) == 3 && base(a[0]) == "service" && isProxyProcess(a[1]) && a[2] == "status":
			return &proxyCheck{what: "service " + a[1] + " status"}
		case len(a) == 2 && path.Dir(a[0]) == "/etc/init.d" && isProxyProcess(base(a[0])) && a[1] == "status":
			return &proxyCheck{what: a[0] + " status"}
		}
		return nil
	},
	// curl [options] http://localhost[:port]/..., wget ... http://127.0.0.1/...
	func(a []string) *proxyCheck {
		if len(a) < 2 || (base(a[0]) != "curl" && base(a[0]) != "wget") {
			return nil
		}
		for _, w := range a[1:] {
			if port, ok := localURL(w); ok {
				return &proxyCheck{what: base(a[0]) + " " + w, port: port}
			}
		}
		return nil
	},
	// nc -z 127.0.0.1 80, and bash's </dev/tcp/127.0.0.1/80
	func(a []string) *proxyCheck {
		if len(a) >= 3 && (base(a[0]) == "nc" || base(a[0]) == "ncat") && isLocalHost(a[len(a)-2]) && allFlags(a[1:len(a)-2]) {
			if p, err := strconv.Atoi(a[len(a)-1]); err == nil && p > 0 && p < 65536 {
				return &proxyCheck{what: strings.Join(a, " "), port: p}
			}
		}
		if len(a) == 1 {
			if m := devTCP.FindStringSubmatch(a[0]); m != nil && isLocalHost(m[1]) {
				p, _ := strconv.Atoi(m[2])
				return &proxyCheck{what: a[0], port: p}
			}
		}
		return nil
	},
}

var devTCP = regexp.MustCompile(`^<\s*/dev/tcp/([^/]+)/([0-9]{1,5})$`)

// proxyProcesses are the process names of the proxy lbd replaces.
var proxyProcesses = map[string]bool{"haproxy": true, "lbd": true}

func isProxyProcess(s string) bool { return proxyProcesses[strings.TrimSpace(s)] }

func base(s string) string { return path.Base(s) }

func allFlags(ws []string) bool {
	for _, w := range ws {
		if !strings.HasPrefix(w, "-") {
			return false
		}
	}
	return true
}

func isLocalHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || h == "[::1]" || strings.HasPrefix(h, "127.")
}

// localURL reports whether w is an http URL to this host, and its port.
func localURL(w string) (int, bool) {
	if !strings.HasPrefix(w, "http://") {
		return 0, false
	}
	u, err := url.Parse(w)
	if err != nil || !isLocalHost(u.Hostname()) {
		return 0, false
	}
	if u.Port() == "" {
		return 80, true
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil || p < 1 || p > 65535 {
		return 0, false
	}
	return p, true
}

// classifyCommand recognizes a proxy check in one command line.
func classifyCommand(cmd string) *proxyCheck { return classifyDepth(cmd, 0) }

func classifyDepth(cmd string, depth int) *proxyCheck {
	args, err := config.SplitCommand(cmd)
	if err != nil || len(args) == 0 {
		// bash's "</dev/tcp/..." splits fine; a broken quote does not.
		return nil
	}
	// sh -c '...', bash -c '...': the command inside.
	if len(args) == 3 && (base(args[0]) == "sh" || base(args[0]) == "bash") && args[1] == "-c" {
		if depth >= 2 {
			return nil
		}
		return classifyDepth(args[2], depth+1)
	}
	for _, idiom := range proxyIdioms {
		if pc := idiom(args); pc != nil {
			return pc
		}
	}
	return nil
}

// classify decides whether a vrrp_script checks the local proxy: its
// command line is an idiom, or it runs a small shell script (read through
// Options.ReadFile) whose only commands are such checks and the plumbing
// around them (if/then/grep/exit).
func (kc *kaConv) classify(scr *kaScript) *proxyCheck {
	if pc := classifyCommand(scr.command); pc != nil {
		return pc
	}
	args, err := config.SplitCommand(scr.command)
	if err != nil || len(args) == 0 || !strings.HasPrefix(args[0], "/") || kc.opts == nil || kc.opts.ReadFile == nil {
		return nil
	}
	data, err := kc.opts.ReadFile(args[0])
	if err != nil || len(data) > 64<<10 || !utf8.Valid(data) || !bytes.HasPrefix(data, []byte("#!")) {
		return nil
	}
	pc := classifyScript(string(data))
	if pc != nil {
		pc.what = args[0] + ": " + pc.what
	}
	return pc
}

// scriptPlumbing are the shell lines a check script may have around its
// check: they decide nothing about what is checked.
var scriptPlumbing = regexp.MustCompile(`^(if|then|else|elif|fi|exit( [0-9]+)?|set -[a-z]+|true|false|` +
	`if \[ .* \]|if \[\[ .* \]\]|if test .*|\[ .* \]|\[\[ .* \]\]|grep( -[a-zA-Z]+)* .*|(if )?grep .*|` +
	`return( [0-9]+)?|exit \$\?|echo .*|; then|then .*)$`)

// classifyScript recognizes a shell script whose commands are one proxy
// check (curl to localhost, killall -0 haproxy...) plus plumbing.
func classifyScript(src string) *proxyCheck {
	var found *proxyCheck
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if i == 0 || line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Output redirections and pipes into grep are plumbing too.
		cmd := line
		if j := strings.IndexAny(cmd, ">|"); j >= 0 {
			rest := strings.TrimSpace(cmd[j:])
			if strings.HasPrefix(rest, "|") && !strings.HasPrefix(strings.TrimSpace(rest[1:]), "grep") {
				return nil
			}
			cmd = strings.TrimSpace(cmd[:j])
		}
		cmd = strings.TrimSuffix(strings.TrimPrefix(cmd, "if "), "; then")
		if pc := classifyCommand(cmd); pc != nil {
			if found != nil && (found.port != pc.port) {
				return nil // two different checks: not one proxy check
			}
			found = pc
			continue
		}
		if !scriptPlumbing.MatchString(line) {
			return nil
		}
	}
	return found
}

// proxyView is what the keepalived conversion needs to know of the
// converted haproxy.cfg: its frontends, what they listen on and which
// backends they send to.
type proxyView struct {
	frontends []viewFrontend
	converted bool // a haproxy.cfg was converted with this keepalived.conf
}

type viewFrontend struct {
	name     string
	binds    []string
	backends []string
}

func newProxyView(doc *document, converted bool) *proxyView {
	pv := &proxyView{converted: converted}
	for _, n := range doc.blocks {
		if n.typ != "frontend" {
			continue
		}
		f := viewFrontend{name: n.labels[0]}
		if a := n.get("bind"); a != nil {
			f.binds = a.val.(strListV)
		}
		add := func(b string) {
			for _, x := range f.backends {
				if x == b {
					return
				}
			}
			f.backends = append(f.backends, b)
		}
		if a := n.get("default_backend"); a != nil {
			add(string(a.val.(strV)))
		}
		for _, r := range n.blocks {
			if r.typ == "route" {
				if a := r.get("backend"); a != nil {
					add(string(a.val.(strV)))
				}
			}
		}
		pv.frontends = append(pv.frontends, f)
	}
	return pv
}

// backendsFor returns the backends a proxy check stands for: every
// frontend's backends for a process check, the backends of the frontends
// listening on the port for a port check. why says why there are none.
func (pv *proxyView) backendsFor(pc *proxyCheck) ([]string, string) {
	if !pv.converted {
		return nil, "no haproxy.cfg was given to tell which backends the proxy serves (import both files together, or write track_backend blocks)"
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range pv.frontends {
		if pc.port != 0 && !listensOn(f.binds, pc.port) {
			continue
		}
		for _, b := range f.backends {
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		if pc.port != 0 {
			return nil, "no converted frontend listens on port " + strconv.Itoa(pc.port)
		}
		return nil, "the converted haproxy.cfg has no frontend"
	}
	return out, ""
}

// listensOn reports whether one of the binds takes connections to a local
// address on port.
func listensOn(binds []string, port int) bool {
	for _, b := range binds {
		ap, err := config.ParseBind(b)
		if err != nil || int(ap.Port()) != port {
			continue
		}
		if a := ap.Addr(); a.IsUnspecified() || a.IsLoopback() {
			return true
		}
	}
	return false
}
