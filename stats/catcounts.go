package stats

import (
	"hash/maphash"
	"sort"
)

// catSeed keys the category tables' hash. Only probe positions depend on
// it: names and counts keep first-seen order, so results do not. A random
// key keeps a feed from choosing categories that collide.
var (
	catSeed    = maphash.MakeSeed()
	catSeedInt = maphash.Comparable(catSeed, 0)
)

// catHash hashes a category. Most are short codes: up to 8 bytes are
// packed into an integer and mixed with the key (a bijection, so short
// strings of the same length never collide in all 64 bits), which costs a
// fraction of a call to maphash.
func catHash(s string) uint64 {
	if len(s) > 8 {
		return maphash.String(catSeed, s)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v<<8 | uint64(s[i])
	}
	// The murmur3 finaliser.
	v ^= catSeedInt + uint64(len(s))*0x9e3779b97f4a7c15
	v ^= v >> 33
	v *= 0xff51afd7ed558ccd
	v ^= v >> 33
	v *= 0xc4ceb9fe1a85ec53
	v ^= v >> 33
	return v
}

// catCounts counts categories. An open-addressing table of indexes into
// names and counts replaces a map: a lookup is one hash of the string, a
// probe that compares 32 bits of the hash, and usually one string
// comparison, and an increment needs no second (assigning) map access.
type catCounts struct {
	names  []string
	counts []int64
	// table entries are 0 when empty, else the high 32 bits of the name's
	// hash and its index+1. Its length is a power of two, at least twice
	// the number of names, so probe runs stay short.
	table []uint64
}

func newCatCounts() *catCounts { return &catCounts{table: make([]uint64, 16)} }

func (c *catCounts) len() int { return len(c.names) }

// find returns the index of s, or -1 and the empty table position where s
// would go.
func (c *catCounts) find(s string) (idx int32, pos uint64, h uint64) {
	h = catHash(s)
	mask := uint64(len(c.table) - 1)
	tag := h >> 32 << 32
	for i := h & mask; ; i = (i + 1) & mask {
		e := c.table[i]
		if e == 0 {
			return -1, i, h
		}
		if e&^0xffffffff == tag {
			if j := int32(uint32(e)) - 1; c.names[j] == s {
				return j, i, h
			}
		}
	}
}

// slot returns the index of s, adding it when add is true.
func (c *catCounts) slot(s string, add bool) (int32, bool) {
	i, pos, h := c.find(s)
	if i >= 0 {
		return i, true
	}
	if !add {
		return -1, false
	}
	return c.insert(s, pos, h), true
}

// insert adds s, which is not present, at the empty position pos of the
// table for hash h.
func (c *catCounts) insert(s string, pos, h uint64) int32 {
	i := int32(len(c.names))
	c.names = append(c.names, s)
	c.counts = append(c.counts, 0)
	c.table[pos] = h>>32<<32 | uint64(i+1)
	if 2*len(c.names) > len(c.table) {
		c.grow()
	}
	return i
}

// grow doubles the table and re-inserts every name.
func (c *catCounts) grow() {
	c.table = make([]uint64, 2*len(c.table))
	mask := uint64(len(c.table) - 1)
	for j, s := range c.names {
		h := catHash(s)
		i := h & mask
		for c.table[i] != 0 {
			i = (i + 1) & mask
		}
		c.table[i] = h>>32<<32 | uint64(j+1)
	}
}

// add counts n observations of s, folding s into OtherCategory when it is
// new and the cap (maxCats >= 0) is reached.
func (c *catCounts) add(s string, n int64, maxCats int) {
	i, pos, h := c.find(s)
	if i < 0 {
		if maxCats >= 0 && len(c.names) >= maxCats {
			i, _ = c.slot(OtherCategory, true)
		} else {
			i = c.insert(s, pos, h)
		}
	}
	c.counts[i] += n
}

func (c *catCounts) get(s string) int64 {
	if i, _, _ := c.find(s); i >= 0 {
		return c.counts[i]
	}
	return 0
}

// toMap returns the non-zero counts as a map.
func (c *catCounts) toMap() map[string]int64 {
	m := make(map[string]int64, len(c.names))
	for i, n := range c.names {
		if c.counts[i] != 0 {
			m[n] = c.counts[i]
		}
	}
	return m
}

// sorted returns the category names in byte order.
func (c *catCounts) sorted() []string {
	s := append([]string(nil), c.names...)
	sort.Strings(s)
	return s
}

func (c *catCounts) reset() {
	clear(c.table)
	c.names, c.counts = c.names[:0], c.counts[:0]
}
