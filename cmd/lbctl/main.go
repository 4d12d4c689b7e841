// Command lbctl is the operator's client of a running lbd: it talks to the
// admin API on the unix socket and prints aligned tables, or the raw JSON
// with --json.
//
// Exit codes: 0 success, 1 the command failed (daemon not running, unknown
// name, refused change, invalid configuration), 2 usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"lbd/admin"
	"lbd/config"
)

const usage = `usage: lbctl [--socket PATH] [--json] COMMAND

Commands:
  vip status                          VRRP instances: state, priorities, VIPs, master
  vip release NAME                    planned failover: hand the VIP to the peer
  vip reclaim NAME                    undo a release
  bgp status                          BGP neighbours, sessions, routes announced, drained or not
  bgp drain                           withdraw every route; the node keeps serving
  bgp undrain                         announce again
  backend status [NAME]               servers: state, weight, connections, queue, last check
  server state BACKEND/SERVER ready|drain|maint
  server weight BACKEND/SERVER N      runtime weight 0..256
  reload                              re-read the configuration (as SIGHUP)
  pair vip status                     both nodes of the pair side by side, and configuration drift
  pair backend status [NAME]          both nodes' servers
  pair server state|weight BACKEND/SERVER VALUE
                                      on both nodes
  pair reload                         reload the backup, then (if it applied) the master
  pair drift                          settings that differ between the two nodes' files
  upgrade                             seamless binary upgrade: run the lbd binary now installed,
                                      handing it the sockets, VRRP and runtime state (as SIGUSR2)
  check FILE                          validate a configuration file (as lbd -c -f FILE)
  import [--haproxy FILE] [--keepalived FILE] [-o FILE]
                                      convert haproxy.cfg / keepalived.conf to lbd's HCL
                                      (lbctl import -h for the details)
  info                                daemon version, configuration file, uptime
  cert list                           certificates served: names, issuer, expiry, binds
  tls tickets                         session ticket keys: source, period, next rotation
  tls tickets rotate                  start a new ticket secret now
  map list                            maps: entries, keys changed at runtime, lookups
  map show NAME                       a map's entries (file line, or runtime)
  map add NAME KEY VALUE              add an entry (no reload)
  map set NAME KEY VALUE              change the value of every entry of KEY
  map del NAME KEY                    remove every entry of KEY
  map clear NAME                      remove every entry
  map reset NAME                      drop the runtime changes: back to the file
  table list                          stick tables: type, size, entries, lookups, evictions
  table show NAME [--key KEY]         a table's entries and counters (HAProxy's show table)
  table clear NAME [--key KEY]        remove entries (those in use get their counters zeroed)

Options:
  --socket PATH   admin socket (default $LBD_SOCKET or /run/lbd/admin.sock)
  --json          print the daemon's JSON instead of a table
`

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cli is one invocation: options plus where output goes.
type cli struct {
	socket string
	json   bool
	out    io.Writer
	errOut io.Writer
	client *admin.Client
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "import" {
		return runImport(args[1:], stdout, stderr) // its own options; no daemon
	}
	c := &cli{socket: os.Getenv("LBD_SOCKET"), out: stdout, errOut: stderr}
	if c.socket == "" {
		c.socket = "/run/lbd/admin.sock"
	}
	// Options may come before or after the command words; after "--"
	// everything is a word (a name that starts with "-"). A negative
	// number is a word too, so that `server weight B/S -1` gets the
	// weight's own error.
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			words = append(words, args[i+1:]...)
			i = len(args)
		case a == "--json" || a == "-json":
			c.json = true
		case a == "--socket" || a == "-socket" || strings.HasPrefix(a, "--socket="):
			v, ok := strings.CutPrefix(a, "--socket=")
			if !ok {
				if i+1 >= len(args) {
					v = ""
				} else {
					i++
					v = args[i]
				}
			}
			if v == "" {
				fmt.Fprintf(stderr, "lbctl: --socket needs a path\n\n%s", usage)
				return exitUsage
			}
			c.socket = v
		case a == "-h" || a == "--help" || a == "help" && len(words) == 0:
			fmt.Fprint(stdout, usage)
			return exitOK
		case len(words) > 0 && words[0] == "table" && (a == "--key" || strings.HasPrefix(a, "--key=")):
			// table's own option (table.go), with its value as is
			words = append(words, a)
			if a == "--key" && i+1 < len(args) {
				i++
				words = append(words, args[i])
			}
		case strings.HasPrefix(a, "-") && len(a) > 1 && !isNumber(a[1:]):
			fmt.Fprintf(stderr, "lbctl: unknown option %s\n\n%s", a, usage)
			return exitUsage
		default:
			words = append(words, a)
		}
	}
	c.client = admin.NewClient(c.socket, 30*time.Second)
	err := c.dispatch(words)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "lbctl: %s\n\n%s", ue.msg, usage)
		return exitUsage
	}
	fmt.Fprintf(stderr, "lbctl: %v\n", err)
	var ae *admin.APIError
	if errors.As(err, &ae) {
		for _, d := range ae.Diagnostics {
			fmt.Fprintln(stderr, d)
		}
	}
	return exitFail
}

func (c *cli) dispatch(w []string) error {
	if len(w) == 0 {
		return usageError{"a command is required"}
	}
	arity := func(n int, form string) error {
		if len(w) != n {
			return usageError{"usage: lbctl " + form}
		}
		return nil
	}
	switch w[0] {
	case "vip":
		if len(w) < 2 {
			return usageError{"usage: lbctl vip status|release NAME|reclaim NAME"}
		}
		switch w[1] {
		case "status":
			if err := arity(2, "vip status"); err != nil {
				return err
			}
			return c.vipStatus()
		case "release", "reclaim":
			if err := arity(3, "vip "+w[1]+" NAME"); err != nil {
				return err
			}
			return c.vipAction(w[1], w[2])
		}
		return usageError{fmt.Sprintf("unknown vip command %q", w[1])}
	case "bgp":
		return c.bgpCmd(w)
	case "backend":
		if len(w) < 2 || w[1] != "status" || len(w) > 3 {
			return usageError{"usage: lbctl backend status [NAME]"}
		}
		name := ""
		if len(w) == 3 {
			name = w[2]
		}
		return c.backendStatus(name)
	case "server":
		if len(w) != 4 || (w[1] != "state" && w[1] != "weight") {
			return usageError{"usage: lbctl server state BACKEND/SERVER ready|drain|maint, or lbctl server weight BACKEND/SERVER N"}
		}
		return c.server(w[1], w[2], w[3])
	case "reload":
		if err := arity(1, "reload"); err != nil {
			return err
		}
		return c.reload()
	case "upgrade":
		if err := arity(1, "upgrade"); err != nil {
			return err
		}
		return c.upgrade()
	case "check":
		if err := arity(2, "check FILE"); err != nil {
			return err
		}
		return c.check(w[1])
	case "info":
		if err := arity(1, "info"); err != nil {
			return err
		}
		return c.info()
	case "cert", "tls":
		return c.tlsCommand(w)
	case "pair":
		return c.pairCmd(w)
	case "map":
		return c.mapCommand(w)
	case "table":
		return c.tableCommand(w)
	}
	return usageError{fmt.Sprintf("unknown command %q", w[0])}
}

// check validates a file locally: it needs no daemon, so it can run
// before a config is installed.
func (c *cli) check(path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		var diags config.Diagnostics
		if errors.As(err, &diags) {
			// As lbd -c: the diagnostics on stderr, nothing on stdout.
			for _, d := range diags {
				fmt.Fprintln(c.errOut, d)
			}
			return fmt.Errorf("%s: %d problem(s)", path, len(diags))
		}
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(c.errOut, w)
	}
	fmt.Fprintln(c.out, "configuration is valid")
	return nil
}

// upgrade asks the daemon to replace itself with the binary installed at
// its path; the answer comes once the new process serves and holds VRRP.
func (c *cli) upgrade() error {
	var res admin.UpgradeResult
	var raw []byte
	if err := admin.NewClient(c.socket, 2*time.Minute).Post("/v1/upgrade", nil, &res, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	// The old process answered; the admin socket is the new one's as soon
	// as the old one has let go of it.
	version := "?"
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var in admin.Info
		if err := c.client.Get("/v1/info", &in, nil); err == nil && in.PID == res.NewPID {
			version = in.Version
			break
		}
	}
	fmt.Fprintf(c.out, "upgraded: pid %d (%s) -> pid %d (%s); the old process finishes its connections and exits\n",
		res.OldPID, res.OldVersion, res.NewPID, version)
	return nil
}

func (c *cli) reload() error {
	var res admin.ReloadResult
	var raw []byte
	if err := c.client.Post("/v1/reload", nil, &res, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	fmt.Fprintln(c.out, res.Message)
	return nil
}

func (c *cli) info() error {
	var in admin.Info
	var raw []byte
	if err := c.client.Get("/v1/info", &in, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	t := newTable(c.out)
	t.row("version", in.Version)
	t.row("config", in.Config)
	t.row("pid", fmt.Sprint(in.PID))
	t.row("started", fmt.Sprintf("%s (%s ago)", in.StartedAt.Format(time.RFC3339), since(in.StartedAt)))
	t.row("reloads", fmt.Sprintf("%d (%d refused)", in.Reloads, in.ReloadsFailed))
	if in.Reloads > 0 {
		outcome := "applied"
		if !in.LastReloadOK {
			first, rest, _ := strings.Cut(in.LastReloadMessage, "\n")
			outcome = "REFUSED, the running configuration is kept: " + first
			if rest != "" {
				outcome += fmt.Sprintf(" (and %d more; lbctl reload prints them all)", strings.Count(rest, "\n")+1)
			}
		}
		t.row("last reload", fmt.Sprintf("%s (%s ago): %s", in.LastReload.Format(time.RFC3339), since(in.LastReload), outcome))
	}
	return t.flush()
}

func (c *cli) server(what, target, value string) error {
	be, sv, ok := strings.Cut(target, "/")
	if !ok || be == "" || sv == "" {
		return usageError{fmt.Sprintf("%q: expected BACKEND/SERVER", target)}
	}
	path := "/v1/servers/" + pathEscape(be) + "/" + pathEscape(sv) + "/" + what
	var body any
	switch what {
	case "state":
		value = strings.ToLower(value) // as the daemon reads it
		switch value {
		case "ready", "drain", "maint":
		default:
			return usageError{fmt.Sprintf("state %q: expected ready, drain or maint", value)}
		}
		body = map[string]string{"state": value}
	case "weight":
		var n int
		if _, err := fmt.Sscan(value, &n); err != nil || n < 0 || n > 256 || fmt.Sprint(n) != value {
			return usageError{fmt.Sprintf("weight %q: expected a whole number 0..256", value)}
		}
		body = map[string]int{"weight": n}
	}
	var raw []byte
	if err := c.client.Post(path, body, nil, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	fmt.Fprintf(c.out, "%s/%s: %s set to %s\n", be, sv, what, value)
	return nil
}

func (c *cli) vipAction(what, name string) error {
	var raw []byte
	if err := c.client.Post("/v1/vips/"+pathEscape(name)+"/"+what, nil, nil, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	switch what {
	case "release":
		fmt.Fprintf(c.out, "%s: released; the peer takes over and this node stays BACKUP until `lbctl vip reclaim %s`\n", name, name)
	default:
		fmt.Fprintf(c.out, "%s: reclaimed; this node takes part in elections again\n", name)
	}
	return nil
}

// isNumber reports whether s is digits only (and not empty).
func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// pathEscape keeps names with unusual characters intact in the URL path;
// "." and ".." are escaped whole, or they would be path steps.
func pathEscape(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-._~", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return d.Truncate(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
