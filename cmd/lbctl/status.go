package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"lbd/health"
	"lbd/vrrp"
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

func (c *cli) vipStatus() error {
	var vips []vrrp.InstanceStatus
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
		state := v.State
		if v.Released {
			state += " (released)"
		}
		t.row(v.Name, v.Interface, state, fmt.Sprint(v.Priority), fmt.Sprint(v.EffectivePriority),
			fmt.Sprint(v.VRID), strings.Join(v.VIPs, ","), master, since(v.LastTransition), v.LastTransitionReason)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if err := syncGroupTable(c.out, vips); err != nil {
		return err
	}
	// What moves the priority, and the packet counters, per instance.
	for _, v := range vips {
		fmt.Fprintf(c.out, "\n%s: base priority %d", v.Name, v.Priority)
		tt := newTable(c.out)
		n := 0
		for _, tr := range v.Trackers {
			if tr.Implicit && tr.Contribution == 0 && !tr.Fault {
				continue
			}
			if n == 0 {
				fmt.Fprintln(c.out)
				tt.row("  TRACKER", "STATUS", "WEIGHT", "CONTRIBUTION", "DETAIL")
			}
			n++
			contrib := fmt.Sprintf("%+d", tr.Contribution)
			if tr.Fault {
				contrib = "FAULT"
			}
			tt.row("  "+tr.Kind+" "+tr.Name, tr.Status, fmt.Sprint(tr.Weight), contrib, tr.Detail)
		}
		if n == 0 {
			fmt.Fprintln(c.out, ", no trackers")
		}
		if err := tt.flush(); err != nil {
			return err
		}
		ct := v.Counters
		var invalid []string
		for reason, k := range ct.Invalid {
			if k > 0 {
				invalid = append(invalid, fmt.Sprintf("%s=%d", reason, k))
			}
		}
		sort.Strings(invalid)
		if len(invalid) == 0 {
			invalid = []string{"none"}
		}
		fmt.Fprintf(c.out, "  adverts sent %d, received %d; transitions %d; invalid packets: %s\n",
			ct.AdvertsSent, ct.AdvertsReceived, ct.Transitions, strings.Join(invalid, " "))
	}
	return nil
}

// syncGroupTable lists the vrrp_sync_groups, their state and members, in
// the order their first member appears; nothing when there are none.
func syncGroupTable(w io.Writer, vips []vrrp.InstanceStatus) error {
	var order []string
	members := map[string][]string{}
	state := map[string]string{}
	for _, v := range vips {
		if v.SyncGroup == "" {
			continue
		}
		if _, ok := members[v.SyncGroup]; !ok {
			order = append(order, v.SyncGroup)
		}
		members[v.SyncGroup] = append(members[v.SyncGroup], v.Name+"="+v.State)
		state[v.SyncGroup] = v.SyncGroupState
	}
	if len(order) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w)
	t.row("SYNC GROUP", "STATE", "MEMBERS")
	for _, g := range order {
		t.row(g, state[g], strings.Join(members[g], ","))
	}
	return t.flush()
}
