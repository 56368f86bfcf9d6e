package stats

import (
	"hash/maphash"
	"sort"
	"unsafe"
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

// catCounts counts categories. An open-addressing table replaces a map:
// a lookup is one hash of the string and a probe, and the count lives in
// the table entry that was probed. Short names are not even compared:
// their hash is a bijection (catHash), so an equal hash and length is an
// equal name.
type catCounts struct {
	names []string // in first-seen order
	pos   []uint32 // table position of each name
	// table's length is a power of two, at least twice the number of
	// names, so probe runs stay short.
	table []catEntry
	// recent maps strings by where their bytes are to their table
	// positions. The decoder interns categories, so an event's value is
	// the very string an earlier event had: finding it by address skips
	// hashing its bytes. A Go string's bytes never change, and an entry
	// keeps them alive, so an equal address and length is an equal
	// string. Positions move when the table grows: it is then cleared.
	recent [catRecent]catRecentEntry
}

const catRecent = 16

type catRecentEntry struct {
	p   *byte
	n   uint32
	pos uint32
}

// recentSlot is where s's address goes in recent.
func recentSlot(p *byte) uint {
	return uint(uint64(uintptr(unsafe.Pointer(p))) * 0x9e3779b97f4a7c15 >> 60)
}

type catEntry struct {
	h     uint64
	count int64
	n     uint32 // the name's length
	idx   uint32 // index of the name + 1; 0 when the entry is empty
}

func newCatCounts() *catCounts { return &catCounts{table: make([]catEntry, 16)} }

func (c *catCounts) len() int { return len(c.names) }

// find returns the position of s's entry, or of the empty entry where s
// would go (idx 0), and the hash of s.
func (c *catCounts) find(s string) (pos, h uint64) {
	h = catHash(s)
	mask := uint64(len(c.table) - 1)
	short := len(s) <= 8
	for i := h & mask; ; i = (i + 1) & mask {
		e := &c.table[i]
		if e.idx == 0 || e.h == h && e.n == uint32(len(s)) && (short || c.names[e.idx-1] == s) {
			return i, h
		}
	}
}

// slot returns the index of s, adding it when add is true.
func (c *catCounts) slot(s string, add bool) (int32, bool) {
	pos, h := c.find(s)
	if e := &c.table[pos]; e.idx != 0 {
		return int32(e.idx - 1), true
	}
	if !add {
		return -1, false
	}
	return int32(c.table[c.insert(pos, s, h)].idx - 1), true
}

// insert adds s, which is not present, at the empty entry pos for hash h,
// and returns the position of its entry.
func (c *catCounts) insert(pos uint64, s string, h uint64) uint64 {
	c.names = append(c.names, s)
	c.table[pos] = catEntry{h: h, n: uint32(len(s)), idx: uint32(len(c.names))}
	c.pos = append(c.pos, uint32(pos))
	if 2*len(c.names) > len(c.table) {
		c.grow()
		pos = uint64(c.pos[len(c.pos)-1])
	}
	return pos
}

// grow doubles the table and re-inserts every entry.
func (c *catCounts) grow() {
	c.recent = [catRecent]catRecentEntry{}
	old := c.table
	c.table = make([]catEntry, 2*len(old))
	mask := uint64(len(c.table) - 1)
	for _, e := range old {
		if e.idx == 0 {
			continue
		}
		i := e.h & mask
		for c.table[i].idx != 0 {
			i = (i + 1) & mask
		}
		c.table[i] = e
		c.pos[e.idx-1] = uint32(i)
	}
}

// add counts n observations of s, folding s into OtherCategory when it is
// new and the cap (maxCats >= 0) is reached.
func (c *catCounts) add(s string, n int64, maxCats int) {
	p := unsafe.StringData(s)
	r := &c.recent[recentSlot(p)]
	if r.p == p && int(r.n) == len(s) && p != nil {
		c.table[r.pos].count += n
		return
	}
	pos := c.lookupAdd(s, maxCats)
	c.table[pos].count += n
	*r = catRecentEntry{p: p, n: uint32(len(s)), pos: uint32(pos)}
}

// lookupAdd is add without recent: the position s's count is in, after
// adding s (or OtherCategory, past the cap) when new.
func (c *catCounts) lookupAdd(s string, maxCats int) uint64 {
	pos, h := c.find(s)
	if c.table[pos].idx == 0 {
		if maxCats >= 0 && len(c.names) >= maxCats {
			if pos, h = c.find(OtherCategory); c.table[pos].idx == 0 {
				pos = c.insert(pos, OtherCategory, h)
			}
		} else {
			pos = c.insert(pos, s, h)
		}
	}
	return pos
}

func (c *catCounts) get(s string) int64 {
	pos, _ := c.find(s)
	return c.table[pos].count // 0 for an empty entry
}

// count is the count of the name at index i.
func (c *catCounts) count(i int) int64 { return c.table[c.pos[i]].count }

// setCount sets the count of the name at index i.
func (c *catCounts) setCount(i int, n int64) { c.table[c.pos[i]].count = n }

// toMap returns the non-zero counts as a map.
func (c *catCounts) toMap() map[string]int64 {
	m := make(map[string]int64, len(c.names))
	for i, n := range c.names {
		if k := c.count(i); k != 0 {
			m[n] = k
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
	c.recent = [catRecent]catRecentEntry{}
	clear(c.table)
	c.names, c.pos = c.names[:0], c.pos[:0]
}
