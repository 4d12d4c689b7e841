package appliance

import (
	"fmt"

	"lbd/admin"
	"lbd/maps"
	"lbd/sticktable"
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

// TableStats is admin.TableController: the running stick tables.
func (a *Appliance) TableStats() []sticktable.Stats { return a.proxy.TableStats() }

// Table is admin.TableController.
func (a *Appliance) Table(name string) (*sticktable.Table, error) {
	if t := a.proxy.Table(name); t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("%w: no stick table %q", admin.ErrNotFound, name)
}
