package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/rs/zerolog"

	"lbd/admin"
	"lbd/appliance"
	"lbd/handoff"
)

// A seamless binary upgrade (package handoff): `lbctl upgrade` or SIGUSR2
// starts the binary installed at this process's path as a successor with
// the listening sockets and the runtime state, hands it VRRP once it
// serves, tells systemd it is the main process now, and retires. Until the
// successor has taken VRRP, any failure leaves this process serving alone.

// Timeouts of the handoff steps: the successor's start (its config load,
// binding what is new, its first apply), and taking VRRP.
const (
	successorStartTimeout = time.Minute
	successorVRRPTimeout  = 10 * time.Second
)

// upgrader runs upgrades from the main loop (runUpgrade), which the admin
// API and SIGUSR2 ask for.
type upgrader struct {
	log  zerolog.Logger
	app  *appliance.Appliance
	adm  *admin.Server
	exe  string   // this binary's path, as it was at start
	args []string // this process's arguments, for the successor
	reqs chan upgradeRequest
}

type upgradeRequest struct {
	reply chan upgradeReply
}

type upgradeReply struct {
	res *admin.UpgradeResult
	err error
}

// request is the admin API's UpgradeFunc: it asks the main loop and waits
// for the outcome.
func (u *upgrader) request(ctx context.Context) (*admin.UpgradeResult, error) {
	r := upgradeRequest{reply: make(chan upgradeReply, 1)}
	select {
	case u.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case rep := <-r.reply:
		return rep.res, rep.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run is one upgrade. On success this process must retire: the successor
// serves, holds VRRP and is systemd's main process.
func (u *upgrader) run() (*admin.UpgradeResult, error) {
	log := u.log.With().Str("component", "upgrade").Logger()
	if _, err := os.Stat(u.exe); err != nil {
		return nil, fmt.Errorf("the lbd binary at %s: %w", u.exe, err)
	}
	if err := u.app.PrepareHandoff(context.Background()); err != nil {
		return nil, err
	}
	st, files, err := u.app.HandoffState()
	if err != nil {
		return nil, err
	}
	if f, err := u.adm.File(); err == nil {
		st.Sockets = append(st.Sockets, handoff.Socket{Kind: handoff.KindAdmin, Addr: u.adm.Path()})
		files = append(files, f)
	} else {
		log.Warn().Err(err).Msg("the admin socket is not handed over: the new process binds its own")
	}
	log.Info().Str("binary", u.exe).Int("sockets", len(files)).Msg("upgrade: starting the new process")
	succ, err := handoff.Start(u.exe, u.args, st, files)
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return nil, err
	}
	if err := succ.WaitReady(successorStartTimeout); err != nil {
		succ.Abort()
		return nil, fmt.Errorf("the new process did not start: %w", err)
	}
	vr := u.app.HandVRRPOver()
	if err := succ.SendVRRP(vr, successorVRRPTimeout); err != nil {
		// Take VRRP back before the peer misses us.
		succ.Abort()
		u.app.AdoptVRRP(vr)
		return nil, fmt.Errorf("the new process did not take VRRP over: %w", err)
	}
	succ.Release()
	pid := succ.Pid()
	// The watchdog ping in the same message restarts systemd's watchdog
	// timer at the switch: the successor's first ping comes half a
	// WatchdogSec after it started, and counted from this process's last
	// ping (up to half a WatchdogSec before) that was past the limit once
	// (CI: the upgraded service was restarted 10 s later).
	if _, err := daemon.SdNotify(false, "MAINPID="+strconv.Itoa(pid)+"\n"+daemon.SdNotifyReady+"\n"+daemon.SdNotifyWatchdog); err != nil {
		log.Warn().Err(err).Msg("cannot tell systemd the new main process")
	}
	u.app.StopAccepting()
	log.Info().Int("old_pid", os.Getpid()).Int("new_pid", pid).Msg("upgrade: the new process serves; finishing this one's connections")
	return &admin.UpgradeResult{OldPID: os.Getpid(), NewPID: pid, OldVersion: version}, nil
}

// startSuccessor is the successor's side: it serves on the inherited
// sockets, says so, resumes the VRRP instances it is handed, and reports
// what failed to the predecessor, which then carries on alone.
func startSuccessor(log zerolog.Logger, app *appliance.Appliance, pred *handoff.Predecessor, cfgErr func() error,
	listenAdmin func() (*admin.Server, error)) (*admin.Server, error) {
	if err := cfgErr(); err != nil {
		pred.Failed(err)
		return nil, err
	}
	adm, err := listenAdmin()
	if err != nil {
		pred.Failed(err)
		return nil, err
	}
	vr, err := pred.Ready(successorVRRPTimeout)
	if err != nil {
		return adm, fmt.Errorf("the previous process did not hand VRRP over: %w", err)
	}
	app.AdoptVRRP(vr)
	if err := pred.Done(); err != nil {
		return adm, err
	}
	log.Info().Str("from_version", pred.State.Version).Str("version", version).Msg("upgrade: this process took over")
	return adm, nil
}

// errRetire ends the main loop of a process whose successor serves.
var errRetire = errors.New("upgraded: retiring")
