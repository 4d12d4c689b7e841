//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// logsHAProxyCfg is an HAProxy user's configuration with its logs sent to
// the local rsyslog (UDP 127.0.0.1:5140) in the httplog format, with
// captured headers. The same file runs HAProxy on lb2, and lbd on lb1
// after lbctl import.
const logsHAProxyCfg = `global
    log 127.0.0.1:5140 local0

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 10s
    timeout server 10s

frontend web
    bind *:80
    capture request header Host len 32
    capture request header X-Trace len 8
    capture response header Content-Type len 12
    acl is_empty path_beg /empty
    use_backend empty if is_empty
    default_backend app

backend app
    balance roundrobin
    cookie SRV insert indirect nocache
    server web1 192.0.2.21:80 cookie w1
    server web2 192.0.2.22:80 cookie w2

backend empty
    mode http

listen lines
    mode tcp
    option tcplog
    bind *:9000
    server web1 192.0.2.21:9000
`

// rsyslogConf receives syslog over UDP on the node's loopback and over a
// unix socket, and writes what it gets in rsyslog's traditional file
// format ("Mmm dd hh:mm:ss host tag[pid]: message"), the one halog reads.
func rsyslogConf(dir string) string {
	return fmt.Sprintf(`global(workDirectory=%[1]q)
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="5140")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket=%[2]q CreatePath="on" UseSpecialParser="off" ParseHostname="on")
if $inputname == "imudp" then {
  action(type="omfile" file=%[3]q template="RSYSLOG_TraditionalFileFormat")
} else {
  action(type="omfile" file=%[4]q template="RSYSLOG_SyslogProtocol23Format")
}
`, dir, filepath.Join(dir, "log.sock"), filepath.Join(dir, "udp.log"), filepath.Join(dir, "unix.log"))
}

// startRsyslog runs rsyslogd in host's namespace with its files in a
// directory of its own, and waits until it writes what it receives.
func startRsyslog(t *testing.T, l *Lab, host string) string {
	t.Helper()
	rsyslogd := requireProgram(t, "rsyslogd")
	dir := filepath.Join(l.Dir(), "rsyslog-"+host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, []byte(rsyslogConf(dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := l.Start(host, rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	Eventually(t, 10*time.Second, func() bool {
		if p.Exited() {
			t.Fatalf("rsyslogd in %s exited: %s", host, p.Output())
		}
		l.Exec(host, "bash", "-c", "printf '<134>Jan  1 00:00:00 probe[1]: ready' >/dev/udp/127.0.0.1/5140")
		b, _ := os.ReadFile(filepath.Join(dir, "udp.log"))
		return bytes.Contains(b, []byte("probe[1]: ready"))
	}, "rsyslogd in %s to write what it receives", host)
	return dir
}

// accessLines are the httplog and tcplog lines of a log file: the lines
// whose 7th field is the accept date (what halog reads).
func accessLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 7 && strings.HasPrefix(f[6], "[") {
			out = append(out, l)
		}
	}
	return out
}

// normalized keeps what HAProxy and lbd must write alike in an access
// line: everything but the syslog header, the client port, the date, the
// timers' values (not which phases were reached, -1), byte counts and
// connection counts, which depend on timing and on each proxy's own
// response headers.
func normalized(line string) string {
	f := strings.Fields(line)
	if len(f) < 10 {
		return line
	}
	f = f[5:] // Mmm dd hh:mm:ss host tag[pid]:
	if i := strings.LastIndexByte(f[0], ':'); i > 0 {
		f[0] = f[0][:i] + ":PORT"
	}
	f[1] = "[DATE]"
	timers := strings.Split(f[4], "/")
	for i, v := range timers {
		if v != "-1" {
			timers[i] = "T"
		}
	}
	f[4] = strings.Join(timers, "/")
	if len(timers) == 5 { // httplog: status bytes CC CS tsc conns queues ...
		f[6], f[10] = "BYTES", "CONNS"
	} else { // tcplog: bytes ts conns queues
		f[5], f[7] = "BYTES", "CONNS"
	}
	return strings.Join(f, " ")
}

// TestLogsHalog sends the same traffic through HAProxy and through lbd
// running the imported configuration, each logging in httplog/tcplog to
// a real rsyslog, and reads both files with halog: the counts by status
// (-st), by server (-srv) and by termination code (-tc) are the same, and
// so are the lines but for timings, dates, ports and byte counts. lbd
// also sends RFC 5424 lines to rsyslog's unix socket.
func TestLogsHalog(t *testing.T) {
	haproxy := requireProgram(t, "haproxy")
	halog := requireProgram(t, "halog")
	RequireLBD(t)
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")
	hpLogs := startRsyslog(t, l, "lb2")
	lbLogs := startRsyslog(t, l, "lb1")

	cfgPath := filepath.Join(l.Dir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(logsHAProxyCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	out, err := exec.Command(Bin(t, "lbctl"), "import", "--haproxy", cfgPath).Output()
	if err != nil {
		t.Fatalf("lbctl import: %v\n%s", err, stderr.String())
	}
	// One more target: RFC 5424 to rsyslog's unix socket (a /dev/log).
	hcl := strings.Replace(string(out), "global {", "global {\n  log \"unix@"+filepath.Join(lbLogs, "log.sock")+"\" {\n    format = \"rfc5424\"\n    facility = \"local1\"\n  }", 1)
	t.Logf("imported configuration:\n%s", hcl)

	hp := l.Start("lb2", haproxy, "-db", "-f", cfgPath)
	lb := l.StartLBD("lb1", hcl)
	proxies := []struct{ name, addr string }{{"haproxy", l.Addr("lb2")}, {"lbd", l.Addr("lb1")}}
	for _, p := range proxies {
		Eventually(t, 10*time.Second, func() bool {
			c, err := l.Dial("client", "tcp", p.addr+":80")
			if err == nil {
				c.Close()
			}
			return err == nil
		}, "%s to listen on %s:80 (%s)", p.name, p.addr, Lazy(hp.Output))
	}

	// The same requests through each, one connection each (an idle
	// probe connection is not logged by either: nothing was sent).
	requests := 0
	for _, p := range proxies {
		n := 0
		do := func(method, path, cookie, trace string) {
			req, _ := http.NewRequest(method, "http://"+p.addr+path, nil)
			req.Host = "www.example.com" // the same captured Host through both
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			if trace != "" {
				req.Header.Set("X-Trace", trace)
			}
			if _, _, err := l.HTTPDo("client", req); err != nil {
				t.Fatalf("%s %s via %s: %v", method, path, p.name, err)
			}
			n++
		}
		for i := range 6 {
			do("GET", fmt.Sprintf("/page/%d", i), "", "")
		}
		do("GET", "/", "SRV=w2", "abc|{x}#")
		do("GET", "/", "SRV=nope", "")
		do("HEAD", "/", "", "a-very-long-trace-id")
		for _, code := range []int{404, 500, 302} {
			do("GET", fmt.Sprintf("/status?code=%d", code), "", "")
		}
		do("GET", "/empty/x", "", "")
		do("POST", "/", "", "")
		// A request no proxy can parse.
		c, err := l.Dial("client", "tcp", p.addr+":80")
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("GET\r\n\r\n"))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
		n++
		// tcp sessions
		for range 2 {
			c, err := l.Dial("client", "tcp", p.addr+":9000")
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("NAME\n"))
			c.Read(buf)
			c.Close()
			n++
		}
		requests = n
	}
	files := map[string]string{"haproxy": filepath.Join(hpLogs, "udp.log"), "lbd": filepath.Join(lbLogs, "udp.log")}
	for name, f := range files {
		Eventually(t, 15*time.Second, func() bool { return len(accessLines(t, f)) >= requests },
			"%s's %d access lines in %s (has %s)", name, requests, f, Lazy(func() string { return fmt.Sprint(len(accessLines(t, f))) }))
	}
	time.Sleep(500 * time.Millisecond) // nothing more comes
	hpLines, lbLines := accessLines(t, files["haproxy"]), accessLines(t, files["lbd"])
	if len(hpLines) != requests || len(lbLines) != requests {
		t.Fatalf("access lines: haproxy %d, lbd %d, want %d each\n--- haproxy\n%s\n--- lbd\n%s", len(hpLines), len(lbLines), requests,
			strings.Join(hpLines, "\n"), strings.Join(lbLines, "\n"))
	}
	// Each proxy logs a request when it ends: an error response closing
	// its connection may be logged after the next request's line, so the
	// lines are compared in sorted order.
	norm := func(lines []string) []string {
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = normalized(l)
		}
		sort.Strings(out)
		return out
	}
	hpNorm, lbNorm := norm(hpLines), norm(lbLines)
	for i := range hpNorm {
		if hpNorm[i] != lbNorm[i] {
			t.Errorf("lines differ:\n haproxy %s\n lbd     %s\n--- haproxy's lines\n%s\n--- lbd's lines\n%s", hpNorm[i], lbNorm[i],
				strings.Join(hpLines, "\n"), strings.Join(lbLines, "\n"))
			break
		}
	}
	t.Logf("lbd's httplog and tcplog lines, as rsyslog wrote them:\n%s", strings.Join(lbLines, "\n"))

	for _, flag := range []string{"-st", "-srv", "-tc"} {
		var outs [2]string
		for i, name := range []string{"haproxy", "lbd"} {
			in, err := os.Open(files[name])
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(halog, flag)
			cmd.Stdin = in
			b, err := cmd.Output()
			in.Close()
			if err != nil {
				t.Fatalf("halog %s on %s's log: %v", flag, name, err)
			}
			outs[i] = string(b)
			if flag == "-srv" { // the last two columns are average timings
				var lines []string
				for _, l := range strings.Split(strings.TrimSpace(outs[i]), "\n") {
					f := strings.Fields(l)
					lines = append(lines, strings.Join(f[:len(f)-2], " "))
				}
				outs[i] = strings.Join(lines, "\n")
			}
		}
		if outs[0] != outs[1] || strings.TrimSpace(outs[0]) == "" {
			t.Errorf("halog %s differs:\n--- haproxy\n%s\n--- lbd\n%s", flag, outs[0], outs[1])
		} else {
			t.Logf("FIGURE halog %s, the same for HAProxy and lbd:\n%s", flag, outs[0])
		}
	}

	// The RFC 5424 target: rsyslog parsed lbd's structured header.
	Eventually(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(lbLogs, "unix.log"))
		return bytes.Contains(b, []byte(" haproxy ")) && bytes.Contains(b, []byte(`"GET /page/0 HTTP/1.1"`))
	}, "lbd's RFC 5424 lines on rsyslog's unix socket")
	b, _ := os.ReadFile(filepath.Join(lbLogs, "unix.log"))
	first := strings.SplitN(string(b), "\n", 2)[0]
	// <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG, local1.info = 142
	if !regexp.MustCompile(`^<1[0-9][0-9]>1 \d{4}-\d\d-\d\dT[^ ]+ \S+ haproxy \d+ - - `).MatchString(first) {
		t.Errorf("rsyslog's RFC 5424 record of lbd's line: %q", first)
	}
	if !strings.Contains(string(b), "<142>1 ") {
		t.Errorf("no access line at local1.info in %q", b)
	}
	if out, err := lb.Ctl("info"); err != nil {
		t.Errorf("lbctl info: %v %s", err, out)
	}
}
