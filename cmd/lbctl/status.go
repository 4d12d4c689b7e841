package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"lbd/health"
)

// table prints aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

func (t *table) row(cols ...string) { fmt.Fprintln(t.tw, strings.Join(cols, "\t")) }
func (t *table) flush() error       { return t.tw.Flush() }

func (c *cli) backendStatus(name string) error {
	path := "/v1/backends"
	if name != "" {
		path += "/" + pathEscape(name)
	}
	var backends []health.BackendStatus
	var raw []byte
	if err := c.client.Get(path, &backends, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	t := newTable(c.out)
	t.row("BACKEND", "SERVER", "ADDRESS", "STATE", "WEIGHT", "CONN", "MAX", "QUEUE", "TOTAL", "CHECK", "LAST CHANGE")
	for _, b := range backends {
		if len(b.Servers) == 0 {
			t.row(b.Name, "-", "-", "-", "-", "-", "-", "-", "-", "no servers", "-")
		}
		for _, s := range b.Servers {
			maxc := "-"
			if s.MaxConn > 0 {
				maxc = fmt.Sprint(s.MaxConn)
			}
			state := s.State
			if s.Backup {
				state += " (backup)"
			}
			t.row(b.Name, s.Name, s.Address, state, fmt.Sprint(s.Weight), fmt.Sprint(s.CurConns), maxc,
				fmt.Sprint(s.Queue), fmt.Sprint(s.TotalConns), checkText(s.Check), since(s.LastChange))
		}
	}
	return t.flush()
}

func checkText(ch health.CheckStatus) string {
	if !ch.Enabled {
		return "no check"
	}
	if ch.Result == "" {
		return "not run yet"
	}
	s := ch.Result
	if ch.Description != "" {
		s += " " + ch.Description
	}
	return fmt.Sprintf("%s in %.1fms", s, ch.DurationMs)
}

// vipView is the part of the daemon's VRRP status the table shows; --json
// prints everything the daemon sends.
type vipView struct {
	Name              string    `json:"name"`
	Interface         string    `json:"interface"`
	State             string    `json:"state"`
	Priority          int       `json:"priority"`
	EffectivePriority int       `json:"effective_priority"`
	VRID              int       `json:"vrid"`
	VIPs              []string  `json:"vips"`
	Master            string    `json:"master"`
	LastTransition    time.Time `json:"last_transition"`
	Reason            string    `json:"reason"`
}

func (c *cli) vipStatus() error {
	var vips []vipView
	var raw []byte
	if err := c.client.Get("/v1/vips", &vips, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	if len(vips) == 0 {
		fmt.Fprintln(c.out, "no vrrp_instance configured")
		return nil
	}
	t := newTable(c.out)
	t.row("INSTANCE", "INTERFACE", "STATE", "PRIORITY", "EFFECTIVE", "VRID", "VIPS", "MASTER", "SINCE", "REASON")
	for _, v := range vips {
		master := v.Master
		if master == "" {
			master = "-"
		}
		t.row(v.Name, v.Interface, v.State, fmt.Sprint(v.Priority), fmt.Sprint(v.EffectivePriority),
			fmt.Sprint(v.VRID), strings.Join(v.VIPs, ","), master, since(v.LastTransition), v.Reason)
	}
	return t.flush()
}
