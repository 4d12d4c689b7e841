package maps

import (
	"bytes"
	"net/netip"
	"regexp"
	"strings"
)

// snapshot is an immutable map content with its indexes.
type snapshot struct {
	entries []Entry

	first map[string]int32 // key -> index of its first entry (str, beg, end)
	lens  []int            // distinct key lengths, longest first (beg, end)

	keys    [][]byte         // sub: the keys as bytes
	dom     map[string]int32 // key stripped of delimiters -> first index
	domMax  int              // longest stripped key
	regexps []*regexp.Regexp // reg, parallel to entries

	ip4, ip6 []ipLevel // longest prefix first
}

type ipLevel struct {
	bits int
	m    map[netip.Prefix]int32
}

func build(entries []Entry, kinds [numKinds]bool) *snapshot {
	s := &snapshot{entries: entries, first: make(map[string]int32, len(entries))}
	lens := map[int]bool{}
	for i, e := range entries {
		if _, ok := s.first[e.Key]; !ok {
			s.first[e.Key] = int32(i)
		}
		lens[len(e.Key)] = true
	}
	s.lens = sortedDesc(lens)
	if kinds[Sub] {
		s.keys = make([][]byte, len(entries))
		for i, e := range entries {
			s.keys[i] = []byte(e.Key)
		}
	}
	if kinds[Dom] {
		s.dom = map[string]int32{}
		for i, e := range entries {
			k := strings.Trim(e.Key, "/?.:")
			if _, ok := s.dom[k]; !ok && k != "" {
				s.dom[k] = int32(i)
			}
			s.domMax = max(s.domMax, len(k))
		}
	}
	if kinds[Reg] {
		s.regexps = make([]*regexp.Regexp, len(entries))
		for i, e := range entries {
			s.regexps[i], _ = regexp.Compile(e.Key) // checked by Use and change
		}
	}
	if kinds[IP] {
		v4, v6 := map[int]map[netip.Prefix]int32{}, map[int]map[netip.Prefix]int32{}
		for i, e := range entries {
			p, err := parseKeyPrefix(e.Key)
			if err != nil {
				continue
			}
			lv := v4
			if p.Addr().Is6() {
				lv = v6
			}
			if lv[p.Bits()] == nil {
				lv[p.Bits()] = map[netip.Prefix]int32{}
			}
			if _, ok := lv[p.Bits()][p]; !ok {
				lv[p.Bits()][p] = int32(i)
			}
		}
		s.ip4, s.ip6 = levels(v4), levels(v6)
	}
	return s
}

func levels(m map[int]map[netip.Prefix]int32) []ipLevel {
	set := map[int]bool{}
	for b := range m {
		set[b] = true
	}
	var out []ipLevel
	for _, b := range sortedDesc(set) {
		out = append(out, ipLevel{bits: b, m: m[b]})
	}
	return out
}

// Lookup finds the value for a sample (k must be in use: see Use). It
// does not allocate.
func (m *Map) Lookup(k Kind, sample []byte) (string, bool) {
	m.lookups.Add(1)
	s := m.snap.Load()
	i := int32(-1)
	switch k {
	case Str:
		if j, ok := s.first[string(sample)]; ok {
			i = j
		}
	case Beg:
		for _, l := range s.lens {
			if l <= len(sample) {
				if j, ok := s.first[string(sample[:l])]; ok {
					i = j
					break
				}
			}
		}
	case End:
		for _, l := range s.lens {
			if l <= len(sample) {
				if j, ok := s.first[string(sample[len(sample)-l:])]; ok && (i < 0 || j < i) {
					i = j
				}
			}
		}
	case Sub:
		for j, key := range s.keys {
			if bytes.Contains(sample, key) {
				i = int32(j)
				break
			}
		}
	case Reg:
		for j, re := range s.regexps {
			if re != nil && re.Match(sample) {
				i = int32(j)
				break
			}
		}
	case Dom:
		i = s.lookupDom(sample)
	case IP:
		if a, err := netip.ParseAddr(string(sample)); err == nil {
			return m.lookupAddr(s, a)
		}
	}
	if i < 0 {
		return "", false
	}
	m.hits.Add(1)
	return s.entries[i].Value, true
}

// LookupAddr finds the value of the longest prefix holding a (map_ip).
func (m *Map) LookupAddr(a netip.Addr) (string, bool) {
	m.lookups.Add(1)
	return m.lookupAddr(m.snap.Load(), a)
}

func (m *Map) lookupAddr(s *snapshot, a netip.Addr) (string, bool) {
	a = a.Unmap()
	lv := s.ip4
	if a.Is6() {
		lv = s.ip6
	}
	for _, l := range lv {
		p, _ := a.Prefix(l.bits)
		if j, ok := l.m[p]; ok {
			m.hits.Add(1)
			return s.entries[j].Value, true
		}
	}
	return "", false
}

// isDelim: HAProxy's delimiters for dom matching.
func isDelim(c byte) bool { return c == '/' || c == '?' || c == '.' || c == ':' }

// lookupDom tries every run of whole words of the sample (starting after
// a delimiter or at the start, ending before one or at the end) and
// returns the earliest entry among those found.
func (s *snapshot) lookupDom(b []byte) int32 {
	best := int32(-1)
	for i := 0; i < len(b); i++ {
		if isDelim(b[i]) || (i > 0 && !isDelim(b[i-1])) {
			continue
		}
		for j := i + 1; j <= len(b) && j-i <= s.domMax; j++ {
			if j < len(b) && !isDelim(b[j]) {
				continue
			}
			if isDelim(b[j-1]) {
				continue
			}
			if k, ok := s.dom[string(b[i:j])]; ok && (best < 0 || k < best) {
				best = k
			}
		}
	}
	return best
}
