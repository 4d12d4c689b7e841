package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/admin"
	"lbd/bgp"
	"lbd/health"
	"lbd/vrrp"
)

// bgpCtl is a daemon with a bgp block, as far as the admin API shows it.
type bgpCtl struct {
	configured bool
	drained    bool
}

func (f *bgpCtl) Info() admin.Info { return admin.Info{} }
func (f *bgpCtl) BackendStatus(string) ([]health.BackendStatus, error) {
	return nil, nil
}
func (f *bgpCtl) SetServerState(string, string, string) error { return nil }
func (f *bgpCtl) SetServerWeight(string, string, int) error   { return nil }
func (f *bgpCtl) VIPStatus() ([]vrrp.InstanceStatus, error)   { return nil, nil }
func (f *bgpCtl) ReleaseVIP(string) error                     { return nil }
func (f *bgpCtl) ReclaimVIP(string) error                     { return nil }
func (f *bgpCtl) Reload() (*admin.ReloadResult, error)        { return &admin.ReloadResult{}, nil }
func (f *bgpCtl) BGPDrain() error                             { return f.set(true) }
func (f *bgpCtl) BGPUndrain() error                           { return f.set(false) }
func (f *bgpCtl) set(d bool) error {
	if !f.configured {
		return fmt.Errorf("%w: %w", admin.ErrNotFound, bgp.ErrNotConfigured)
	}
	f.drained = d
	return nil
}
func (f *bgpCtl) BGPStatus() (bgp.Status, error) {
	if !f.configured {
		return bgp.Status{}, nil
	}
	now := time.Now()
	return bgp.Status{Configured: true, ASN: 64512, RouterID: "192.0.2.11", Interface: "lbd0", RoutesAnnounced: 1, Drained: f.drained,
		Neighbors: []bgp.NeighborStatus{
			{Address: "192.0.2.1", RemoteAS: 64513, State: "ESTABLISHED", EstablishedSince: now.Add(-90 * time.Second), HoldTime: 3, RoutesAnnounced: 1, Transitions: 3},
			{Address: "192.0.2.2", RemoteAS: 64513, State: "ACTIVE", Transitions: 6, LastError: "hold timer expired"},
		},
		Announces: []bgp.AnnounceStatus{
			{Name: "web", Addresses: []string{"198.51.100.200"}, Announced: true, Reason: "serving (tracked backends usable)", Since: now.Add(-time.Minute)},
			{Name: "api", Addresses: []string{"198.51.100.201"}, Reason: "backend api: 0 usable servers, min_up 1", Since: now},
		}}, nil
}

func TestBGPCommands(t *testing.T) {
	for _, configured := range []bool{true, false} {
		ctl := &bgpCtl{configured: configured}
		sock := filepath.Join(t.TempDir(), "a.sock")
		srv, err := admin.Listen(zerolog.Nop(), sock, ctl)
		if err != nil {
			t.Fatal(err)
		}
		run1 := func(args ...string) (int, string) {
			var out, errb bytes.Buffer
			code := run(append([]string{"--socket", sock}, args...), &out, &errb)
			return code, out.String() + errb.String()
		}
		code, out := run1("bgp", "status")
		if !configured {
			if code != 0 || !strings.Contains(out, "no bgp block configured") {
				t.Errorf("status without bgp: %d %q", code, out)
			}
			if code, out := run1("bgp", "drain"); code != 1 || !strings.Contains(out, "no bgp block is configured") {
				t.Errorf("drain without bgp: %d %q", code, out)
			}
			srv.Close(context.Background())
			continue
		}
		for _, want := range []string{
			"asn 64512, router id 192.0.2.11, interface lbd0, routes announced 1, drained: no",
			"192.0.2.1  64513      ESTABLISHED  1m30s", "ACTIVE", "hold timer expired",
			"web       198.51.100.200  ANNOUNCED", "api       198.51.100.201  WITHDRAWN", "backend api: 0 usable servers, min_up 1",
		} {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("status (exit %d) lacks %q:\n%s", code, want, out)
			}
		}
		if code, out := run1("bgp", "drain"); code != 0 || !strings.Contains(out, "drained: every route is withdrawn") || !ctl.drained {
			t.Errorf("drain: %d %q", code, out)
		}
		if _, out := run1("bgp", "status"); !strings.Contains(out, "drained: yes") {
			t.Errorf("status after drain:\n%s", out)
		}
		if code, out := run1("--json", "bgp", "undrain"); code != 0 || !strings.Contains(out, `"result": "ok"`) || ctl.drained {
			t.Errorf("undrain --json: %d %q", code, out)
		}
		if code, out := run1("bgp", "status", "--json"); code != 0 || !strings.Contains(out, `"state": "ESTABLISHED"`) || !strings.Contains(out, `"routes_announced": 1`) {
			t.Errorf("status --json: %d %q", code, out)
		}
		srv.Close(context.Background())
	}
}
