package appliance

import (
	"fmt"

	"lbd/admin"
	"lbd/maps"
)

// Maps is admin.PolicyController: the running maps.
func (a *Appliance) Maps() []maps.Stats { return a.proxy.MapStats() }

// Map is admin.PolicyController.
func (a *Appliance) Map(name string) (*maps.Map, error) {
	if m := a.proxy.Map(name); m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("%w: no map %q", admin.ErrNotFound, name)
}
