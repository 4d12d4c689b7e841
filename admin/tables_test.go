package admin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"lbd/peers"
	"lbd/sticktable"
)

// tableController is fakeController with one real stick table.
type tableController struct {
	fakeController
	t *sticktable.Table
}

func (c *tableController) TableStats() []sticktable.Stats { return []sticktable.Stats{c.t.Stats()} }
func (c *tableController) Table(name string) (*sticktable.Table, error) {
	if name != c.t.Name() {
		return nil, fmt.Errorf("%w: no stick table %q", ErrNotFound, name)
	}
	return c.t, nil
}

func TestTableEndpoints(t *testing.T) {
	tb, err := sticktable.New(sticktable.Spec{Name: "web", Kind: sticktable.IP, Size: 10, Expire: time.Minute,
		Store: []sticktable.Store{{Counter: sticktable.HTTPReqRate, Period: 10 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	for _, a := range []string{"192.0.2.1", "192.0.2.2"} {
		k := net.ParseIP(a).To16()
		r, _ := tb.Track(k, true)
		r.Count(sticktable.HTTPReqCnt, sticktable.HTTPReqRate, 3)
		r.Release()
	}
	c := startAPI(t, &tableController{t: tb})
	var l []sticktable.Stats
	if err := c.Get("/v1/tables", &l, nil); err != nil || len(l) != 1 || l[0].Entries != 2 {
		t.Fatalf("list: %v %+v", err, l)
	}
	var te TableEntries
	if err := c.Get("/v1/tables/web?key=192.0.2.2", &te, nil); err != nil || len(te.Entries) != 1 ||
		te.Entries[0].Values[0] != (sticktable.Value{Name: "http_req_rate(10000)", Value: 3}) {
		t.Fatalf("show key: %v %+v", err, te)
	}
	var ae *APIError
	if err := c.Get("/v1/tables/web?key=2001:db8::1", &te, nil); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("IPv6 key in an ip table: %v", err)
	}
	if err := c.Get("/v1/tables/nope", &te, nil); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("unknown table: %v", err)
	}
	var cl TableCleared
	if err := c.Post("/v1/tables/web/clear", map[string]string{"key": "192.0.2.1"}, &cl, nil); err != nil || cl.Removed != 1 {
		t.Fatalf("clear key: %v %+v", err, cl)
	}
	if err := c.Post("/v1/tables/web/clear", map[string]string{"kee": "x"}, &cl, nil); !errors.As(err, &ae) || !strings.Contains(ae.Message, "kee") {
		t.Fatalf("unknown field: %v", err)
	}
	if err := c.Post("/v1/tables/web/clear", map[string]string{}, &cl, nil); err != nil || cl.Removed != 1 || tb.Stats().Entries != 0 {
		t.Fatalf("clear all: %v %+v", err, cl)
	}
	// A daemon without tables: 404 with a reason.
	c2 := startAPI(t, &fakeController{})
	if err := c2.Get("/v1/tables", &l, nil); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("no table support: %v", err)
	}
}

type tableSource struct{}

func (tableSource) Stats() Snapshot {
	return Snapshot{
		Tables: []sticktable.Stats{{Name: "web", Size: 100, Entries: 7, Lookups: 40, Evictions: 3}},
		Peers:  []peers.Stats{{Name: "pair", Connected: true, Sent: 12, AuthFailures: 1}},
	}
}

func TestTableMetrics(t *testing.T) {
	mfs, err := newRegistry(tableSource{}).Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"lbd_stick_table_entries": 7, "lbd_stick_table_size": 100, "lbd_stick_table_lookups_total": 40,
		"lbd_stick_table_evictions_total": 3, "lbd_peers_connected": 1, "lbd_peers_entries_sent_total": 12,
		"lbd_peers_auth_failures_total": 1,
	}
	for _, mf := range mfs {
		w, ok := want[mf.GetName()]
		if !ok {
			continue
		}
		m := mf.GetMetric()[0]
		v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
		if v != w {
			t.Errorf("%s = %v, want %v", mf.GetName(), v, w)
		}
		delete(want, mf.GetName())
	}
	for n := range want {
		t.Errorf("no %s", n)
	}
}
