package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"lbd/tlsconf"
)

// CertInfo is one certificate lbd serves, as `lbctl cert list` shows it.
type CertInfo struct {
	// Path is the PEM file (or the ACME store's file).
	Path string `json:"path"`
	// Names are what SNI selects it by: its DNS names, or crt-list filters.
	Names     []string  `json:"names"`
	SANs      []string  `json:"sans"` // DNS and IP subjectAltNames
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	KeyType   string    `json:"key_type"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// ExpiresIn is the seconds left until NotAfter (negative: expired).
	ExpiresIn   int64  `json:"expires_in_seconds"`
	Fingerprint string `json:"sha256"`
	// OCSP is the stapled response's next update, zero when none.
	OCSP time.Time `json:"ocsp_next_update,omitzero"`
	// Binds are the addresses serving it, as "frontend/ip:port".
	Binds []string `json:"binds"`
	// Default: the first certificate of a bind, for clients without SNI.
	Default bool `json:"default"`
}

// TLSController is what the TLS endpoints need from the daemon; a
// controller without it answers them 404.
type TLSController interface {
	Certificates() []CertInfo
	TicketStatus() tlsconf.TicketStatus
	// RotateTickets starts a new ticket secret (lbctl tls tickets rotate).
	RotateTickets() error
}

// tlsController returns the controller's TLS side, or answers 404.
func (s *Server) tlsController(w http.ResponseWriter) TLSController {
	tc, ok := s.ctl.(TLSController)
	if !ok {
		writeError(w, http.StatusNotFound, errors.New("this daemon has no TLS support"))
		return nil
	}
	return tc
}

func (s *Server) certs(w http.ResponseWriter, _ *http.Request) {
	if tc := s.tlsController(w); tc != nil {
		certs := tc.Certificates()
		if certs == nil {
			certs = []CertInfo{}
		}
		writeJSON(w, http.StatusOK, certs)
	}
}

func (s *Server) tickets(w http.ResponseWriter, _ *http.Request) {
	if tc := s.tlsController(w); tc != nil {
		writeJSON(w, http.StatusOK, tc.TicketStatus())
	}
}

func (s *Server) ticketsRotate(w http.ResponseWriter, r *http.Request) {
	tc := s.tlsController(w)
	if tc == nil {
		return
	}
	if err := tc.RotateTickets(); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	s.log.Info().Msg("TLS ticket secret rotated")
	writeJSON(w, http.StatusOK, tc.TicketStatus())
}

// tlsRoutes registers the TLS endpoints.
func (s *Server) tlsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/certs", s.certs)
	mux.HandleFunc("GET /v1/tls/tickets", s.tickets)
	mux.HandleFunc("POST /v1/tls/tickets/rotate", s.ticketsRotate)
}

// CertSource gives /metrics the certificates in use; the appliance
// implements it.
type CertSource interface {
	Certificates() []CertInfo
}

var certExpiry = desc("tls_certificate_expiry_seconds", "Seconds until the certificate expires (negative: expired).", "path", "name", "bind")

// certCollector exposes the seconds to expiry of every served certificate,
// read at scrape time.
type certCollector struct{ src CertSource }

func (c *certCollector) Describe(chan<- *prometheus.Desc) {}

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[[3]string]bool{}
	for _, ci := range c.src.Certificates() {
		name := ""
		if len(ci.Names) > 0 {
			name = ci.Names[0]
		}
		left := float64(time.Until(ci.NotAfter).Seconds())
		for _, b := range ci.Binds {
			k := [3]string{ci.Path, name, b}
			if seen[k] {
				continue
			}
			seen[k] = true
			ch <- prometheus.MustNewConstMetric(certExpiry, prometheus.GaugeValue, left, ci.Path, name, b)
		}
	}
}
