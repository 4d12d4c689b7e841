//go:build !linux

package vrrp

import (
	"net/netip"

	"lbd/config"
)

// RemoveLeftovers has nothing to remove where lbd adds no VIPs.
func RemoveLeftovers(cfg *config.Config) ([]netip.Prefix, error) { return nil, nil }
