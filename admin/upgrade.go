package admin

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// UpgradeResult is the answer to POST /v1/upgrade: the process that
// answered has handed everything to the new one and is leaving.
type UpgradeResult struct {
	OldPID     int    `json:"old_pid"`
	NewPID     int    `json:"new_pid"`
	OldVersion string `json:"old_version"`
}

// UpgradeFunc runs a seamless binary upgrade (cmd/lbd does it: it owns
// the process). An error means the running process keeps serving alone.
type UpgradeFunc func(ctx context.Context) (*UpgradeResult, error)

// ErrUpgradeUnavailable: nothing can run an upgrade here.
var ErrUpgradeUnavailable = errors.New("this lbd cannot upgrade itself (not started by cmd/lbd)")

type upgradeHook struct {
	mu sync.Mutex
	f  UpgradeFunc
}

// SetUpgrade sets what POST /v1/upgrade runs.
func (s *Server) SetUpgrade(f UpgradeFunc) {
	s.upgrade.mu.Lock()
	defer s.upgrade.mu.Unlock()
	s.upgrade.f = f
}

func (s *Server) upgradeNow(w http.ResponseWriter, r *http.Request) {
	s.upgrade.mu.Lock()
	f := s.upgrade.f
	s.upgrade.mu.Unlock()
	if f == nil {
		writeError(w, http.StatusNotImplemented, ErrUpgradeUnavailable)
		return
	}
	res, err := f(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "upgrade failed, the running process keeps serving: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}
