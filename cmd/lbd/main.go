// Command lbd is the load-balancer appliance daemon: an L4/L7 proxy and a
// VRRP speaker driven by one HCL file. It runs in the foreground; systemd
// supervises it.
//
//	lbd -f FILE            run
//	lbd -c -f FILE         check FILE and exit (0 valid, 1 invalid)
//	lbd --socket PATH      override global.admin_socket
//	lbd --version
//
// Signals: SIGHUP reloads the file in place (an invalid file is refused and
// the running configuration kept); SIGTERM and SIGINT stop gracefully.
// Exit codes: 0 clean stop, 1 configuration error, 2 runtime failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"lbd/admin"
	"lbd/appliance"
	"lbd/config"
	"lbd/handoff"
	"lbd/logsink"
	"lbd/vrrp"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const (
	exitOK      = 0
	exitConfig  = 1
	exitRuntime = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "/etc/lbd/appliance.hcl", "configuration `file`")
	check := fs.Bool("c", false, "check the configuration file and exit")
	socket := fs.String("socket", "", "admin socket `path` (overrides global.admin_socket)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	cleanup := fs.Bool("cleanup", false, "remove the VIPs a stopped lbd left on this node's interfaces and exit (the unit's ExecStopPost)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lbd [-c | --cleanup] -f FILE [--socket PATH] | --version\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lbd: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitConfig
	}
	if *showVersion {
		fmt.Fprintf(stdout, "lbd %s\n", version)
		return exitOK
	}
	for name, v := range map[string]string{"-f": *file, "--socket": *socket} {
		if set(fs, strings.TrimLeft(name, "-")) && v == "" {
			fmt.Fprintf(stderr, "lbd: %s needs a path\n", name)
			fs.Usage()
			return exitConfig
		}
	}

	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, w) // FILE:LINE:COL: warning: ... (a certificate close to expiry)
	}
	if *check {
		fmt.Fprintln(stdout, "configuration is valid")
		return exitOK
	}
	if *cleanup {
		if *socket != "" {
			cfg.Global.AdminSocket = *socket
		}
		return removeLeftovers(cfg, stdout, stderr)
	}
	if *socket != "" {
		cfg.Global.AdminSocket = *socket
	}
	sinks := logsink.NewSet()
	sinks.SetStderr(stderr) // text access lines while no log target is configured
	sinks.Apply(cfg.Global)
	defer sinks.Close()
	log := newLogger(cfg.Global, stderr, sinks)
	return serve(log, sinks, *file, cfg, *socket != "")
}

// removeLeftovers is lbd --cleanup: what lbd removes when it stops, done
// for a process that could not (kill -9, a crash, the watchdog), by
// systemd after the process is gone.
func removeLeftovers(cfg *config.Config, stdout, stderr io.Writer) int {
	// An lbd that answers on the admin socket holds the VIPs (run by
	// hand, --cleanup would take them from a live master).
	if c, err := net.DialTimeout("unix", cfg.Global.AdminSocket, time.Second); err == nil {
		c.Close()
		fmt.Fprintf(stderr, "lbd: cleanup: an lbd answers on %s and holds the VIPs: nothing removed\n", cfg.Global.AdminSocket)
		return exitRuntime
	}
	removed, err := vrrp.RemoveLeftovers(cfg)
	for _, p := range removed {
		fmt.Fprintf(stdout, "lbd: removed VIP %s left by a stopped lbd\n", p)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lbd: cleanup: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

// set reports whether the flag was given on the command line.
func set(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// newLogger builds the process logger. log_format "json" (the default)
// switches to the console writer when stderr is a terminal, so that a
// person running lbd by hand reads lines, and journald gets JSON. The
// level is zerolog's global one, so that a reload can change it for every
// component's logger at once. The lines also go to the syslog targets of
// global's log blocks (sinks), each at its own levels.
func newLogger(g config.Global, w io.Writer, sinks *logsink.Set) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	out := w
	if f, ok := w.(*os.File); g.LogFormat == "console" || ok && isatty.IsTerminal(f.Fd()) {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	setLogLevel(g.LogLevel)
	return zerolog.New(zerolog.MultiLevelWriter(out, sinks)).With().Timestamp().Logger()
}

// setLogLevel applies log_level (validated by config: an unknown name
// cannot reach here, info is the fallback all the same).
func setLogLevel(name string) {
	level, err := zerolog.ParseLevel(name)
	if err != nil {
		level = zerolog.InfoLevel
	}
	zerolog.SetGlobalLevel(level)
}

// applyGlobal is what a reload changes in the process itself: the log
// level and the log targets now; the log format and the admin socket are
// fixed at start (the socket is what lbctl talks to), so a change is
// reported, not ignored.
func applyGlobal(log zerolog.Logger, sinks *logsink.Set, socketFlag bool) func(old, cfg *config.Config) {
	return func(old, cfg *config.Config) {
		setLogLevel(cfg.Global.LogLevel)
		sinks.Apply(cfg.Global)
		if old.Global.LogFormat != cfg.Global.LogFormat {
			log.Warn().Str("log_format", cfg.Global.LogFormat).Msg("log_format changes at the next restart; reload keeps the running one")
		}
		if !socketFlag && old.Global.AdminSocket != cfg.Global.AdminSocket {
			log.Warn().Str("admin_socket", cfg.Global.AdminSocket).Msg("admin_socket changes at the next restart; reload keeps the running one")
		}
	}
}

// waitForStop is the main loop: it reloads on SIGHUP, returns on SIGTERM or
// SIGINT, runs upgrades (SIGUSR2, lbctl upgrade) and pings the systemd
// watchdog. Reloads and upgrades run here, so one that hangs stops the
// pings and systemd restarts the daemon. It returns errRetire after an
// upgrade: the successor serves, this process only finishes its
// connections.
func waitForStop(log zerolog.Logger, app *appliance.Appliance, u *upgrader, sigs <-chan os.Signal) error {
	var watchdog <-chan time.Time
	if every, err := daemon.SdWatchdogEnabled(false); err == nil && every > 0 {
		t := time.NewTicker(every / 2)
		defer t.Stop()
		watchdog = t.C
	}
	for {
		select {
		case <-watchdog:
			_, _ = daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		case r := <-u.reqs:
			res, err := u.run()
			r.reply <- upgradeReply{res, err}
			if err == nil {
				return errRetire
			}
			log.Error().Err(err).Msg("upgrade failed: this process keeps serving")
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				_, _ = daemon.SdNotify(false, daemon.SdNotifyReloading)
				_ = app.ReloadFile() // logged by the appliance, with its diagnostics
				_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)
			case syscall.SIGUSR2:
				if _, err := u.run(); err != nil {
					log.Error().Err(err).Msg("upgrade failed: this process keeps serving")
					continue
				}
				return errRetire
			default:
				log.Info().Str("signal", sig.String()).Dur("grace", app.Grace()).Msg("stopping")
				return nil
			}
		}
	}
}

func serve(log zerolog.Logger, sinks *logsink.Set, path string, cfg *config.Config, socketFlag bool) int {
	exe, _ := os.Executable()
	pred, err := handoff.FromEnv()
	if err != nil {
		log.Error().Err(err).Msg("cannot start as the successor of an upgrade")
		return exitRuntime
	}
	app := appliance.New(log, path, version)
	app.OnReload(applyGlobal(log, sinks, socketFlag))
	app.UseLogSinks(sinks)
	adminLog := log.With().Str("component", "admin").Logger()
	listenAdmin := func() (*admin.Server, error) {
		if pred != nil {
			for p, f := range pred.Files(handoff.KindAdmin) {
				if p == cfg.Global.AdminSocket {
					return admin.ListenFile(adminLog, p, f, app)
				}
				f.Close()
			}
		}
		return admin.Listen(adminLog, cfg.Global.AdminSocket, app)
	}
	var adm *admin.Server
	if pred != nil {
		adm, err = startSuccessor(log, app, pred, func() error { return app.StartSuccessor(cfg, pred) }, listenAdmin)
	} else if err = app.Start(cfg); err == nil {
		adm, err = listenAdmin()
	}
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		stopCtx, cancel := context.WithTimeout(context.Background(), app.Grace())
		if pred != nil {
			// The predecessor serves on: leave its sockets and VIPs alone.
			_ = app.Retire(stopCtx)
		} else {
			_ = app.Stop(stopCtx)
		}
		cancel()
		if adm != nil {
			_ = adm.Handover(context.Background())
		}
		return exitRuntime
	}
	log.Info().Str("version", version).Str("admin_socket", adm.Path()).Int("pid", os.Getpid()).Msg("lbd started")
	_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)

	stopTrim := make(chan struct{})
	defer close(stopTrim)
	go trimMemory(log, stopTrim)

	u := &upgrader{log: log, app: app, adm: adm, exe: exe, args: os.Args[1:], reqs: make(chan upgradeRequest)}
	adm.SetUpgrade(u.request)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2)
	retire := waitForStop(log, app, u, sigs) == errRetire
	signal.Stop(sigs)
	adm.SetUpgrade(nil)

	ctx, cancel := context.WithTimeout(context.Background(), app.Grace()+5*time.Second)
	defer cancel()
	if retire {
		// The admin socket is the successor's now: answer what is in
		// progress (the upgrade request) and leave the file.
		hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
		_ = adm.Handover(hctx)
		hcancel()
		if err := app.Retire(ctx); err != nil {
			log.Warn().Err(err).Msg("retire")
		}
		log.Info().Msg("lbd retired: the new process serves")
		return exitOK
	}
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	code := exitOK
	if err := app.Stop(ctx); err != nil {
		log.Error().Err(err).Msg("stop")
		code = exitRuntime
	}
	_ = adm.Close(ctx)
	log.Info().Msg("lbd stopped")
	return code
}
