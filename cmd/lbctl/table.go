package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"lbd/admin"
	"lbd/sticktable"
)

// tableCommand runs `table [list] | show [NAME [--key K]] | clear NAME [--key K]`.
func (c *cli) tableCommand(w []string) error {
	const u = "usage: lbctl table list | show [NAME] [--key KEY] | clear NAME [--key KEY]"
	var key string
	var args []string
	for i := 1; i < len(w); i++ {
		switch a := w[i]; {
		case a == "--key" || a == "-k":
			if i+1 >= len(w) {
				return usageError{u}
			}
			key = w[i+1]
			i++
		case strings.HasPrefix(a, "--key="):
			key = strings.TrimPrefix(a, "--key=")
		case strings.HasPrefix(a, "-"):
			return usageError{fmt.Sprintf("unknown option %q; %s", a, u)}
		default:
			args = append(args, a)
		}
	}
	op := "list"
	if len(args) > 0 {
		op, args = args[0], args[1:]
	}
	switch {
	case op == "list" && len(args) == 0 && key == "", op == "show" && len(args) == 0 && key == "":
		return c.tableList()
	case op == "show" && len(args) == 1:
		return c.tableShow(args[0], key)
	case op == "clear" && len(args) == 1:
		return c.tableClear(args[0], key)
	}
	return usageError{u}
}

func (c *cli) tableList() error {
	var l []sticktable.Stats
	var raw []byte
	if err := c.client.Get("/v1/tables", &l, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	t := newTable(c.out)
	t.row("TABLE", "TYPE", "SIZE", "ENTRIES", "LOOKUPS", "EVICTIONS", "EXPIRED")
	for _, s := range l {
		t.row(s.Name, s.Type, strconv.Itoa(s.Size), strconv.Itoa(s.Entries), strconv.FormatUint(s.Lookups, 10),
			strconv.FormatUint(s.Evictions, 10), strconv.FormatUint(s.Expired, 10))
	}
	return t.flush()
}

func (c *cli) tableShow(name, key string) error {
	var te admin.TableEntries
	var raw []byte
	path := "/v1/tables/" + url.PathEscape(name)
	if key != "" {
		path += "?key=" + url.QueryEscape(key)
	}
	if err := c.client.Get(path, &te, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	// As HAProxy's show table: one line per entry, the counters as
	// name=value.
	fmt.Fprintf(c.out, "# table: %s, type: %s, size: %d, used: %d\n", te.Name, te.Type, te.Size, len(te.Entries))
	for _, e := range te.Entries {
		line := fmt.Sprintf("key=%s use=%d", e.Key, e.Use)
		if e.Expire != "" {
			line += " exp=" + e.Expire
		}
		for _, v := range e.Values {
			line += fmt.Sprintf(" %s=%d", v.Name, v.Value)
		}
		fmt.Fprintln(c.out, line)
	}
	if key != "" && len(te.Entries) == 0 {
		return fmt.Errorf("table %s has no entry for %s", name, key)
	}
	return nil
}

func (c *cli) tableClear(name, key string) error {
	var res admin.TableCleared
	var raw []byte
	body := map[string]string{}
	if key != "" {
		body["key"] = key
	}
	if err := c.client.Post("/v1/tables/"+url.PathEscape(name)+"/clear", body, &res, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	_, err := fmt.Fprintf(c.out, "table %s: %d entries removed, %d in use reset\n", name, res.Removed, res.Reset)
	return err
}
