package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzDecodeBody feeds request bodies to the admin API's decoder: it never
// panics, and what it accepts is one valid JSON object whose fields are all
// the struct's (exactly spelled), with nothing after it.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{"state":"drain"}`, `{"weight":5}`, `{"State":"x"}`, `{"weight":1.5}`, `{} {}`, ``, `[]`, `{"weight":5,"weight":6}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _ := http.NewRequest("POST", "http://lbd/", bytes.NewReader(data))
		var body struct {
			State  string `json:"state"`
			Weight *int   `json:"weight"`
		}
		if err := decodeBody(r, &body, "{...}"); err != nil {
			return
		}
		var fields map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&fields); err != nil || dec.More() {
			t.Fatalf("accepted %q, which is not one JSON object", data)
		}
		for k := range fields {
			if k != "state" && k != "weight" {
				t.Fatalf("accepted %q with field %q", data, k)
			}
		}
	})
}
