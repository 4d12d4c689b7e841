package config

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vrrpInstance is a vrrp_instance block with the given extra lines (each
// written on a line of its own after the required ones, from line 5).
func vrrpInstance(name string, vips string, extra ...string) string {
	return "vrrp_instance \"" + name + "\" {\n  interface = \"eth0\"\n  virtual_router_id = 51\n  virtual_ipaddress = " + vips + "\n" +
		strings.Join(extra, "\n") + "\n}\n"
}

func TestVRRPv3Config(t *testing.T) {
	v4 := `["192.0.2.100/24"]`
	v6 := `["2001:db8::100/64"]`
	tests := []struct {
		name string
		src  string
		want []string // diagnostics, FILE:LINE:COL prefix omitted; none = valid
		// check, for a valid file, looks at the decoded instance.
		check func(t *testing.T, vi *VRRPInstance)
	}{
		{name: "defaults: version 2, no vmac", src: vrrpInstance("V", v4), check: func(t *testing.T, vi *VRRPInstance) {
			if vi.Version != 2 || vi.AdvertInt != time.Second || vi.VMACInterface != "" || vi.VMACXmitBase || vi.IPv6() {
				t.Errorf("%+v", vi)
			}
		}},
		{name: "v3 centisecond advert_int", src: vrrpInstance("V", v4, `  version = 3`, `  advert_int = "100ms"`), check: func(t *testing.T, vi *VRRPInstance) {
			if vi.Version != 3 || vi.AdvertInt != 100*time.Millisecond {
				t.Errorf("version %d advert_int %s", vi.Version, vi.AdvertInt)
			}
		}},
		{name: "v3 IPv6 with unicast", src: vrrpInstance("V", `["2001:db8::100/64", "2001:db8::101/64"]`, `  version = 3`, `  unicast_src = "2001:db8::11"`, `  unicast_peers = ["2001:db8::12"]`), check: func(t *testing.T, vi *VRRPInstance) {
			if !vi.IPv6() || len(vi.UnicastPeers) != 1 || vi.UnicastPeers[0] != netip.MustParseAddr("2001:db8::12") {
				t.Errorf("%+v", vi)
			}
		}},
		{name: "v3 advert_int not in 10ms steps", src: vrrpInstance("V", v4, `  version = 3`, `  advert_int = "105ms"`), want: []string{`6:16: advert_int: VRRPv3 adverts are sent in 10ms steps, 105ms is not`}},
		{name: "v3 advert_int too long", src: vrrpInstance("V", v4, `  version = 3`, `  advert_int = "41s"`), want: []string{`6:16: advert_int: 41s is out of range 10ms..40.95s`}},
		{name: "v3 advert_int too short", src: vrrpInstance("V", v4, `  version = 3`, `  advert_int = "5ms"`), want: []string{`6:16: advert_int: 5ms is out of range 10ms..40.95s`}},
		{name: "v2 advert_int fraction", src: vrrpInstance("V", v4, `  advert_int = "100ms"`), want: []string{`5:16: advert_int: 100ms is out of range 1s..4m15s`}},
		{name: "version out of range", src: vrrpInstance("V", v4, `  version = 4`), want: []string{`5:13: version: 4 is out of range 2..3`}},
		{name: "v3 refuses auth_pass", src: vrrpInstance("V", v4, `  version = 3`, `  auth_pass = "x"`), want: []string{`6:15: auth_pass: VRRPv3 has no authentication (RFC 5798 removed it)`}},
		{name: "v2 refuses IPv6", src: vrrpInstance("V", v6), want: []string{`4:24: virtual_ipaddress: 2001:db8::100/64 is IPv6; VRRPv2 carries IPv4 addresses only: set version = 3`}},
		{name: "families mixed", src: vrrpInstance("V", `["192.0.2.100/24", "2001:db8::100/64"]`, `  version = 3`), want: []string{`4:42: virtual_ipaddress: 192.0.2.100/24 and 2001:db8::100/64 are of different families; IPv4 and IPv6 need one vrrp_instance each`}},
		{name: "VIP with a zone", src: vrrpInstance("V", `["fe80::1%eth0/64"]`, `  version = 3`), want: []string{`4:24: virtual_ipaddress: "fe80::1%eth0/64" is not a CIDR`}},
		{name: "multicast VIP", src: vrrpInstance("V", `["ff02::1/64"]`, `  version = 3`), want: []string{`4:24: virtual_ipaddress: ff02::1/64 is not a unicast address`}},
		{name: "unicast peer of the other family", src: vrrpInstance("V", v6, `  version = 3`, `  unicast_peers = ["192.0.2.12"]`), want: []string{`6:20: unicast_peers: 192.0.2.12 is not IPv6, the family of virtual_ipaddress`}},
		{name: "unicast_src of the other family", src: vrrpInstance("V", v4, `  unicast_src = "2001:db8::11"`), want: []string{`5:17: unicast_src: 2001:db8::11 is not IPv4, the family of virtual_ipaddress`}},
		{name: "use_vmac true names vrrp.VRID", src: vrrpInstance("V", v4, `  use_vmac = true`), check: func(t *testing.T, vi *VRRPInstance) {
			if vi.VMACInterface != "vrrp.51" {
				t.Errorf("vmac %q", vi.VMACInterface)
			}
		}},
		{name: "use_vmac with a name and xmit base", src: vrrpInstance("V", v4, `  use_vmac = "vmac51"`, `  vmac_xmit_base = true`), check: func(t *testing.T, vi *VRRPInstance) {
			if vi.VMACInterface != "vmac51" || !vi.VMACXmitBase {
				t.Errorf("vmac %q xmit base %v", vi.VMACInterface, vi.VMACXmitBase)
			}
		}},
		{name: "use_vmac false", src: vrrpInstance("V", v4, `  use_vmac = false`), check: func(t *testing.T, vi *VRRPInstance) {
			if vi.VMACInterface != "" {
				t.Errorf("vmac %q", vi.VMACInterface)
			}
		}},
		{name: "use_vmac bad name", src: vrrpInstance("V", v4, `  use_vmac = "a/b"`), want: []string{`5:14: use_vmac: "a/b" is not an interface name`}},
		{name: "use_vmac name too long", src: vrrpInstance("V", v4, `  use_vmac = "sixteen-chars-xx"`), want: []string{`5:14: use_vmac: "sixteen-chars-xx" is not an interface name`}},
		{name: "use_vmac of the wrong type", src: vrrpInstance("V", v4, `  use_vmac = 1`), want: []string{`5:14: use_vmac: true, false or an interface name is required, got a number`}},
		{name: "use_vmac on the interface itself", src: vrrpInstance("V", v4, `  use_vmac = "eth0"`), want: []string{`5:14: use_vmac: the macvlan needs a name of its own, not "eth0"`}},
		{name: "vmac_xmit_base without use_vmac", src: vrrpInstance("V", v4, `  vmac_xmit_base = true`), want: []string{`5:20: vmac_xmit_base: only means something with use_vmac`}},
		{name: "one VRID for IPv4 and IPv6 on one interface", src: vrrpInstance("A", v4, `  version = 3`) + vrrpInstance("B", v6, `  version = 3`)},
		{name: "one VRID twice in one family", src: vrrpInstance("A", v6, `  version = 3`) + vrrpInstance("B", `["2001:db8::101/64"]`, `  version = 3`), want: []string{`9:23: virtual_router_id 51 on eth0 is already used by vrrp_instance "A"`}},
		{name: "one vmac twice", src: vrrpInstance("A", v4, `  use_vmac = "vm"`) + "vrrp_instance \"B\" {\n  interface = \"eth0\"\n  virtual_router_id = 52\n  virtual_ipaddress = [\"192.0.2.101/24\"]\n  use_vmac = \"vm\"\n}\n", want: []string{`11:14: use_vmac: vm is already the macvlan of vrrp_instance "A"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lbd.hcl")
			cfg, err := Parse(path, []byte(tc.src))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				if tc.check != nil {
					tc.check(t, cfg.VRRPInstances[0])
				}
				return
			}
			var diags Diagnostics
			if !errors.As(err, &diags) {
				t.Fatalf("want diagnostics, got %v", err)
			}
			if len(diags) != len(tc.want) {
				t.Errorf("want %d diagnostics, got %d:\n%v", len(tc.want), len(diags), err)
			}
			for i, w := range tc.want {
				if i < len(diags) && !strings.HasPrefix(diags[i].String(), path+":"+w) {
					t.Errorf("diagnostic %d:\n got  %s\n want %s:%s", i, diags[i], path, w)
				}
			}
		})
	}
}

// twoInstances are vrrp_instance "A" (VRID 51, priority 100) and "B"
// (VRID 52, priority bPrio) on lines 1 to 12.
func twoInstances(bPrio string) string {
	inst := func(name, vrid, vip, prio string) string {
		return "vrrp_instance \"" + name + "\" {\n  interface = \"eth0\"\n  virtual_router_id = " + vrid +
			"\n  virtual_ipaddress = [\"" + vip + "\"]\n  priority = " + prio + "\n}\n"
	}
	return inst("A", "51", "192.0.2.100/24", "100") + inst("B", "52", "192.0.2.101/24", bPrio)
}

func TestVRRPSyncGroupConfig(t *testing.T) {
	two := twoInstances("100")
	group := func(lines ...string) string {
		return "vrrp_sync_group \"G\" {\n" + strings.Join(lines, "\n") + "\n}\n"
	}
	runDiagCases(t, []diagCase{
		{name: "valid with notify", src: two + group(`  group = ["A", "B"]`, `  notify_master = "/etc/lbd/master.sh"`, `  notify_backup = "/etc/lbd/backup.sh"`, `  notify_fault = "/etc/lbd/fault.sh x"`, `  notify = "/etc/lbd/notify.sh"`)},
		{name: "group required", src: two + group(`  notify = "/x"`), want: []string{`13:21: Missing required argument: The argument "group" is required`}},
		{name: "group empty", src: two + group(`  group = []`), want: []string{`14:11: group: at least one vrrp_instance is required`}},
		{name: "unknown member", src: two + group(`  group = ["A", "C"]`), want: []string{`14:17: group: unknown vrrp_instance "C" (did you mean "A"?)`}},
		{name: "member twice", src: two + group(`  group = ["A", "B", "A"]`), want: []string{`14:22: group: "A" is listed twice`}},
		{name: "member in two groups", src: two + group(`  group = ["A", "B"]`) + "vrrp_sync_group \"H\" {\n  group = [\"B\"]\n}\n", want: []string{
			`17:12: group: vrrp_instance "B" is already in vrrp_sync_group "G"`,
		}},
		{name: "duplicate group", src: two + group(`  group = ["A"]`) + group(`  group = ["B"]`), want: []string{`16:1: duplicate vrrp_sync_group "G"; the first one is at line 13`}},
		{name: "one member warned", src: two + group(`  group = ["A"]`), want: []string{`14:11: warning: vrrp_sync_group "G" has one member: it syncs nothing`}},
		{name: "owner mixed in warned", src: twoInstances("255") + group(`  group = ["A", "B"]`), want: []string{`14:11: warning: vrrp_sync_group "G" mixes address owners (priority 255) with other instances`}},
		{name: "bad notify", src: two + group(`  group = ["A", "B"]`, `  notify = "'unterminated"`), want: []string{`15:12: notify: `}},
		{name: "weighted tracker warned", src: "vrrp_script \"chk\" {\n  script = \"/bin/true\"\n  weight = -20\n}\n" +
			strings.Replace(two, "priority = 100\n}", "priority = 100\n  track_script = [\"chk\"]\n}", 1) + group(`  group = ["A", "B"]`), want: []string{
			`19:12: warning: vrrp_sync_group "G": track_script "chk" (weight -20) of "A" counts as weight 0 in a sync group`,
		}},
		{name: "weighted tracker kept", src: "vrrp_script \"chk\" {\n  script = \"/bin/true\"\n  weight = -20\n}\n" +
			strings.Replace(two, "priority = 100\n}", "priority = 100\n  track_script = [\"chk\"]\n}", 1) + group(`  group = ["A", "B"]`, `  sync_group_tracking_weight = true`)},
		{name: "bad name", src: two + "vrrp_sync_group \"a/b\" {\n  group = [\"A\", \"B\"]\n}\n", want: []string{`13:17: vrrp_sync_group name "a/b" must not`}},
	})
}
