// Package admin is lbd's admin API: HTTP/1.1 with JSON bodies on a unix
// socket, versioned under /v1/. Reads are GETs, changes are POSTs. The
// daemon's state is reached through the Controller interface, so the API
// can be tested without a running proxy or VRRP speaker.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
)

// Server serves the admin API on a unix socket.
type Server struct {
	log  zerolog.Logger
	ctl  Controller
	path string
	ln   net.Listener
	srv  *http.Server

	upgrade upgradeHook // POST /v1/upgrade (upgrade.go)
}

// Listen creates the unix socket at path with mode 0660, so that members of
// the daemon's group can run lbctl. A stale socket left by a crashed
// daemon is replaced; a socket another daemon still answers on is not.
func Listen(log zerolog.Logger, path string, ctl Controller) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("admin socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			// A mistyped admin_socket or --socket must not delete a
			// config file or a directory.
			return nil, fmt.Errorf("admin socket %s: the path exists and is not a socket; not replacing it", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s is in use by another lbd", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale admin socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	// Close removes the file itself: the listener's own unlink would run
	// whenever Serve returns, and if Serve starts late, that is after the
	// path may belong to the next daemon.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, fmt.Errorf("admin socket mode: %w", err)
	}
	return serveAdmin(log, path, ln, ctl), nil
}

// serveAdmin serves the API on ln, the socket at path.
func serveAdmin(log zerolog.Logger, path string, ln net.Listener, ctl Controller) *Server {
	s := &Server{log: log, ctl: ctl, path: path, ln: ln}
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          nil,
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("admin API stopped")
		}
	}()
	return s
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

// Close stops the API and removes the socket.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.ln.Close() // Shutdown misses it when Serve has not started yet
	os.Remove(s.path)
	return err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", s.info)
	mux.HandleFunc("GET /v1/backends", s.backends)
	mux.HandleFunc("GET /v1/backends/{backend}", s.backends)
	mux.HandleFunc("POST /v1/servers/{backend}/{server}/state", s.serverState)
	mux.HandleFunc("POST /v1/servers/{backend}/{server}/weight", s.serverWeight)
	mux.HandleFunc("GET /v1/vips", s.vips)
	mux.HandleFunc("POST /v1/vips/{name}/release", s.vipRelease)
	mux.HandleFunc("POST /v1/vips/{name}/reclaim", s.vipReclaim)
	mux.HandleFunc("POST /v1/reload", s.reload)
	mux.HandleFunc("POST /v1/upgrade", s.upgradeNow)
	s.pairRoutes(mux)
	s.tlsRoutes(mux)
	s.policyRoutes(mux)
	s.tableRoutes(mux)
	mux.HandleFunc("GET /v1/bgp", s.bgpStatus)
	mux.HandleFunc("POST /v1/bgp/drain", s.bgpDrain)
	mux.HandleFunc("POST /v1/bgp/undrain", s.bgpUndrain)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanPath(r.URL.EscapedPath()) {
			// The mux would redirect to the cleaned path (an HTML 307):
			// a path with "//", "." or ".." segments names no endpoint.
			writeError(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
			return
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			// The mux answers 404 or 405 (with Allow) in plain text; lbctl
			// and scripts get the same JSON error shape as everywhere else.
			mux.ServeHTTP(&jsonError{ResponseWriter: w, r: r}, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// jsonError turns the mux's plain-text error into the API's JSON error.
type jsonError struct {
	http.ResponseWriter
	r       *http.Request
	written bool
}

func (j *jsonError) WriteHeader(code int) {
	j.written = true
	msg := fmt.Errorf("no such endpoint: %s %s", j.r.Method, j.r.URL.Path)
	if code == http.StatusMethodNotAllowed {
		msg = fmt.Errorf("%s %s: method not allowed (allowed: %s)", j.r.Method, j.r.URL.Path, j.Header().Get("Allow"))
	}
	j.Header().Del("X-Content-Type-Options")
	writeError(j.ResponseWriter, code, msg)
}

func (j *jsonError) Write(b []byte) (int, error) {
	if !j.written {
		j.WriteHeader(http.StatusNotFound)
	}
	return len(b), nil
}

// errorBody is every error response: a message, and for a refused reload
// the configuration's diagnostics.
type errorBody struct {
	Error       string   `json:"error"`
	Diagnostics []string `json:"diagnostics,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorBody{Error: err.Error()})
}

// statusOf maps controller errors to HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.ctl.Info())
}

func (s *Server) backends(w http.ResponseWriter, r *http.Request) {
	st, err := s.ctl.BackendStatus(r.PathValue("backend"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) serverState(w http.ResponseWriter, r *http.Request) {
	var body struct {
		State string `json:"state"`
	}
	if err := decodeBody(r, &body, `{"state": "ready" | "drain" | "maint"}`); err != nil {
		writeError(w, bodyStatus(err), err)
		return
	}
	be, sv := r.PathValue("backend"), r.PathValue("server")
	if err := s.ctl.SetServerState(be, sv, body.State); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	s.log.Info().Str("backend", be).Str("server", sv).Str("admin_state", body.State).Msg("server state set by admin API")
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

func (s *Server) serverWeight(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Weight *int `json:"weight"`
	}
	if err := decodeBody(r, &body, `{"weight": 0..256}`); err != nil {
		writeError(w, bodyStatus(err), err)
		return
	}
	if body.Weight == nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: weight is required", ErrBadRequest))
		return
	}
	be, sv := r.PathValue("backend"), r.PathValue("server")
	if err := s.ctl.SetServerWeight(be, sv, *body.Weight); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	s.log.Info().Str("backend", be).Str("server", sv).Int("weight", *body.Weight).Msg("server weight set by admin API")
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

func (s *Server) vips(w http.ResponseWriter, r *http.Request) {
	st, err := s.ctl.VIPStatus()
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) vipRelease(w http.ResponseWriter, r *http.Request) {
	s.vipAction(w, r, "release", s.ctl.ReleaseVIP)
}

func (s *Server) vipReclaim(w http.ResponseWriter, r *http.Request) {
	s.vipAction(w, r, "reclaim", s.ctl.ReclaimVIP)
}

func (s *Server) vipAction(w http.ResponseWriter, r *http.Request, what string, fn func(string) error) {
	name := r.PathValue("name")
	if err := fn(name); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	s.log.Info().Str("instance", name).Str("action", what).Msg("VIP action by admin API")
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	res, err := s.ctl.Reload()
	if err != nil {
		body := errorBody{Error: err.Error()}
		var diags interface{ Strings() []string }
		if errors.As(err, &diags) {
			body.Error = "invalid configuration: the running configuration is kept"
			body.Diagnostics = diags.Strings()
			writeJSON(w, http.StatusUnprocessableEntity, body)
			return
		}
		writeJSON(w, http.StatusInternalServerError, body)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) bgpStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.ctl.BGPStatus()
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) bgpDrain(w http.ResponseWriter, r *http.Request) {
	s.bgpAction(w, "drain", s.ctl.BGPDrain)
}

func (s *Server) bgpUndrain(w http.ResponseWriter, r *http.Request) {
	s.bgpAction(w, "undrain", s.ctl.BGPUndrain)
}

func (s *Server) bgpAction(w http.ResponseWriter, what string, fn func() error) {
	if err := fn(); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	s.log.Info().Str("action", what).Msg("BGP action by admin API")
	writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
}
