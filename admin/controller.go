package admin

import (
	"errors"
	"time"

	"lbd/bgp"
	"lbd/health"
	"lbd/vrrp"
)

// Controller is what the admin API needs from the daemon.
type Controller interface {
	Info() Info
	// BackendStatus returns every backend, or only the named one
	// (ErrNotFound if there is none).
	BackendStatus(name string) ([]health.BackendStatus, error)
	// SetServerState sets the administrative state: ready, drain or maint.
	SetServerState(backend, server, state string) error
	// SetServerWeight sets the runtime weight, 0..256.
	SetServerWeight(backend, server string, weight int) error
	// VIPStatus returns the VRRP instances (JSON keys of DESIGN.md: name,
	// interface, state, priority, effective_priority, vrid, vips, master).
	VIPStatus() ([]vrrp.InstanceStatus, error)
	ReleaseVIP(name string) error
	ReclaimVIP(name string) error
	// BGPStatus returns the BGP speaker (Configured false without a bgp
	// block).
	BGPStatus() (bgp.Status, error)
	// BGPDrain withdraws every route while the node keeps serving,
	// BGPUndrain announces again; ErrNotFound without a bgp block.
	BGPDrain() error
	BGPUndrain() error
	// Reload re-reads the configuration file. A refused file returns an
	// error that unwraps to a value with Strings() []string (the
	// diagnostics); the running configuration is then unchanged.
	Reload() (*ReloadResult, error)
}

// Errors a Controller returns, mapped to HTTP statuses by the server.
var (
	ErrNotFound    = errors.New("not found")     // 404
	ErrBadRequest  = errors.New("bad request")   // 400
	ErrUnavailable = errors.New("not available") // 503
)

// Info describes the running daemon.
type Info struct {
	Version   string    `json:"version"`
	Config    string    `json:"config"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	// Reloads counts reload attempts (SIGHUP and lbctl reload), refused
	// ones included; ReloadsFailed the refused ones.
	Reloads       int       `json:"reloads"`
	ReloadsFailed int       `json:"reloads_failed"`
	LastReload    time.Time `json:"last_reload,omitzero"`
	// LastReloadOK and LastReloadMessage describe the last attempt, so that
	// an operator who sent SIGHUP learns whether the file was applied.
	LastReloadOK      bool   `json:"last_reload_ok"`
	LastReloadMessage string `json:"last_reload_message,omitempty"`
}

// ReloadResult is the answer to a successful reload.
type ReloadResult struct {
	Result  string `json:"result"`
	Message string `json:"message"`
}
