package sticktable

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
)

// Batch is the most bytes Drain and All hand to emit at once.
const Batch = 32 << 10

// Drain encodes the entries changed since the last Drain and hands them
// to emit in batches (entries removed since are skipped). An error from
// emit stops it; the entries not sent are lost for this link, which
// sends everything again when it reconnects.
func (t *Table) Drain(emit func([]byte) error) error {
	return t.encode(true, emit)
}

// All encodes every entry (a full resynchronisation).
func (t *Table) All(emit func([]byte) error) error {
	return t.encode(false, emit)
}

// encodeBufs are the batches' buffers: Drain runs every 50 ms per shared
// table.
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, Batch+2*(1+255+4+12*nCounters)); return &b }}

func (t *Table) encode(dirty bool, emit func([]byte) error) error {
	bp := encodeBufs.Get().(*[]byte)
	defer encodeBufs.Put(bp)
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0] }()
	var kb [16]byte
	flush := func(force bool) error {
		if len(buf) == 0 || !force && len(buf) < Batch {
			return nil
		}
		err := emit(buf)
		buf = buf[:0]
		return err
	}
	for s := range t.v4 {
		sh := &t.v4[s]
		if err := encodeShard(t, sh, dirty, &buf, flush, func(k *uint32) []byte {
			binary.BigEndian.PutUint32(kb[:], *k)
			return kb[:4]
		}); err != nil {
			return err
		}
	}
	for s := range t.v6 {
		if err := encodeShard(t, &t.v6[s], dirty, &buf, flush, func(k *[16]byte) []byte { return k[:] }); err != nil {
			return err
		}
	}
	for s := range t.str {
		if err := encodeShard(t, &t.str[s], dirty, &buf, flush, func(k *string) []byte { return append(kb[:0:0], *k...) }); err != nil {
			return err
		}
	}
	return flush(true)
}

// encodeShard encodes a shard's entries (dirty ones, or all) into *buf,
// flushing between pieces with the lock released.
func encodeShard[K comparable](t *Table, sh *shard[K], dirty bool, buf *[]byte, flush func(bool) error, key func(*K) []byte) error {
	if dirty {
		sh.mu.Lock()
		list := sh.dirty
		sh.dirty = nil
		now := t.now()
		for _, i := range list {
			m := sh.m(i)
			if m.flags&fDirty == 0 {
				continue
			}
			m.flags &^= fDirty
			if m.flags&fUsed != 0 {
				*buf = t.appendEntry(*buf, &sh.core, i, key(sh.key(i)), now)
			}
			if len(*buf) >= Batch {
				sh.mu.Unlock()
				if err := flush(true); err != nil {
					return err
				}
				sh.mu.Lock()
			}
		}
		sh.mu.Unlock()
		return nil
	}
	for from := int32(0); ; from += 256 {
		sh.mu.Lock()
		n := int32(sh.slots)
		now := t.now()
		for i := from; i < min(from+256, n); i++ {
			if sh.m(i).flags&fUsed != 0 {
				*buf = t.appendEntry(*buf, &sh.core, i, key(sh.key(i)), now)
			}
		}
		sh.mu.Unlock()
		if err := flush(false); err != nil {
			return err
		}
		if from+256 >= n {
			return nil
		}
	}
}

// Apply stores entries the other node sent (encoded by Drain or All of a
// table of the same Layout): the counters of an entry used more recently
// there than here replace the local ones, conn_cur excepted (a local
// entry used more recently stays: after a broken link both nodes send
// everything again, and the one that counted last wins); they are not
// sent back. It returns how many entries it read.
func (t *Table) Apply(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		kl := int(b[0])
		if len(b) < 1+kl+4 {
			return n, errShort
		}
		key := b[1 : 1+kl]
		age := binary.BigEndian.Uint32(b[1+kl:])
		b = b[1+kl+4:]
		vals := b
		need := 0
		for _, s := range t.spec.Store {
			if t.period[s.Counter] != 0 {
				need += 12
			} else {
				need += 8
			}
		}
		if len(b) < need {
			return n, errShort
		}
		b = b[need:]
		if err := t.applyOne(key, age, vals[:need]); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (t *Table) applyOne(key []byte, age uint32, vals []byte) error {
	now := t.now()
	set := func(c *core, i int32, created bool) {
		if i == none {
			return
		}
		if m := c.m(i); created || int32(now-age-m.touch) > 0 {
			c.touch(i, now-age)
		} else if int32(now-age-m.touch) < 0 {
			return // used here since: ours is newer
		}
		w := c.w(i)
		v := vals
		for _, s := range t.spec.Store {
			o := t.off[s.Counter]
			if t.period[s.Counter] != 0 {
				rateSet(&w[o], &w[o+1], now, binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:]), binary.BigEndian.Uint32(v[8:]))
				v = v[12:]
				continue
			}
			if s.Counter != ConnCur {
				atomic.StoreUint64(&w[o], binary.BigEndian.Uint64(v))
			}
			v = v[8:]
		}
	}
	switch t.spec.Kind {
	case IP:
		if len(key) != 4 {
			return fmt.Errorf("sticktable: %d-byte key in an ip table", len(key))
		}
		k := binary.BigEndian.Uint32(key)
		sh := &t.v4[t.shardOf4(k)]
		sh.mu.Lock()
		_, had := sh.idx[k]
		set(&sh.core, sh.find(k, now, true), !had)
		sh.mu.Unlock()
	case IPv6:
		if len(key) != 16 {
			return fmt.Errorf("sticktable: %d-byte key in an ipv6 table", len(key))
		}
		k := [16]byte(key)
		sh := &t.v6[t.shardOf16(&k)]
		sh.mu.Lock()
		_, had := sh.idx[k]
		set(&sh.core, sh.find(k, now, true), !had)
		sh.mu.Unlock()
	default:
		if len(key) > t.spec.KeyLen {
			key = key[:t.spec.KeyLen]
		}
		sh := &t.str[uint32(hashBytes(t, key))&t.mask]
		sh.mu.Lock()
		i, ok := sh.idx[string(key)]
		if !ok {
			i = sh.find(string(key), now, true)
		}
		set(&sh.core, i, !ok)
		sh.mu.Unlock()
	}
	return nil
}

// ValuesSize is the encoded size of an entry's counters.
func (t *Table) ValuesSize() int {
	n := 0
	for _, s := range t.spec.Store {
		if t.period[s.Counter] != 0 {
			n += 12
		} else {
			n += 8
		}
	}
	return n
}
