package processor

import "encoding/binary"

// Interning keeps one string per distinct name and value, so decoded events
// allocate nothing and windows keyed by them share memory. The map holds at
// most maxInterned strings; past that, new strings are allocated per use,
// so hostile input cannot grow the decoder's memory without bound.

// maxValueCaches bounds the per-feature caches of short values (about 400
// bytes each) a decoder makes.
const maxValueCaches = 4096

type interned struct {
	s     string
	gen   uint32
	plain bool // s is all strPlain bytes: its JSON form is '"', s, '"'
	// transient: the map was full, so this entry is not shared and gen
	// cannot tell a duplicate feature.
	transient bool
	// vals caches this feature's recent short string values, so a
	// categorical value is found without hashing it.
	vals *valueCache
	// key is the key token '"', s, '":' of a plain feature name, made
	// once the name is seen at a position (see featureRun).
	key *token
}

// valueCache is a small ring of short strings keyed by their bytes and
// length packed in one word (see shortKey).
type valueCache struct {
	keys [16]uint64
	strs [16]string
	next uint8
}

func (d *Decoder) internBytes(b []byte) string { return d.internEntry(b).s }

func (d *Decoder) internEntry(b []byte) *interned {
	if e, ok := d.intern[string(b)]; ok {
		return e
	}
	e := &interned{s: string(b), plain: true}
	for _, c := range b {
		e.plain = e.plain && strPlain[c]
	}
	if len(d.intern) < d.maxInterned {
		d.intern[e.s] = e
	} else {
		e.transient = true
	}
	return e
}

// internValue interns b, a string value of feature name.
func (d *Decoder) internValue(name *interned, b []byte) string {
	if len(b) > 7 || len(b) == 0 {
		return d.internBytes(b)
	}
	k := shortKey(b)
	c := name.vals
	if c != nil {
		for j := range c.keys {
			if c.keys[j] == k {
				return c.strs[j]
			}
		}
	} else if d.valueCaches < maxValueCaches && !name.transient {
		d.valueCaches++
		c = new(valueCache)
		name.vals = c
	}
	s := d.internBytes(b)
	if c != nil {
		j := c.next % uint8(len(c.keys))
		c.keys[j], c.strs[j] = k, s
		c.next++
	}
	return s
}

// shortKey packs b (1 to 7 bytes) and its length into a word, distinct for
// distinct b and never 0. It loads 8 bytes at once when b's capacity
// allows, as it does when b aliases the message away from its end.
func shortKey(b []byte) uint64 {
	var w uint64
	if cap(b) >= 8 {
		w = binary.LittleEndian.Uint64(b[:8])
		w &= 1<<(8*len(b)) - 1
	} else {
		for j := len(b) - 1; j >= 0; j-- {
			w = w<<8 | uint64(b[j])
		}
	}
	return w | uint64(len(b))<<56
}
