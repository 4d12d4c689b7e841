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
