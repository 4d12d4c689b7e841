package main

import (
	"fmt"
	"strings"

	"lbd/bgp"
)

// bgpCmd is `lbctl bgp status|drain|undrain`.
func (c *cli) bgpCmd(w []string) error {
	if len(w) != 2 {
		return usageError{"usage: lbctl bgp status|drain|undrain"}
	}
	switch w[1] {
	case "status":
		return c.bgpStatus()
	case "drain", "undrain":
		var raw []byte
		if err := c.client.Post("/v1/bgp/"+w[1], nil, nil, &raw); err != nil {
			return err
		}
		if c.json {
			_, err := c.out.Write(raw)
			return err
		}
		if w[1] == "drain" {
			fmt.Fprintln(c.out, "drained: every route is withdrawn, the node keeps serving; `lbctl bgp undrain` announces again")
		} else {
			fmt.Fprintln(c.out, "undrained: routes are announced again where the tracked backends allow")
		}
		return nil
	}
	return usageError{fmt.Sprintf("unknown bgp command %q", w[1])}
}

func (c *cli) bgpStatus() error {
	var st bgp.Status
	var raw []byte
	if err := c.client.Get("/v1/bgp", &st, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	if !st.Configured {
		fmt.Fprintln(c.out, "no bgp block configured")
		return nil
	}
	drained := "no"
	if st.Drained {
		drained = fmt.Sprintf("yes, since %s ago (lbctl bgp undrain to announce again)", since(st.DrainedSince))
	}
	if st.Stopping {
		drained += ", stopping"
	}
	fmt.Fprintf(c.out, "asn %d, router id %s, interface %s, routes announced %d, drained: %s\n\n",
		st.ASN, st.RouterID, st.Interface, st.RoutesAnnounced, drained)
	t := newTable(c.out)
	t.row("NEIGHBOR", "REMOTE AS", "STATE", "UPTIME", "HOLD", "ROUTES", "TRANSITIONS", "LAST ERROR")
	for _, n := range st.Neighbors {
		up, hold := "-", "-"
		if n.State == "ESTABLISHED" {
			up = since(n.EstablishedSince)
			hold = fmt.Sprintf("%ds", n.HoldTime)
		}
		lastErr := n.LastError
		if lastErr == "" {
			lastErr = "-"
		}
		state := n.State
		if n.BFD != "" {
			state += " (bfd " + n.BFD + ")"
		}
		t.row(n.Address, fmt.Sprint(n.RemoteAS), state, up, hold, fmt.Sprint(n.RoutesAnnounced), fmt.Sprint(n.Transitions), lastErr)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.out)
	t = newTable(c.out)
	t.row("ANNOUNCE", "ADDRESSES", "STATE", "SINCE", "REASON")
	for _, a := range st.Announces {
		state := "WITHDRAWN"
		if a.Announced {
			state = "ANNOUNCED"
		}
		t.row(a.Name, strings.Join(a.Addresses, ","), state, since(a.Since), a.Reason)
	}
	return t.flush()
}
