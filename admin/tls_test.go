package admin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"lbd/tlsconf"
)

// fakeTLS adds the TLS side to the fake controller.
type fakeTLS struct {
	fakeController
	rotated   int
	rotateErr error
}

func (f *fakeTLS) Certificates() []CertInfo {
	return []CertInfo{{Path: "/etc/lbd/site.pem", Names: []string{"www.example.com"}, NotAfter: time.Now().Add(48 * time.Hour),
		Binds: []string{"web/0.0.0.0:443", "web/0.0.0.0:8443"}}}
}
func (f *fakeTLS) TicketStatus() tlsconf.TicketStatus {
	return tlsconf.TicketStatus{Source: "/etc/lbd/secret", KeyName: strings.Repeat("a", f.rotated+1)}
}
func (f *fakeTLS) RotateTickets() error {
	if f.rotateErr != nil {
		return f.rotateErr
	}
	f.rotated++
	return nil
}

func TestTLSEndpoints(t *testing.T) {
	ctl := &fakeTLS{}
	c := startAPI(t, ctl)
	var certs []CertInfo
	if err := c.Get("/v1/certs", &certs, nil); err != nil || len(certs) != 1 || certs[0].Binds[1] != "web/0.0.0.0:8443" {
		t.Fatalf("certs %+v %v", certs, err)
	}
	var st tlsconf.TicketStatus
	if err := c.Post("/v1/tls/tickets/rotate", nil, &st, nil); err != nil || ctl.rotated != 1 || st.KeyName != "aa" {
		t.Fatalf("rotate: %+v %v", st, err)
	}
	ctl.rotateErr = errors.New("disk full")
	var ae *APIError
	if err := c.Post("/v1/tls/tickets/rotate", nil, nil, nil); !errors.As(err, &ae) || ae.Status != 500 || ae.Message != "disk full" {
		t.Errorf("failed rotation: %v", err)
	}
	if err := c.Get("/v1/tls/tickets/rotate", nil, nil); !errors.As(err, &ae) || ae.Status != 405 {
		t.Errorf("GET rotate: %v", err)
	}
	// A controller without TLS answers 404.
	plain := startAPI(t, &fakeController{})
	if err := plain.Get("/v1/certs", nil, nil); !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("no TLS controller: %v", err)
	}
}

type certSource struct{ fakeTLS }

func (certSource) Stats() Snapshot { return Snapshot{} }

func TestCertMetric(t *testing.T) {
	reg := newRegistry(&certSource{})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() != "lbd_tls_certificate_expiry_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			n++
			if v := m.GetGauge().GetValue(); v < 47*3600 || v > 48*3600 {
				t.Errorf("seconds to expiry %v", v)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d series, want one per bind", n)
	}
}
