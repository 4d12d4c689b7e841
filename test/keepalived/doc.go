// Package keepalived runs a real keepalived (Debian's, 2.2) in a network
// namespace as the interop peer of lbd's VRRP tests: the vrrp package's
// netns lab tests and the end-to-end tests pair lbd with it on one VRID,
// in both roles, and read its log for complaints about lbd's packets.
//
// It is test support (its failures go to a testing.TB) and needs root and
// iproute2, as the labs that call it do.
package keepalived
