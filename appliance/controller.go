package appliance

import (
	"errors"
	"fmt"
	"os"

	"lbd/admin"
	"lbd/config"
	"lbd/health"
	"lbd/vrrp"
)

// The appliance is the admin API's controller.
var _ admin.Controller = (*Appliance)(nil)

// Info describes the running daemon.
func (a *Appliance) Info() admin.Info {
	a.mu.Lock()
	defer a.mu.Unlock()
	return admin.Info{
		Version:           a.version,
		Config:            a.path,
		PID:               os.Getpid(),
		StartedAt:         a.started,
		Reloads:           a.reloads.Count,
		ReloadsFailed:     a.reloads.Failed,
		LastReload:        a.reloads.LastAt,
		LastReloadOK:      a.reloads.LastOK,
		LastReloadMessage: a.reloads.LastMessage,
	}
}

// BackendStatus lists every backend's servers, or one backend's.
func (a *Appliance) BackendStatus(name string) ([]health.BackendStatus, error) {
	st, err := a.pool.Status(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", admin.ErrNotFound, err)
	}
	return st, nil
}

// SetServerState sets ready, drain or maint, as `lbctl server state`.
func (a *Appliance) SetServerState(backend, server, state string) error {
	st, ok := health.ParseAdminState(state)
	if !ok {
		return fmt.Errorf("%w: state %q: expected ready, drain or maint", admin.ErrBadRequest, state)
	}
	if err := a.pool.SetAdminState(backend, server, st); err != nil {
		return fmt.Errorf("%w: %w", admin.ErrNotFound, err)
	}
	return nil
}

// SetServerWeight sets the runtime weight, as `lbctl server weight`.
func (a *Appliance) SetServerWeight(backend, server string, weight int) error {
	if weight < 0 || weight > 256 {
		return fmt.Errorf("%w: weight %d: expected 0..256", admin.ErrBadRequest, weight)
	}
	if err := a.pool.SetWeight(backend, server, weight); err != nil {
		return fmt.Errorf("%w: %w", admin.ErrNotFound, err)
	}
	return nil
}

// VIPStatus lists the VRRP instances.
func (a *Appliance) VIPStatus() ([]vrrp.InstanceStatus, error) {
	return a.speaker.Status(), nil
}

// ReleaseVIP hands the instance's VIPs to the peer (lbctl vip release).
func (a *Appliance) ReleaseVIP(name string) error {
	if !a.hasInstance(name) {
		return fmt.Errorf("%w: no vrrp_instance %q", admin.ErrNotFound, name)
	}
	if err := a.speaker.Release(name); err != nil {
		// No peer took over, or the instance stopped meanwhile: the
		// request was sound, the pair could not carry it out (503).
		return fmt.Errorf("%w: %w", admin.ErrUnavailable, err)
	}
	return nil
}

// ReclaimVIP undoes ReleaseVIP (lbctl vip reclaim).
func (a *Appliance) ReclaimVIP(name string) error {
	if !a.hasInstance(name) {
		return fmt.Errorf("%w: no vrrp_instance %q", admin.ErrNotFound, name)
	}
	return a.speaker.Reclaim(name)
}

func (a *Appliance) hasInstance(name string) bool {
	for _, st := range a.speaker.Status() {
		if st.Name == name {
			return true
		}
	}
	return false
}

// Reload is the admin API's reload: diagnostics of a refused file are
// passed back so that lbctl prints them.
func (a *Appliance) Reload() (*admin.ReloadResult, error) {
	if err := a.ReloadFile(); err != nil {
		var diags config.Diagnostics
		if errors.As(err, &diags) {
			return nil, diags
		}
		return nil, err
	}
	return &admin.ReloadResult{Result: "ok", Message: "configuration applied"}, nil
}
