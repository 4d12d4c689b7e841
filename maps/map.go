// Package maps holds the key -> value maps the traffic policy reads
// (HAProxy's map files: host -> backend, path prefix -> backend, address
// -> tag), and changes them at runtime without a reload, as HAProxy's
// "add map", "set map", "del map" and "clear map" do.
//
// # The data path never locks
//
// A map's content is an immutable snapshot with its indexes, published
// through an atomic pointer. A lookup loads the pointer and reads; a
// change (from lbctl) builds a new snapshot under the writers' mutex and
// swaps it in. Requests in flight keep reading the snapshot they loaded.
// Building costs O(entries) per change (about a millisecond for 10,000
// entries); lookups cost no allocation.
//
// # Matching, as HAProxy 2.6
//
//   - str (map, map_str): the key equals the sample; the first entry of
//     the key in file order wins.
//   - beg (map_beg): the longest key that begins the sample (HAProxy
//     indexes prefixes in a tree and returns the longest match).
//   - end, sub, reg (map_end, map_sub, map_reg): the first entry in file
//     order whose key ends, is inside, or (a regex) matches the sample.
//     end is indexed; sub and reg scan the entries.
//   - dom (map_dom): the first entry in file order whose key, stripped of
//     delimiters, appears in the sample as a run of whole words delimited
//     by '/', '?', '.' or ':' (so "example.com" matches "www.example.com"
//     and also "example.com.evil.net", as in HAProxy).
//   - ip (map_ip): the longest prefix that contains the address (keys are
//     addresses or CIDRs).
//
// # Runtime changes and reloads
//
// Changes made at runtime form an overlay on the file: for each key
// touched, its values after the changes (none when deleted), and whether
// the whole map was cleared. A reload re-reads the file and applies the
// overlay on top, so runtime changes survive reloads (and the log says
// how many keys the overlay holds); Reset drops the overlay and returns
// to the file. The overlay lives in memory: a restart starts from the
// file, so a change meant to last is also written to the file.
package maps

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Entry is one key -> value pair.
type Entry struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Line    int    `json:"line,omitempty"`    // line in the file, 0 for a runtime entry
	Runtime bool   `json:"runtime,omitempty"` // added or changed at runtime
}

// Kind is how a sample is matched against the keys.
type Kind uint8

// Match kinds.
const (
	Str Kind = iota
	Beg
	End
	Sub
	Dom
	Reg
	IP
	numKinds
)

// KindOf maps a converter's match name (str, beg, ...) to a Kind.
func KindOf(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), true
		}
	}
	return 0, false
}

var kindNames = [...]string{"str", "beg", "end", "sub", "dom", "reg", "ip"}

func (k Kind) String() string { return kindNames[k] }

// MaxKey and MaxValue bound an entry (a line of a map file is at most
// their sum).
const (
	MaxKey   = 1024
	MaxValue = 4096
)

// Map is one named map.
type Map struct {
	name string

	mu      sync.Mutex // writers
	file    []Entry
	overlay map[string][]string // key -> its values after runtime changes
	order   []string            // overlay keys in the order first touched
	cleared bool                // a runtime clear removed the file's entries
	kinds   [numKinds]bool      // indexes to build

	snap atomic.Pointer[snapshot]

	lookups atomic.Uint64
	hits    atomic.Uint64
}

// New returns a map with the file's entries.
func New(name string, file []Entry) *Map {
	m := &Map{name: name, overlay: map[string][]string{}}
	m.kinds[Str] = true
	m.file = file
	m.rebuild()
	return m
}

// Name is the map's name.
func (m *Map) Name() string { return m.name }

// Use makes the map build the index a match kind needs (the policy calls
// it for every converter that reads the map).
func (m *Map) Use(k Kind) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kinds[k] {
		return nil
	}
	if k == IP {
		for _, e := range m.contents() {
			if _, err := parseKeyPrefix(e.Key); err != nil {
				return fmt.Errorf("map %q: key %q (line %d) is not an address or CIDR, which map_ip needs", m.name, e.Key, e.Line)
			}
		}
	}
	if k == Reg {
		for _, e := range m.contents() {
			if _, err := regexp.Compile(e.Key); err != nil {
				return fmt.Errorf("map %q: key %q (line %d) is not a regular expression: %v", m.name, e.Key, e.Line, err)
			}
		}
	}
	m.kinds[k] = true
	m.rebuild()
	return nil
}

// Reload replaces the file's entries (a reload re-read the file) and
// applies the runtime overlay again. It returns how many keys the overlay
// holds.
func (m *Map) Reload(file []Entry) (overlaid int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.file
	m.file = file
	if err := m.checkKinds(); err != nil {
		m.file = old
		return 0, err
	}
	m.rebuild()
	return len(m.order), nil
}

func (m *Map) checkKinds() error {
	for _, e := range m.contents() {
		if m.kinds[IP] {
			if _, err := parseKeyPrefix(e.Key); err != nil {
				return fmt.Errorf("map %q: key %q is not an address or CIDR, which map_ip needs", m.name, e.Key)
			}
		}
		if m.kinds[Reg] {
			if _, err := regexp.Compile(e.Key); err != nil {
				return fmt.Errorf("map %q: key %q is not a regular expression: %v", m.name, e.Key, err)
			}
		}
	}
	return nil
}

// ErrBadEntry is a runtime change refused for its key or value; ErrNoKey
// a set of a key the map does not have.
var (
	ErrBadEntry = errors.New("bad map entry")
	ErrNoKey    = errors.New("no such key")
)

// CheckEntry refuses keys and values no map file line could hold, and
// values a header or request line could not carry.
func CheckEntry(key, value string) error {
	switch {
	case key == "" || len(key) > MaxKey:
		return fmt.Errorf("%w: the key must be 1..%d bytes", ErrBadEntry, MaxKey)
	case strings.ContainsAny(key, " \t"):
		return fmt.Errorf("%w: the key %q holds blanks", ErrBadEntry, key)
	case len(value) > MaxValue:
		return fmt.Errorf("%w: the value is longer than %d bytes", ErrBadEntry, MaxValue)
	}
	for _, s := range []string{key, value} {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return fmt.Errorf("%w: control character %q (CR, LF, NUL... never reach a header)", ErrBadEntry, c)
			}
		}
	}
	return nil
}

// Add appends an entry (HAProxy's "add map").
func (m *Map) Add(key, value string) error {
	if err := CheckEntry(key, value); err != nil {
		return err
	}
	return m.change(key, func(vals []string) ([]string, error) { return append(vals, value), nil })
}

// Set replaces the value of every entry of key (HAProxy's "set map");
// the key must exist.
func (m *Map) Set(key, value string) error {
	if err := CheckEntry(key, value); err != nil {
		return err
	}
	return m.change(key, func(vals []string) ([]string, error) {
		if len(vals) == 0 {
			return nil, fmt.Errorf("%w: map %q has no key %q", ErrNoKey, m.name, key)
		}
		for i := range vals {
			vals[i] = value
		}
		return vals, nil
	})
}

// Del removes every entry of key (HAProxy's "del map"); it reports
// whether there was one.
func (m *Map) Del(key string) (bool, error) {
	found := false
	err := m.change(key, func(vals []string) ([]string, error) {
		found = len(vals) > 0
		return []string{}, nil
	})
	return found, err
}

// Clear removes every entry (HAProxy's "clear map").
func (m *Map) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleared = true
	m.overlay = map[string][]string{}
	m.order = nil
	m.rebuild()
}

// Reset drops the runtime changes: the map is the file's again.
func (m *Map) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleared = false
	m.overlay = map[string][]string{}
	m.order = nil
	m.rebuild()
}

// change applies f to the current values of key and records them in the
// overlay.
func (m *Map) change(key string, f func([]string) ([]string, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	vals, ok := m.overlay[key]
	if !ok && !m.cleared {
		for _, e := range m.file {
			if e.Key == key {
				vals = append(vals, e.Value)
			}
		}
	}
	vals = append([]string(nil), vals...)
	nv, err := f(vals)
	if err != nil {
		return err
	}
	if m.kinds[IP] {
		if _, err := parseKeyPrefix(key); err != nil && len(nv) > 0 {
			return fmt.Errorf("%w: map %q is read by map_ip: %q is not an address or CIDR", ErrBadEntry, m.name, key)
		}
	}
	if m.kinds[Reg] && len(nv) > 0 {
		if _, err := regexp.Compile(key); err != nil {
			return fmt.Errorf("%w: map %q is read by map_reg: %v", ErrBadEntry, m.name, err)
		}
	}
	if !ok {
		m.order = append(m.order, key)
	}
	m.overlay[key] = nv
	m.rebuild()
	return nil
}

// contents lists the entries in match order: the file's (each key's
// values replaced by the overlay's at the place of its first entry), then
// keys the overlay added. Called with mu held.
func (m *Map) contents() []Entry {
	out := make([]Entry, 0, len(m.file)+len(m.order))
	done := map[string]bool{}
	if !m.cleared {
		for _, e := range m.file {
			vals, over := m.overlay[e.Key]
			if !over {
				out = append(out, e)
				continue
			}
			if done[e.Key] {
				continue
			}
			done[e.Key] = true
			for _, v := range vals {
				out = append(out, Entry{Key: e.Key, Value: v, Line: e.Line, Runtime: true})
			}
		}
	}
	for _, k := range m.order {
		if done[k] {
			continue
		}
		for _, v := range m.overlay[k] {
			out = append(out, Entry{Key: k, Value: v, Runtime: true})
		}
	}
	return out
}

// Entries returns the map's entries in match order.
func (m *Map) Entries() []Entry {
	s := m.snap.Load()
	return append([]Entry(nil), s.entries...)
}

// Stats are a map's counters.
type Stats struct {
	Name           string `json:"name"`
	Entries        int    `json:"entries"`
	RuntimeChanged int    `json:"runtime_keys"` // keys the runtime overlay holds
	Lookups        uint64 `json:"lookups"`
	Hits           uint64 `json:"hits"`
}

// Stats returns the map's counters.
func (m *Map) Stats() Stats {
	m.mu.Lock()
	n := len(m.order)
	m.mu.Unlock()
	return Stats{Name: m.name, Entries: len(m.snap.Load().entries), RuntimeChanged: n, Lookups: m.lookups.Load(), Hits: m.hits.Load()}
}

func (m *Map) rebuild() {
	m.snap.Store(build(m.contents(), m.kinds))
}

// parseKeyPrefix reads a map_ip key: an address or a CIDR.
func parseKeyPrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// sortedDesc returns the keys of a length set, longest first.
func sortedDesc(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for l := range set {
		out = append(out, l)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}
