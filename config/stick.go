package config

import (
	"github.com/hashicorp/hcl/v2"

	"lbd/sample"
)

// checkTablesStore checks that the tables a counter is read from exist
// and store it. Stick tables are not configurable yet: every table is
// unknown.
func (d *decoder) checkTablesStore(cfg *Config, tables []string, e *sample.Expr, rng hcl.Range) {
	for _, t := range tables {
		d.errorf(rng, "%s: unknown stick table %q", e.Src, t)
	}
}
