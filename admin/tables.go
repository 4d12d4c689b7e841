package admin

import (
	"errors"
	"net/http"

	"lbd/peers"
	"lbd/sticktable"
)

// TableController is what the stick-table endpoints need from the daemon;
// a controller without it answers them 404.
type TableController interface {
	// TableStats lists the stick tables with their counters.
	TableStats() []sticktable.Stats
	// Table returns a table by name (ErrNotFound if none).
	Table(name string) (*sticktable.Table, error)
}

// TableEntries is GET /v1/tables/NAME[?key=K].
type TableEntries struct {
	Name    string             `json:"name"`
	Type    string             `json:"type"`
	Size    int                `json:"size"`
	Entries []sticktable.Entry `json:"entries"`
}

// TableCleared is POST /v1/tables/NAME/clear's answer.
type TableCleared struct {
	Removed int `json:"removed"` // entries removed
	Reset   int `json:"reset"`   // entries in use, their counters zeroed
}

func (s *Server) tableRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/tables", s.tableList)
	mux.HandleFunc("GET /v1/tables/{name}", s.tableShow)
	mux.HandleFunc("POST /v1/tables/{name}/clear", s.tableClear)
}

func (s *Server) tableController(w http.ResponseWriter) TableController {
	tc, ok := s.ctl.(TableController)
	if !ok {
		writeError(w, http.StatusNotFound, errors.New("this daemon has no stick table support"))
		return nil
	}
	return tc
}

func (s *Server) tableList(w http.ResponseWriter, _ *http.Request) {
	if tc := s.tableController(w); tc != nil {
		l := tc.TableStats()
		if l == nil {
			l = []sticktable.Stats{}
		}
		writeJSON(w, http.StatusOK, l)
	}
}

func (s *Server) tableShow(w http.ResponseWriter, r *http.Request) {
	tc := s.tableController(w)
	if tc == nil {
		return
	}
	t, err := tc.Table(r.PathValue("name"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	es, err := t.Show(r.URL.Query().Get("key"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if es == nil {
		es = []sticktable.Entry{}
	}
	sp := t.Spec()
	writeJSON(w, http.StatusOK, TableEntries{Name: t.Name(), Type: sp.Kind.String(), Size: sp.Size, Entries: es})
}

func (s *Server) tableClear(w http.ResponseWriter, r *http.Request) {
	tc := s.tableController(w)
	if tc == nil {
		return
	}
	t, err := tc.Table(r.PathValue("name"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	var body struct {
		Key string `json:"key"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &body, `{"key": "..."} or nothing`); err != nil {
			writeError(w, bodyStatus(err), err)
			return
		}
	}
	removed, reset, err := t.Clear(body.Key)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.log.Info().Str("table", t.Name()).Str("key", body.Key).Int("removed", removed).Int("reset", reset).Msg("stick table cleared by admin API")
	writeJSON(w, http.StatusOK, TableCleared{Removed: removed, Reset: reset})
}

var (
	stLabels    = []string{"table"}
	stEntries   = desc("stick_table_entries", "Entries in the stick table.", stLabels...)
	stSize      = desc("stick_table_size", "The most entries the stick table holds.", stLabels...)
	stLookups   = desc("stick_table_lookups_total", "Keys tracked or looked up.", stLabels...)
	stInserts   = desc("stick_table_inserts_total", "Entries created.", stLabels...)
	stEvictions = desc("stick_table_evictions_total", "Entries evicted (least recently used) because the table was full.", stLabels...)
	stExpired   = desc("stick_table_expired_total", "Entries removed after expire without use.", stLabels...)
)

func (m emitter) table(t sticktable.Stats) {
	m.gauge(stEntries, float64(t.Entries), t.Name)
	m.gauge(stSize, float64(t.Size), t.Name)
	m.counter(stLookups, t.Lookups, t.Name)
	m.counter(stInserts, t.Inserts, t.Name)
	m.counter(stEvictions, t.Evictions, t.Name)
	m.counter(stExpired, t.Expired, t.Name)
}

var (
	peLabels    = []string{"peers"}
	peConnected = desc("peers_connected", "1 while this node's connection to the peer (pushing its table changes) is up.", peLabels...)
	peConnects  = desc("peers_connects_total", "Connections made to the peer (each starts with a full resynchronisation).", peLabels...)
	peSent      = desc("peers_entries_sent_total", "Stick table entries sent to the peer.", peLabels...)
	peReceived  = desc("peers_entries_received_total", "Stick table entries received from the peer and applied.", peLabels...)
	peAuthFail  = desc("peers_auth_failures_total", "Connections refused: the other side does not hold the shared secret.", peLabels...)
)

func (m emitter) peers(p peers.Stats) {
	m.gauge(peConnected, b2f(p.Connected), p.Name)
	m.counter(peConnects, p.Connects, p.Name)
	m.counter(peSent, p.Sent, p.Name)
	m.counter(peReceived, p.Received, p.Name)
	m.counter(peAuthFail, p.AuthFailures, p.Name)
}
