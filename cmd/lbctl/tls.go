package main

import (
	"fmt"
	"strings"
	"time"

	"lbd/admin"
	"lbd/tlsconf"
)

// tlsCommand runs `cert list`, `tls tickets` and `tls tickets rotate`.
func (c *cli) tlsCommand(w []string) error {
	switch {
	case w[0] == "cert" && len(w) == 2 && w[1] == "list":
		return c.certList()
	case w[0] == "tls" && len(w) == 2 && w[1] == "tickets":
		return c.tickets("GET")
	case w[0] == "tls" && len(w) == 3 && w[1] == "tickets" && w[2] == "rotate":
		return c.tickets("POST")
	case w[0] == "cert":
		return usageError{"usage: lbctl cert list"}
	}
	return usageError{"usage: lbctl tls tickets [rotate]"}
}

func (c *cli) certList() error {
	var certs []admin.CertInfo
	var raw []byte
	if err := c.client.Get("/v1/certs", &certs, &raw); err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	t := newTable(c.out)
	t.row("NAMES", "SANS", "KEY", "ISSUER", "NOT AFTER", "EXPIRES IN", "OCSP", "BINDS", "FILE")
	for _, ci := range certs {
		names := strings.Join(ci.Names, ",")
		if ci.Default {
			names += " (default)"
		}
		ocsp := "-"
		if !ci.OCSP.IsZero() {
			ocsp = "until " + ci.OCSP.UTC().Format("2006-01-02")
		}
		t.row(names, strings.Join(ci.SANs, ","), ci.KeyType, ci.Issuer, ci.NotAfter.UTC().Format(time.RFC3339),
			expiresIn(ci.ExpiresIn), ocsp, strings.Join(ci.Binds, ","), ci.Path)
	}
	return t.flush()
}

// expiresIn prints seconds as days (hours under two days), EXPIRED when
// negative.
func expiresIn(s int64) string {
	d := time.Duration(s) * time.Second
	switch {
	case s < 0:
		return "EXPIRED"
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func (c *cli) tickets(method string) error {
	var st tlsconf.TicketStatus
	var raw []byte
	var err error
	if method == "POST" {
		err = c.client.Post("/v1/tls/tickets/rotate", nil, &st, &raw)
	} else {
		err = c.client.Get("/v1/tls/tickets", &st, &raw)
	}
	if err != nil {
		return err
	}
	if c.json {
		_, err := c.out.Write(raw)
		return err
	}
	t := newTable(c.out)
	t.row("secret", st.Source)
	t.row("key period", st.Period)
	t.row("current key", st.KeyName)
	t.row("next rotation", st.NextRotate.Format(time.RFC3339))
	t.row("old secrets accepted", fmt.Sprint(st.OldSecrets))
	t.row("cached sessions", fmt.Sprintf("%d of %d", st.Cached, st.CacheSize))
	if err := t.flush(); err != nil {
		return err
	}
	if method == "POST" {
		if strings.HasPrefix(st.Source, "random") {
			fmt.Fprintln(c.out, "rotated: a new random secret (this node only; set global.tls_ticket_secret to share keys with the peer)")
		} else {
			fmt.Fprintf(c.out, "rotated: a new secret is in %s; copy it to the peer node and run lbctl reload there, so that both nodes keep the same keys\n", st.Source)
		}
	}
	return nil
}
