//go:build !linux

package health

import "net/netip"

// sockTarget is a resolved check address.
type sockTarget struct{ ap netip.AddrPort }

func newSockTarget(ap netip.AddrPort) *sockTarget { return &sockTarget{ap: ap} }
