package main

import (
	"fmt"
	"strconv"

	"lbd/admin"
	"lbd/maps"
)

// mapCommand runs `map list|show|add|set|del|clear|reset`.
func (c *cli) mapCommand(w []string) error {
	const u = "usage: lbctl map list | show NAME | add NAME KEY VALUE | set NAME KEY VALUE | del NAME KEY | clear NAME | reset NAME"
	if len(w) < 2 {
		return usageError{u}
	}
	n := map[string]int{"list": 2, "show": 3, "add": 5, "set": 5, "del": 4, "clear": 3, "reset": 3}[w[1]]
	if n == 0 || len(w) != n {
		return usageError{u}
	}
	switch w[1] {
	case "list":
		return c.mapList()
	case "show":
		return c.mapShow(w[2])
	}
	var body any = map[string]string{}
	switch w[1] {
	case "add", "set":
		body = map[string]string{"key": w[3], "value": w[4]}
	case "del":
		body = map[string]string{"key": w[3]}
	}
	var res map[string]string
	var raw []byte
	if err := c.client.Post("/v1/maps/"+w[2]+"/"+w[1], body, &res, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	_, err := fmt.Fprintf(c.out, "map %s: %s done\n", w[2], w[1])
	return err
}

func (c *cli) mapList() error {
	var l []maps.Stats
	var raw []byte
	if err := c.client.Get("/v1/maps", &l, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	t := newTable(c.out)
	t.row("MAP", "ENTRIES", "RUNTIME KEYS", "LOOKUPS", "HITS")
	for _, s := range l {
		t.row(s.Name, strconv.Itoa(s.Entries), strconv.Itoa(s.RuntimeChanged), strconv.FormatUint(s.Lookups, 10), strconv.FormatUint(s.Hits, 10))
	}
	return t.flush()
}

func (c *cli) mapShow(name string) error {
	var m admin.MapEntries
	var raw []byte
	if err := c.client.Get("/v1/maps/"+name, &m, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	t := newTable(c.out)
	t.row("KEY", "VALUE", "FROM")
	for _, e := range m.Entries {
		from := "line " + strconv.Itoa(e.Line)
		switch {
		case e.Runtime && e.Line > 0:
			from = "runtime (file line " + strconv.Itoa(e.Line) + ")"
		case e.Runtime:
			from = "runtime"
		}
		t.row(e.Key, e.Value, from)
	}
	return t.flush()
}
