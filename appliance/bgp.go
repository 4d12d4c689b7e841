package appliance

import (
	"errors"
	"fmt"

	"lbd/admin"
	"lbd/bgp"
)

// BGPStatus reports the BGP speaker (lbctl bgp status).
func (a *Appliance) BGPStatus() (bgp.Status, error) {
	return a.bgp.Status(), nil
}

// BGPDrain withdraws every route while the node keeps serving
// (lbctl bgp drain).
func (a *Appliance) BGPDrain() error { return bgpErr(a.bgp.Drain()) }

// BGPUndrain announces again (lbctl bgp undrain).
func (a *Appliance) BGPUndrain() error { return bgpErr(a.bgp.Undrain()) }

func bgpErr(err error) error {
	if errors.Is(err, bgp.ErrNotConfigured) {
		return fmt.Errorf("%w: %w", admin.ErrNotFound, err)
	}
	return err
}
