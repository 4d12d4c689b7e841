package admin

import (
	"errors"
	"fmt"
	"net/http"

	"lbd/maps"
)

// PolicyController is what the traffic policy's endpoints need from the
// daemon (maps changed at runtime); a controller without it answers them
// 404.
type PolicyController interface {
	// Maps lists the maps with their counters.
	Maps() []maps.Stats
	// Map returns a map by name (ErrNotFound if none).
	Map(name string) (*maps.Map, error)
}

// MapEntries is GET /v1/maps/NAME.
type MapEntries struct {
	Name    string       `json:"name"`
	Entries []maps.Entry `json:"entries"`
}

func (s *Server) policyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/maps", s.mapList)
	mux.HandleFunc("GET /v1/maps/{name}", s.mapShow)
	for _, op := range []string{"add", "set", "del", "clear", "reset"} {
		mux.HandleFunc("POST /v1/maps/{name}/"+op, s.mapChange(op))
	}
}

func (s *Server) policyController(w http.ResponseWriter) PolicyController {
	pc, ok := s.ctl.(PolicyController)
	if !ok {
		writeError(w, http.StatusNotFound, errors.New("this daemon has no traffic policy support"))
		return nil
	}
	return pc
}

func (s *Server) mapList(w http.ResponseWriter, _ *http.Request) {
	if pc := s.policyController(w); pc != nil {
		l := pc.Maps()
		if l == nil {
			l = []maps.Stats{}
		}
		writeJSON(w, http.StatusOK, l)
	}
}

func (s *Server) mapShow(w http.ResponseWriter, r *http.Request) {
	pc := s.policyController(w)
	if pc == nil {
		return
	}
	m, err := pc.Map(r.PathValue("name"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	e := m.Entries()
	if e == nil {
		e = []maps.Entry{}
	}
	writeJSON(w, http.StatusOK, MapEntries{Name: m.Name(), Entries: e})
}

// mapChange applies add, set, del, clear or reset; the body has the key
// (and value) where the operation needs them.
func (s *Server) mapChange(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pc := s.policyController(w)
		if pc == nil {
			return
		}
		m, err := pc.Map(r.PathValue("name"))
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		var body struct {
			Key   *string `json:"key"`
			Value *string `json:"value"`
		}
		shape := map[string]string{"add": `{"key": "...", "value": "..."}`, "set": `{"key": "...", "value": "..."}`, "del": `{"key": "..."}`}[op]
		if shape != "" {
			if err := decodeBody(r, &body, shape); err != nil {
				writeError(w, bodyStatus(err), err)
				return
			}
			if body.Key == nil || (op != "del" && body.Value == nil) {
				writeError(w, http.StatusBadRequest, fmt.Errorf("%w: expected %s", ErrBadRequest, shape))
				return
			}
		}
		result := "ok"
		switch op {
		case "add":
			err = m.Add(*body.Key, *body.Value)
		case "set":
			err = m.Set(*body.Key, *body.Value)
		case "del":
			var found bool
			if found, err = m.Del(*body.Key); err == nil && !found {
				err = fmt.Errorf("%w: map %q has no key %q", ErrNotFound, m.Name(), *body.Key)
			}
		case "clear":
			m.Clear()
		case "reset":
			m.Reset()
		}
		if err != nil {
			status := statusOf(err)
			switch {
			case errors.Is(err, maps.ErrNoKey):
				status = http.StatusNotFound
			case errors.Is(err, maps.ErrBadEntry) || status == http.StatusInternalServerError:
				status = http.StatusBadRequest
			}
			writeError(w, status, err)
			return
		}
		ev := s.log.Info().Str("map", m.Name()).Str("op", op)
		if body.Key != nil {
			ev = ev.Str("key", *body.Key)
		}
		if body.Value != nil {
			ev = ev.Str("value", *body.Value)
		}
		ev.Msg("map changed by admin API")
		writeJSON(w, http.StatusOK, map[string]string{"result": result})
	}
}
