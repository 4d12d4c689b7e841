package proxy

import "testing"

// TestIdleSince: the workers idle since the cut or before are retired,
// the others kept in their order, and the list's tail holds no worker
// any more.
func TestIdleSince(t *testing.T) {
	ch := func() chan *h2stream { return make(chan *h2stream, 1) }
	for _, tc := range []struct {
		name       string
		since      []int64
		cut        int64
		kept, gone int
	}{
		{"none idle", nil, 10, 0, 0},
		{"all recent", []int64{11, 12, 13}, 10, 3, 0},
		{"all old", []int64{1, 2, 10}, 10, 0, 3},
		{"the oldest", []int64{1, 5, 11, 20}, 10, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var idle []idleWorker
			for _, s := range tc.since {
				idle = append(idle, idleWorker{jobs: ch(), since: s})
			}
			full := idle[:len(idle):len(idle)]
			kept, old := idleSince(idle, tc.cut)
			if len(kept) != tc.kept || len(old) != tc.gone {
				t.Fatalf("kept %d retired %d, want %d and %d", len(kept), len(old), tc.kept, tc.gone)
			}
			for i, w := range kept {
				if w.since != tc.since[tc.gone+i] || w.jobs == nil {
					t.Errorf("kept[%d] = %d, want %d", i, w.since, tc.since[tc.gone+i])
				}
			}
			for i, w := range old {
				if w.since != tc.since[i] || w.jobs == nil {
					t.Errorf("retired[%d] = %d, want %d", i, w.since, tc.since[i])
				}
			}
			for _, w := range full[len(kept):] {
				if w.jobs != nil {
					t.Error("a retired worker is still referenced past the list's end")
				}
			}
		})
	}
}
