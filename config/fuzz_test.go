package config

import (
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic, and a
// file it accepts must satisfy the invariants the runtime relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(`vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.100/24"]
  auth_pass = "x"
}`))
	f.Add([]byte(`vrrp_instance "A" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.100/24"]
}
vrrp_instance "B" {
  interface = "eth1"
  virtual_router_id = 2
  version = 3
  advert_int = "100ms"
  virtual_ipaddress = ["2001:db8::1/64"]
}
vrrp_sync_group "G" {
  group = ["A", "B"]
  notify = "/bin/true"
  sync_group_tracking_weight = true
}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse("fuzz.hcl", src)
		if err != nil {
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty diagnostics")
			}
			return
		}
		for _, fe := range cfg.Frontends {
			if len(fe.Bind) == 0 {
				t.Fatalf("frontend %q accepted without bind", fe.Name)
			}
			if fe.DefaultBackend != "" && cfg.Backend(fe.DefaultBackend) == nil {
				t.Fatalf("frontend %q: dangling default_backend", fe.Name)
			}
		}
		for _, vi := range cfg.VRRPInstances {
			if vi.VirtualRouterID < 1 || vi.VirtualRouterID > 255 || len(vi.AuthPass) > 8 || len(vi.VirtualIPAddresses) == 0 {
				t.Fatalf("instance %q accepted out of range: %+v", vi.Name, vi)
			}
		}
		for _, g := range cfg.VRRPSyncGroups {
			if len(g.Group) == 0 {
				t.Fatalf("vrrp_sync_group %q accepted without members", g.Name)
			}
			for _, m := range g.Group {
				if cfg.VRRPInstanceByName(m) == nil {
					t.Fatalf("vrrp_sync_group %q: unknown member %q accepted", g.Name, m)
				}
			}
		}
		checkBGPInvariants(t, cfg)
	})
}

// FuzzErrorFile checks the error-file reader on arbitrary file content.
func FuzzErrorFile(f *testing.F) {
	f.Add([]byte("HTTP/1.1 503 Service Unavailable\nContent-Length: 0\n\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := normalizeErrorFile(raw)
		if err != nil {
			return
		}
		if _, err := normalizeErrorFile(out); err != nil {
			t.Fatalf("normalized output is not accepted again: %v", err)
		}
	})
}

// FuzzSplitCommand checks the script command-line splitter.
func FuzzSplitCommand(f *testing.F) {
	f.Add(`/bin/sh -c 'exit 0'`)
	f.Add(`a "b c" d\ e`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = SplitCommand(s)
	})
}
