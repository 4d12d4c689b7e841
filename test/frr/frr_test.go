package frr

import "testing"

// TestComplaint: the lines that say vrrpd dropped a packet or hit an
// error count; its normal protocol chatter does not.
func TestComplaint(t *testing.T) {
	for line, want := range map[string]bool{
		"VRRP: [X] [CORE] [VRID 51] [IPv4] Datagram invalid: Bad VRRP checksum 1234; should be 4321":             true,
		"VRRP: [X] [CORE] [VRID 51] [IPv4] Datagram invalid: Bad version 2":                                      true,
		"VRRP: [X] [CORE] [VRID 51] [IPv6] Datagram has 2 addresses, but this VRRP instance has 1":               true,
		"VRRP: [X][EC 100663302] something failed":                                                               true,
		"VRRP: [X] [CORE] [VRID 51] [IPv4] Refusing to start Virtual Router: No VRRP interface":                  false,
		"VRRP: [X] [CORE] [VRID 51] [IPv4] Discarding advertisement from 192.0.2.2 (100 < 150 & preempt = true)": false,
		"VRRP: [X] [CORE] [VRID 51] [IPv4] Backup -> Master":                                                     false,
	} {
		if got := complaint.MatchString(line); got != want {
			t.Errorf("%q: complaint %v, want %v", line, got, want)
		}
	}
}
