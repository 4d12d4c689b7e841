package sticktable

import (
	"fmt"
)

// Snapshot is a table's entries in the encoding the peers link uses (All),
// for a successor process of a binary upgrade: it restores them before it
// serves, so an upgrade forgets no abuser (HAProxy keeps its tables across
// a reload only through a peers section naming the local node).
type Snapshot struct {
	Name    string   `json:"name"`
	Layout  string   `json:"layout"`
	Entries [][]byte `json:"entries"` // batches of encoded entries
}

// Snapshot encodes every entry of t.
func (t *Table) Snapshot() (Snapshot, error) {
	s := Snapshot{Name: t.Name(), Layout: t.Layout()}
	err := t.All(func(b []byte) error {
		s.Entries = append(s.Entries, append([]byte(nil), b...))
		return nil
	})
	return s, err
}

// Restore stores a snapshot's entries in t (as Apply: conn_cur, which
// counts a process's own connections, stays t's). A snapshot of another
// layout is refused whole.
func (t *Table) Restore(s Snapshot) (int, error) {
	if s.Layout != t.Layout() {
		return 0, fmt.Errorf("sticktable: table %q: snapshot stores %q, the table %q", t.Name(), s.Layout, t.Layout())
	}
	n := 0
	for _, b := range s.Entries {
		k, err := t.Apply(b)
		n += k
		if err != nil {
			return n, fmt.Errorf("sticktable: table %q: %w", t.Name(), err)
		}
	}
	return n, nil
}
