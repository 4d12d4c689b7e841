package config

import (
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"lbd/maps"
)

// Map is a key -> value file the policy reads through map converters
// (HAProxy's map(), map_beg(), map_dom(), map_ip() with a file), loaded
// when the configuration is, changed at runtime with lbctl map.
type Map struct {
	Name string
	// File is the map file: "key value" lines, # comments, blank lines
	// (HAProxy's format), relative to the configuration's directory.
	File string
	// Entries are the file's, in file order.
	Entries []maps.Entry

	rng blockRanges
}

var mapSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "file", Required: true}},
}

func (d *decoder) decodeMap(blk *hcl.Block) *Map {
	m := &Map{Name: blk.Labels[0]}
	d.checkName(blk, "map")
	b := d.body(d.content(blk, mapSchema), blk.DefRange, &m.rng)
	b.str("file", &m.File)
	if m.File == "" {
		return m
	}
	p := m.File
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.dir, p)
	}
	m.File = p
	raw, err := os.ReadFile(p)
	if err != nil {
		d.errorf(m.rng.at("file"), "file: %v", err)
		return m
	}
	entries, errs := maps.Parse(raw)
	for _, e := range errs {
		d.errorf(m.rng.at("file"), "file: %s:%d: %s", m.File, e.Line, e.Msg)
	}
	m.Entries = entries
	return m
}

// Map returns the map of that name, or nil.
func (c *Config) Map(name string) *Map {
	for _, m := range c.Maps {
		if m.Name == name {
			return m
		}
	}
	return nil
}
