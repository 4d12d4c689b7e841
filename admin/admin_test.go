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
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"lbd/bgp"
	"lbd/health"
	"lbd/vrrp"
)

// fakeController records calls; the API is tested over a real unix socket.
type fakeController struct {
	state, weight string
	reloadErr     error
	noBGP         bool
	bgpActions    []string
}

type diagErr []string

func (d diagErr) Error() string     { return "diagnostics" }
func (d diagErr) Strings() []string { return d }

func (f *fakeController) Info() Info { return Info{Version: "test", PID: 1} }
func (f *fakeController) BackendStatus(name string) ([]health.BackendStatus, error) {
	if name != "" && name != "web" {
		return nil, fmt.Errorf("%w: no backend %q", ErrNotFound, name)
	}
	return []health.BackendStatus{{Name: "web", Servers: []health.ServerStatus{{Name: "a", Address: "127.0.0.1:1", State: "UP"}}}}, nil
}
func (f *fakeController) SetServerState(b, s, st string) error {
	if b != "web" || s != "a" {
		return fmt.Errorf("%w: no server %s/%s", ErrNotFound, b, s)
	}
	if _, ok := health.ParseAdminState(st); !ok {
		return fmt.Errorf("%w: state %q", ErrBadRequest, st)
	}
	f.state = b + "/" + s + "=" + st
	return nil
}
func (f *fakeController) SetServerWeight(b, s string, w int) error {
	f.weight = fmt.Sprintf("%s/%s=%d", b, s, w)
	return nil
}
func (f *fakeController) VIPStatus() ([]vrrp.InstanceStatus, error) {
	return []vrrp.InstanceStatus{{Name: "VI_1", State: "MASTER"}}, nil
}
func (f *fakeController) ReleaseVIP(name string) error {
	if name != "VI_1" {
		return fmt.Errorf("%w: no vrrp_instance %q", ErrNotFound, name)
	}
	return nil
}
func (f *fakeController) ReclaimVIP(name string) error { return f.ReleaseVIP(name) }
func (f *fakeController) BGPStatus() (bgp.Status, error) {
	if f.noBGP {
		return bgp.Status{}, nil
	}
	return bgp.Status{Configured: true, ASN: 64512, Neighbors: []bgp.NeighborStatus{{Address: "192.0.2.1", State: "ESTABLISHED"}}}, nil
}
func (f *fakeController) BGPDrain() error   { return f.bgpAction("drain") }
func (f *fakeController) BGPUndrain() error { return f.bgpAction("undrain") }
func (f *fakeController) bgpAction(what string) error {
	if f.noBGP {
		return fmt.Errorf("%w: %w", ErrNotFound, bgp.ErrNotConfigured)
	}
	f.bgpActions = append(f.bgpActions, what)
	return nil
}
func (f *fakeController) Reload() (*ReloadResult, error) {
	if f.reloadErr != nil {
		return nil, f.reloadErr
	}
	return &ReloadResult{Result: "ok", Message: "configuration applied"}, nil
}

func startAPI(t *testing.T, ctl Controller) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "admin.sock")
	srv, err := Listen(zerolog.Nop(), path, ctl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	return NewClient(path, 0)
}

func TestAPI(t *testing.T) {
	ctl := &fakeController{}
	c := startAPI(t, ctl)
	cases := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int // 0 = success
	}{
		{"info", "GET", "/v1/info", nil, 0},
		{"all backends", "GET", "/v1/backends", nil, 0},
		{"one backend", "GET", "/v1/backends/web", nil, 0},
		{"unknown backend", "GET", "/v1/backends/nope", nil, http.StatusNotFound},
		{"drain", "POST", "/v1/servers/web/a/state", map[string]string{"state": "drain"}, 0},
		{"bad state", "POST", "/v1/servers/web/a/state", map[string]string{"state": "sleep"}, http.StatusBadRequest},
		{"unknown field", "POST", "/v1/servers/web/a/state", map[string]string{"stat": "drain"}, http.StatusBadRequest},
		{"unknown server", "POST", "/v1/servers/web/zz/state", map[string]string{"state": "drain"}, http.StatusNotFound},
		{"weight", "POST", "/v1/servers/web/a/weight", map[string]int{"weight": 5}, 0},
		{"weight missing", "POST", "/v1/servers/web/a/weight", map[string]int{}, http.StatusBadRequest},
		{"vips", "GET", "/v1/vips", nil, 0},
		{"release", "POST", "/v1/vips/VI_1/release", nil, 0},
		{"release unknown", "POST", "/v1/vips/VI_9/release", nil, http.StatusNotFound},
		{"wrong method", "GET", "/v1/reload", nil, http.StatusMethodNotAllowed},
		{"unknown endpoint", "GET", "/v2/x", nil, http.StatusNotFound},
		{"reload", "POST", "/v1/reload", nil, 0},
		{"bgp status", "GET", "/v1/bgp", nil, 0},
		{"bgp drain", "POST", "/v1/bgp/drain", nil, 0},
		{"bgp undrain", "POST", "/v1/bgp/undrain", nil, 0},
		{"bgp drain by GET", "GET", "/v1/bgp/drain", nil, http.StatusMethodNotAllowed},
		{"bgp unknown action", "POST", "/v1/bgp/pause", nil, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw []byte
			var err error
			if tc.method == "GET" {
				err = c.Get(tc.path, nil, &raw)
			} else {
				err = c.Post(tc.path, tc.body, nil, &raw)
			}
			var ae *APIError
			switch {
			case tc.wantStatus == 0 && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantStatus != 0 && !errors.As(err, &ae):
				t.Fatalf("want API error %d, got %v", tc.wantStatus, err)
			case tc.wantStatus != 0 && ae.Status != tc.wantStatus:
				t.Fatalf("status %d (%s), want %d", ae.Status, ae.Message, tc.wantStatus)
			}
		})
	}
	if ctl.state != "web/a=drain" || ctl.weight != "web/a=5" {
		t.Errorf("controller saw state %q weight %q", ctl.state, ctl.weight)
	}
	if strings.Join(ctl.bgpActions, ",") != "drain,undrain" {
		t.Errorf("controller saw bgp actions %v", ctl.bgpActions)
	}
}

// TestBGPEndpoints: the status is the speaker's JSON; without a bgp block
// the status says so and drain is a 404 that says why.
func TestBGPEndpoints(t *testing.T) {
	c := startAPI(t, &fakeController{})
	var st bgp.Status
	if err := c.Get("/v1/bgp", &st, nil); err != nil || !st.Configured || st.ASN != 64512 || st.Neighbors[0].State != "ESTABLISHED" {
		t.Fatalf("%+v %v", st, err)
	}
	c = startAPI(t, &fakeController{noBGP: true})
	var raw []byte
	if err := c.Get("/v1/bgp", nil, &raw); err != nil || !strings.Contains(string(raw), `"configured": false`) {
		t.Fatalf("%s %v", raw, err)
	}
	err := c.Post("/v1/bgp/drain", nil, nil, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !strings.Contains(ae.Message, "no bgp block is configured") {
		t.Fatalf("drain without bgp: %v", err)
	}
}

func TestReloadDiagnostics(t *testing.T) {
	ctl := &fakeController{reloadErr: diagErr{"f.hcl:1:1: bad"}}
	c := startAPI(t, ctl)
	err := c.Post("/v1/reload", nil, nil, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || len(ae.Diagnostics) != 1 || ae.Diagnostics[0] != "f.hcl:1:1: bad" {
		t.Fatalf("got %#v", err)
	}
}

func TestSocketInUseAndStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	srv, err := Listen(zerolog.Nop(), path, &fakeController{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(zerolog.Nop(), path, &fakeController{}); err == nil {
		t.Fatal("a second daemon took over a live socket")
	}
	srv.Close(context.Background())
	// A stale socket (daemon crashed: nobody answers on it) is replaced.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	srv2, err := Listen(zerolog.Nop(), path, &fakeController{})
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	srv2.Close(context.Background())
	// Anything else at the path (a mistyped --socket) is left alone.
	for _, mk := range []func(string) error{
		func(p string) error { return os.WriteFile(p, []byte("frontend {}"), 0o600) },
		func(p string) error { return os.Mkdir(p, 0o700) },
	} {
		p := filepath.Join(t.TempDir(), "lbd.hcl")
		if err := mk(p); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(zerolog.Nop(), p, &fakeController{}); err == nil || !strings.Contains(err.Error(), "is not a socket") {
			t.Fatalf("Listen on a non-socket path: %v", err)
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the non-socket at the path was removed: %v", err)
		}
	}
}

func TestClientNoDaemon(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"), 0)
	if err := c.Get("/v1/info", nil, nil); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("got %v", err)
	}
}

// TestBadBodiesAndPaths: what a client may send by mistake is refused
// with a status and a message saying what was expected, and changes
// nothing.
func TestBadBodiesAndPaths(t *testing.T) {
	ctl := &fakeController{}
	path := filepath.Join(t.TempDir(), "admin.sock")
	srv, err := Listen(zerolog.Nop(), path, ctl)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	const state, weight = "/v1/servers/web/a/state", "/v1/servers/web/a/weight"
	cases := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"empty body", "POST", state, "", 400, `the request body is empty; expected {"state": "ready" | "drain" | "maint"}`},
		{"not an object", "POST", state, `"drain"`, 400, "the request body is not a JSON object"},
		{"array", "POST", weight, `[]`, 400, "the request body is not a JSON object"},
		{"data after the object", "POST", state, `{"state":"maint"} garbage`, 400, "more data after the JSON object"},
		{"two objects", "POST", state, `{"state":"ready"}{"state":"maint"}`, 400, "more data after the JSON object"},
		{"field name case", "POST", state, `{"State":"drain"}`, 400, `unknown field "State"`},
		{"weight as a string", "POST", weight, `{"weight":"5"}`, 400, "weight: string is not a whole number"},
		{"weight with a fraction", "POST", weight, `{"weight":1.5}`, 400, "weight: number 1.5 is not a whole number"},
		{"too large", "POST", state, `{"state":"` + strings.Repeat("x", 1<<17) + `"}`, 413, "request body over 65536 bytes"},
		{"dot-dot path", "GET", "/v1/backends/../info", "", 404, "no such endpoint"},
		{"double slash", "GET", "/v1//backends", "", 404, "no such endpoint"},
		{"dot segment in a server path", "POST", "/v1/servers/web/./a/state", `{"state":"drain"}`, 404, "no such endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://lbd"+tc.path, strings.NewReader(tc.body))
			req.URL.Opaque = tc.path // sent as written, not cleaned by the client
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body errorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, body not the JSON error: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(body.Error, tc.msg) {
				t.Errorf("%d %q, want %d with %q", resp.StatusCode, body.Error, tc.status, tc.msg)
			}
		})
	}
	if ctl.state != "" || ctl.weight != "" {
		t.Errorf("a refused request changed the server: state %q weight %q", ctl.state, ctl.weight)
	}
}
