package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"lbd/admin"
	"lbd/health"
	"lbd/vrrp"
)

// pairCmd is `lbctl pair ...`: the same commands for both nodes of the
// pair at once, through this node's daemon, which reaches the other over
// the peer API (peer_api block, a secret both nodes share).
func (c *cli) pairCmd(w []string) error {
	const use = "usage: lbctl pair vip status | backend status [NAME] | server state|weight BACKEND/SERVER VALUE | reload | drift"
	if len(w) < 2 {
		return usageError{use}
	}
	switch {
	case w[1] == "vip" && len(w) == 3 && w[2] == "status":
		return c.pairVIPs()
	case w[1] == "backend" && (len(w) == 3 || len(w) == 4) && w[2] == "status":
		name := ""
		if len(w) == 4 {
			name = w[3]
		}
		return c.pairBackends(name)
	case w[1] == "server" && len(w) == 5 && (w[2] == "state" || w[2] == "weight"):
		return c.pairServer(w[2], w[3], w[4])
	case w[1] == "reload" && len(w) == 2:
		return c.pairReload()
	case w[1] == "drift" && len(w) == 2:
		return c.pairDrift()
	}
	return usageError{use}
}

// pairGet fetches a pair endpoint; with --json it prints the answer and
// returns nil result.
func (c *cli) pairGet(path string) (*admin.PairResult, error) {
	var res admin.PairResult
	var raw []byte
	if err := c.client.Get(path, &res, &raw); err != nil {
		return nil, err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return nil, err
	}
	return &res, nil
}

func nodeLabel(n admin.PairNode) string {
	if n.Node == "local" {
		return "this node " + n.Addr
	}
	return "peer " + n.Addr
}

// nodeErr is a node that could not answer, or answered an error.
func nodeErr(n admin.PairNode) string {
	if n.Error != "" {
		return n.Error
	}
	if n.Status >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(n.Data, &e) == nil && e.Error != "" {
			return e.Error
		}
		return fmt.Sprintf("status %d", n.Status)
	}
	return ""
}

func (c *cli) pairVIPs() error {
	res, err := c.pairGet("/v1/pair/vips")
	if err != nil || res == nil {
		return err
	}
	t := newTable(c.out)
	t.row("NODE", "INSTANCE", "STATE", "PRIORITY", "EFFECTIVE", "VRID", "VIPS", "MASTER", "SINCE")
	var failed []string
	for _, n := range res.Nodes {
		if e := nodeErr(n); e != "" {
			t.row(nodeLabel(n), "-", "unreachable", "-", "-", "-", "-", "-", "-")
			failed = append(failed, nodeLabel(n)+": "+e)
			continue
		}
		var vips []vrrp.InstanceStatus
		if err := json.Unmarshal(n.Data, &vips); err != nil {
			return fmt.Errorf("%s: %w", nodeLabel(n), err)
		}
		for _, v := range vips {
			state := v.State
			if v.Released {
				state += " (released)"
			}
			master := v.Master
			if master == "" {
				master = "-"
			}
			t.row(nodeLabel(n), v.Name, state, fmt.Sprint(v.Priority), fmt.Sprint(v.EffectivePriority),
				fmt.Sprint(v.VRID), strings.Join(v.VIPs, ","), master, since(v.LastTransition))
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.printDrift(res, true)
	return joinFailures(failed)
}

func (c *cli) pairBackends(name string) error {
	path := "/v1/pair/backends"
	if name != "" {
		path += "/" + pathEscape(name)
	}
	res, err := c.pairGet(path)
	if err != nil || res == nil {
		return err
	}
	t := newTable(c.out)
	t.row("NODE", "BACKEND", "SERVER", "STATE", "WEIGHT", "CONN", "QUEUE", "CHECK")
	var failed []string
	for _, n := range res.Nodes {
		if e := nodeErr(n); e != "" {
			t.row(nodeLabel(n), "-", "-", "unreachable", "-", "-", "-", e)
			failed = append(failed, nodeLabel(n)+": "+e)
			continue
		}
		var backends []health.BackendStatus
		if err := json.Unmarshal(n.Data, &backends); err != nil {
			return fmt.Errorf("%s: %w", nodeLabel(n), err)
		}
		for _, b := range backends {
			for _, s := range b.Servers {
				t.row(nodeLabel(n), b.Name, s.Name, s.State, fmt.Sprint(s.Weight), fmt.Sprint(s.CurConns),
					fmt.Sprint(s.Queue), checkText(s.Check))
			}
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	c.printDrift(res, true)
	return joinFailures(failed)
}

func (c *cli) pairServer(what, target, value string) error {
	be, sv, ok := strings.Cut(target, "/")
	if !ok || be == "" || sv == "" {
		return usageError{fmt.Sprintf("%q: expected BACKEND/SERVER", target)}
	}
	var body any
	switch what {
	case "state":
		value = strings.ToLower(value)
		if value != "ready" && value != "drain" && value != "maint" {
			return usageError{fmt.Sprintf("state %q: expected ready, drain or maint", value)}
		}
		body = map[string]string{"state": value}
	case "weight":
		var n int
		if _, err := fmt.Sscan(value, &n); err != nil || n < 0 || n > 256 || fmt.Sprint(n) != value {
			return usageError{fmt.Sprintf("weight %q: expected a whole number 0..256", value)}
		}
		body = map[string]int{"weight": n}
	}
	var res admin.PairResult
	var raw []byte
	if err := c.client.Post("/v1/pair/servers/"+pathEscape(be)+"/"+pathEscape(sv)+"/"+what, body, &res, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	var failed []string
	for _, n := range res.Nodes {
		if e := nodeErr(n); e != "" {
			fmt.Fprintf(c.out, "%s: %s %s/%s NOT set: %s\n", nodeLabel(n), what, be, sv, e)
			failed = append(failed, nodeLabel(n)+": "+e)
			continue
		}
		fmt.Fprintf(c.out, "%s: %s %s/%s %s\n", nodeLabel(n), what, be, sv, value)
	}
	return joinFailures(failed)
}

func (c *cli) pairReload() error {
	var res admin.PairResult
	var raw []byte
	if err := c.client.Post("/v1/pair/reload", nil, &res, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	var failed []string
	for i, n := range res.Nodes {
		role := "the backup"
		if i == 1 {
			role = "then the master"
		}
		if e := nodeErr(n); e != "" {
			fmt.Fprintf(c.out, "%s (%s): reload REFUSED, its running configuration is kept: %s\n", role, nodeLabel(n), e)
			var d struct{ Diagnostics []string }
			if json.Unmarshal(n.Data, &d) == nil {
				for _, l := range d.Diagnostics {
					fmt.Fprintln(c.errOut, l)
				}
			}
			failed = append(failed, nodeLabel(n)+": "+e)
			continue
		}
		fmt.Fprintf(c.out, "%s (%s): configuration applied\n", role, nodeLabel(n))
	}
	if len(res.Nodes) == 1 {
		fmt.Fprintln(c.out, "the other node was not reloaded")
	}
	return joinFailures(failed)
}

func (c *cli) pairDrift() error {
	res, err := c.pairGet("/v1/pair/drift")
	if err != nil || res == nil {
		return err
	}
	c.printDrift(res, false)
	if res.DriftError != "" {
		return errors.New(res.DriftError)
	}
	if len(res.Drift) > 0 {
		return fmt.Errorf("%d setting(s) differ between the nodes", len(res.Drift))
	}
	return nil
}

// printDrift says whether the two configuration files differ in more than
// what is each node's own (state, priority, unicast settings).
func (c *cli) printDrift(res *admin.PairResult, brief bool) {
	switch {
	case res.DriftError != "":
		fmt.Fprintf(c.out, "\nconfiguration drift: unknown (%s)\n", res.DriftError)
	case len(res.Drift) == 0:
		fmt.Fprintln(c.out, "\nno configuration drift: the files differ only in each node's own settings")
	case brief:
		fmt.Fprintf(c.out, "\nWARNING: configuration drift: %d setting(s) differ between the nodes (lbctl pair drift)\n", len(res.Drift))
	default:
		fmt.Fprintf(c.out, "WARNING: configuration drift: %d setting(s) differ between the nodes:\n", len(res.Drift))
		for _, d := range res.Drift {
			fmt.Fprintln(c.out, "  "+d)
		}
	}
}

func joinFailures(f []string) error {
	if len(f) == 0 {
		return nil
	}
	return errors.New(strings.Join(f, "; "))
}
