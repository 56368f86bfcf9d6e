package stats

import "sort"

// catCounts counts categories with one map lookup per observation: the
// map gives an index into a slice of counts, so an increment does not
// need a second (assigning) map access.
type catCounts struct {
	idx    map[string]int32
	names  []string
	counts []int64
}

func newCatCounts() *catCounts { return &catCounts{idx: map[string]int32{}} }

func (c *catCounts) len() int { return len(c.names) }

// slot returns the index of s, adding it when add is true.
func (c *catCounts) slot(s string, add bool) (int32, bool) {
	if i, ok := c.idx[s]; ok {
		return i, true
	}
	if !add {
		return -1, false
	}
	i := int32(len(c.names))
	c.idx[s] = i
	c.names = append(c.names, s)
	c.counts = append(c.counts, 0)
	return i, true
}

// add counts n observations of s, folding s into OtherCategory when it is
// new and the cap (maxCats >= 0) is reached.
func (c *catCounts) add(s string, n int64, maxCats int) {
	if i, ok := c.idx[s]; ok {
		c.counts[i] += n
		return
	}
	if maxCats >= 0 && len(c.names) >= maxCats {
		s = OtherCategory
	}
	i, _ := c.slot(s, true)
	c.counts[i] += n
}

func (c *catCounts) get(s string) int64 {
	if i, ok := c.idx[s]; ok {
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
	clear(c.idx)
	c.names, c.counts = c.names[:0], c.counts[:0]
}
