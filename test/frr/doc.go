// Package frr runs FRR's vrrpd (Debian's frr package, 8.4), with the zebra
// it needs, in a network namespace as an interop peer of lbd's VRRP tests,
// and reads its log for complaints about lbd's packets.
//
// vrrpd does not create the macvlan interfaces its virtual routers live
// on: New creates them in the namespace as FRR's documentation says
// (vrrp4-2-VRID with MAC 00:00:5e:00:01:VRID, vrrp6-2-VRID with
// 00:00:5e:00:02:VRID, bridge mode, addrgenmode random), with the VIPs on
// them; vrrpd keeps a backup's macvlan in protodown. The parent interface
// gets arp_ignore=1 and arp_announce=2, so that it neither answers ARP for
// the VIPs nor asks with them itself.
//
// It is test support (its failures go to a testing.TB) and needs root,
// iproute2 and the frr user of Debian's package (FRR drops to it), as the
// labs that call it do.
package frr
