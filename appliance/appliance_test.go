package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"lbd/test/freeport"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/admin"
	"lbd/config"
)

// backendServer is a real HTTP server that names itself in the body.
func backendServer(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func freePort(t *testing.T) string { return freeport.Loopback(t) }

const applianceConfig = `
global {
  grace = "1s"
}
frontend "web" {
  bind            = ["%s"]
  default_backend = "app"
}
backend "app" {
  server "a" {
    address = "%s"
    check   = false
  }
%s
}
%s
`

type fixture struct {
	t    *testing.T
	app  *Appliance
	path string
	bind string
	a    string
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "lbd.hcl"), bind: freePort(t), a: backendServer(t, "a")}
	f.write("", "")
	cfg, err := config.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.app = New(zerolog.Nop(), f.path, "test")
	if err := f.app.Start(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.app.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return f
}

func (f *fixture) write(backendExtra, fileExtra string) {
	f.t.Helper()
	src := fmt.Sprintf(applianceConfig, f.bind, f.a, backendExtra, fileExtra)
	if err := os.WriteFile(f.path, []byte(src), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) get() string {
	f.t.Helper()
	resp, err := http.Get("http://" + f.bind + "/")
	if err != nil {
		f.t.Fatalf("request through the proxy: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

func (f *fixture) servers() []string {
	f.t.Helper()
	st, err := f.app.BackendStatus("app")
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, s := range st[0].Servers {
		out = append(out, s.Name+"="+s.State)
	}
	return out
}

func TestReloadKeepsRunningConfigOnFailure(t *testing.T) {
	f := newFixture(t)
	if got := f.get(); got != "200 a" {
		t.Fatalf("before reload: %s", got)
	}

	// An invalid file is refused with its diagnostics.
	os.WriteFile(f.path, []byte("frontend \"web\" {\n"), 0o644)
	err := f.app.ReloadFile()
	var diags config.Diagnostics
	if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &diags) {
		t.Fatalf("invalid file: %v", err)
	}

	// A valid file that cannot be applied (its new listener's port is
	// taken) changes nothing: the old servers stay, traffic still flows.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	b := backendServer(t, "b")
	f.write(fmt.Sprintf("  server \"b\" {\n    address = %q\n    check = false\n  }", b),
		fmt.Sprintf("frontend \"other\" {\n  bind = [%q]\n  default_backend = \"app\"\n}", busy.Addr().String()))
	if err := f.app.ReloadFile(); err == nil || errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("reload with a busy port: %v", err)
	}
	if got := f.servers(); strings.Join(got, ",") != "a=UP" {
		t.Fatalf("servers after a refused reload: %v", got)
	}
	for i := 0; i < 4; i++ {
		if got := f.get(); got != "200 a" {
			t.Fatalf("after a refused reload: %s", got)
		}
	}

	// The same change without the busy listener applies.
	f.write(fmt.Sprintf("  server \"b\" {\n    address = %q\n    check = false\n  }", b), "")
	if err := f.app.ReloadFile(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		seen[f.get()] = true
	}
	if !seen["200 a"] || !seen["200 b"] {
		t.Fatalf("after reload, answers %v", seen)
	}
}

// TestRefusedReloadKeepsRuntimeWeight: a server the operator set to
// weight 0 stays at 0 after a reload that changed its weight in the file
// and was refused (a busy port): the rollback re-applies the running file,
// which must not look like a change of the file's weight.
func TestRefusedReloadKeepsRuntimeWeight(t *testing.T) {
	f := newFixture(t)
	if err := f.app.SetServerWeight("app", "a", 0); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	f.write("", fmt.Sprintf("frontend \"other\" {\n  bind = [%q]\n  default_backend = \"app\"\n}", busy.Addr().String()))
	raw, _ := os.ReadFile(f.path)
	os.WriteFile(f.path, []byte(strings.Replace(string(raw), "check   = false", "check   = false\n    weight  = 5", 1)), 0o644)
	if err := f.app.ReloadFile(); err == nil || errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("reload with a busy port: %v", err)
	}
	st, err := f.app.BackendStatus("app")
	if err != nil {
		t.Fatal(err)
	}
	if s := st[0].Servers[0]; s.Weight != 0 || s.State != "DRAIN" {
		t.Fatalf("after the refused reload: weight %d, state %s; want the operator's 0 (DRAIN)", s.Weight, s.State)
	}
}

func TestAdminStateSurvivesReload(t *testing.T) {
	f := newFixture(t)
	if err := f.app.SetServerState("app", "a", "drain"); err != nil {
		t.Fatal(err)
	}
	if err := f.app.SetServerState("app", "a", "sleep"); !errors.Is(err, admin.ErrBadRequest) {
		t.Fatalf("bad state: %v", err)
	}
	if err := f.app.SetServerState("app", "zz", "drain"); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("unknown server: %v", err)
	}
	if err := f.app.SetServerWeight("app", "a", 300); !errors.Is(err, admin.ErrBadRequest) {
		t.Fatalf("bad weight: %v", err)
	}
	if _, err := f.app.BackendStatus("nope"); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("unknown backend: %v", err)
	}
	if err := f.app.ReloadFile(); err != nil {
		t.Fatal(err)
	}
	if got := f.servers(); strings.Join(got, ",") != "a=DRAIN" {
		t.Fatalf("after reload: %v", got)
	}
	if err := f.app.ReleaseVIP("VI_1"); !errors.Is(err, admin.ErrNotFound) {
		t.Fatalf("release of an unknown instance: %v", err)
	}
}

func TestStatsSnapshot(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 3; i++ {
		f.get()
	}
	snap := f.app.Stats()
	if len(snap.Frontends) != 1 || snap.Frontends[0].Name != "web" || snap.Frontends[0].Requests != 3 {
		t.Fatalf("frontends: %+v", snap.Frontends)
	}
	if len(snap.Backends) != 1 || len(snap.Backends[0].Servers) != 1 {
		t.Fatalf("backends: %+v", snap.Backends)
	}
	s := snap.Backends[0].Servers[0]
	if s.Name != "a" || s.TotalConns != 3 || s.Responses.C2xx != 3 || s.BytesOut == 0 || s.LastSession.IsZero() {
		t.Fatalf("server: %+v", s)
	}
	if snap.Backends[0].Status() != "UP" || snap.StartedAt.IsZero() {
		t.Fatalf("backend status %s started %v", snap.Backends[0].Status(), snap.StartedAt)
	}
}
