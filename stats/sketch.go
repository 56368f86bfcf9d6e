package stats

import (
	"math"
	"slices"
)

// Default sizes of a Sketch.
const (
	DefaultSketchExactLimit = 10_000
	// sketchLevelCapacity is the number of items a compactor level holds
	// before half of them are promoted. The rank error of a deterministic
	// compactor is at most 2·levels/capacity of the count; with 4096 and
	// 10^7 values that is 0.6% per side in the worst case, and far less in
	// practice because alternating offsets cancel (see docs/metrics.md).
	sketchLevelCapacity = 4096
)

// Sketch is a mergeable summary of a numeric sample for KS and
// Wasserstein distances. It keeps every value while it has seen at most
// its exact limit, so measures are then exact; beyond that it becomes a
// deterministic compactor (in the spirit of KLL, without its randomness, so
// that a replay gives the same bytes): level h holds items that each stand
// for 2^h values, and a full level is sorted and every other item promoted.
//
// A Sketch is not safe for concurrent use.
type Sketch struct {
	limit int64
	n     int64
	// base is level 0, the one every Add appends to: its own field, one
	// load from the Sketch instead of two through levels, and it keeps
	// Add within the inlining budget. levels[0] stays nil so that levels
	// is indexed by height; level(h) reads either.
	base   []float64
	levels [][]float64
	// flips alternates, per level, which of each pair a compaction keeps,
	// so rank errors of successive compactions cancel instead of adding.
	flips []bool
	// sorter is compaction's working buffer, kept so that the per-event
	// path does not allocate; merge is sortLevel0's.
	sorter floatSorter
	merge  []float64
}

// NewSketch returns an empty sketch exact up to exactLimit values
// (DefaultSketchExactLimit when exactLimit is 0, unlimited when negative).
func NewSketch(exactLimit int) *Sketch {
	l := int64(exactLimit)
	switch {
	case exactLimit == 0:
		l = DefaultSketchExactLimit
	case exactLimit < 0:
		l = math.MaxInt64
	}
	return &Sketch{limit: l, levels: [][]float64{nil}, flips: []bool{false}}
}

// shareScratch makes s sort in buf, which sketches that are never used
// concurrently (those of one window) can share: one buffer instead of one
// per sketch, and it stays in cache from one compaction to the next.
func (s *Sketch) shareScratch(buf *[]uint64) { s.sorter.scratch = buf }

// Count is the number of values added.
func (s *Sketch) Count() int64 { return s.n }

// Exact reports whether the sketch still holds every value.
func (s *Sketch) Exact() bool { return int64(len(s.base)) == s.n }

// Add adds one finite value. It does not allocate once the sketch's
// buffers have grown to their working size.
func (s *Sketch) Add(x float64) {
	s.base = append(s.base, x)
	s.n++
	// compress checks the count: that keeps Add within the inlining
	// budget, and a sketch past its exact phase seldom holds a full level.
	if len(s.base) >= sketchLevelCapacity {
		s.compress()
	}
}

// level is level h's items.
func (s *Sketch) level(h int) []float64 {
	if h == 0 {
		return s.base
	}
	return s.levels[h]
}

func (s *Sketch) setLevel(h int, lv []float64) {
	if h == 0 {
		s.base = lv
	} else {
		s.levels[h] = lv
	}
}

// compress compacts every full level, bottom up, once the sketch is past
// its exact phase.
func (s *Sketch) compress() {
	if s.n <= s.limit {
		return
	}
	for h := 0; h < len(s.levels); h++ {
		if len(s.level(h)) >= sketchLevelCapacity {
			s.compact(h)
		}
	}
}

// compact promotes every other item of level h to level h+1. Levels
// above 0 are kept sorted, so only level 0 needs a sort; the promoted run
// is merged into the level above.
func (s *Sketch) compact(h int) {
	lv := s.level(h)
	if h+1 == len(s.levels) {
		s.levels = append(s.levels, make([]float64, 0, sketchLevelCapacity))
		s.flips = append(s.flips, false)
	}
	// An odd item out stays at this level: the largest, so the rest pair up.
	pairs := len(lv) / 2
	odd := len(lv)%2 == 1
	off := 0
	if s.flips[h] {
		off = 1
	}
	s.flips[h] = !s.flips[h]
	var last float64
	if h == 0 {
		// Sorted keys are read back only for the half that is kept.
		keys := s.sorter.sortKeys(lv)
		if odd {
			last = keyFloat(keys[len(keys)-1])
		}
		for i := 0; i < pairs; i++ {
			lv[i] = keyFloat(keys[2*i+off])
		}
	} else {
		if odd {
			last = lv[len(lv)-1]
		}
		for i := 0; i < pairs; i++ {
			lv[i] = lv[2*i+off]
		}
	}
	s.pushSorted(h+1, lv[:pairs])
	lv = lv[:0]
	if odd {
		lv = append(lv, last)
	}
	s.setLevel(h, lv)
}

// pushSorted merges the sorted run src into the sorted level h. It merges
// from the back, in place: no copy of the level first. On ties the level's
// own items stay ahead of src's, as in a forward merge that takes src only
// when strictly less, so ±0 keep their order and the bytes do not change.
func (s *Sketch) pushSorted(h int, src []float64) {
	m := len(s.levels[h])
	lv := slices.Grow(s.levels[h], len(src))[:m+len(src)]
	i, j := m-1, len(src)-1
	for k := len(lv) - 1; i >= 0 && j >= 0; k-- {
		if src[j] < lv[i] {
			lv[k] = lv[i]
			i--
		} else {
			lv[k] = src[j]
			j--
		}
	}
	// The level's own items left are in place; src's go before them.
	copy(lv, src[:j+1])
	s.levels[h] = lv
}

// sortLevel0 sorts level 0 in place. The order of its values carries no
// meaning, so each encoding leaves it sorted, and the next finds a sorted
// prefix and the values added since: only those are sorted, then merged
// in, instead of sorting the whole level at every checkpoint.
func (s *Sketch) sortLevel0() {
	lv := s.base
	i := 1
	// Keys, not floats, are compared: they order -0 before +0, as the
	// radix sort does, so equal states give equal bytes.
	for i < len(lv) && floatKey(lv[i]) >= floatKey(lv[i-1]) {
		i++
	}
	if i >= len(lv) {
		return
	}
	tail := lv[i:]
	s.sorter.sort(tail)
	if floatKey(tail[0]) >= floatKey(lv[i-1]) {
		return
	}
	head := append(s.merge[:0], lv[:i]...)
	s.merge = head
	// Writing at k = a+b never passes the next unread tail value, at i+b;
	// once head is used up the rest of tail is in place.
	k, a, b := 0, 0, 0
	for a < len(head) && b < len(tail) {
		if floatKey(tail[b]) < floatKey(head[a]) {
			lv[k] = tail[b]
			b++
		} else {
			lv[k] = head[a]
			a++
		}
		k++
	}
	copy(lv[k:], head[a:])
}

// Merge adds o's values to s. While the union has at most the exact limit
// values the result is exact; beyond it the result is a compacted summary
// of the union within the same error bound.
func (s *Sketch) Merge(o *Sketch) {
	for len(s.levels) < len(o.levels) {
		s.levels = append(s.levels, nil)
		s.flips = append(s.flips, false)
	}
	s.base = append(s.base, o.base...)
	for h := 1; h < len(o.levels); h++ {
		s.pushSorted(h, o.levels[h])
	}
	s.n += o.n
	if s.n > s.limit {
		s.compress()
	}
}

// Reset empties the sketch, keeping its buffers.
func (s *Sketch) Reset() {
	s.n = 0
	s.base = s.base[:0]
	for h := range s.levels {
		s.levels[h] = s.levels[h][:0]
		s.flips[h] = false
	}
}

// Points returns the summary as sorted distinct values with weights that
// sum to Count: the exact sample while Exact.
func (s *Sketch) Points() []WeightedValue {
	total := len(s.base)
	for _, lv := range s.levels {
		total += len(lv)
	}
	// Each level becomes a sorted run of weighted points in one buffer;
	// the runs are then merged pairwise, so a point is copied about
	// log2(levels) times instead of once per level above its own.
	buf := make([]WeightedValue, 0, total)
	runs := make([]int, 1, len(s.levels)+1) // run i is buf[runs[i]:runs[i+1]]
	base := s.base
	if !keysSorted(base) {
		// Not sorted in place: a profile's sketch is shared by readers.
		base = slices.Clone(base)
		sortFloats(base, nil)
	}
	buf = compressWeighted(buf, base, 1)
	runs = append(runs, len(buf))
	for h := 1; h < len(s.levels); h++ {
		// Levels above 0 are sorted.
		buf = compressWeighted(buf, s.levels[h], 1<<h)
		if len(buf) > runs[len(runs)-1] {
			runs = append(runs, len(buf))
		}
	}
	if len(runs) <= 2 {
		return buf
	}
	other := make([]WeightedValue, 0, total)
	for len(runs) > 2 {
		out := other[:0]
		next := runs[:1]
		for i := 0; i+1 < len(runs); i += 2 {
			if i+2 < len(runs) {
				out = mergePointsInto(out, buf[runs[i]:runs[i+1]], buf[runs[i+1]:runs[i+2]])
			} else {
				out = append(out, buf[runs[i]:runs[i+1]]...)
			}
			next = append(next, len(out))
		}
		buf, other, runs = out, buf, next
	}
	// Only whole pairs move up a level, so the weights sum to Count.
	return buf
}

// keysSorted reports whether xs is in ascending floatKey order.
func keysSorted(xs []float64) bool {
	for i := 1; i < len(xs); i++ {
		if floatKey(xs[i]) < floatKey(xs[i-1]) {
			return false
		}
	}
	return true
}

// compressWeighted appends the sorted sample xs to dst as distinct
// values, each value standing for w.
func compressWeighted(dst []WeightedValue, xs []float64, w int64) []WeightedValue {
	start := len(dst)
	for _, x := range xs {
		if n := len(dst); n > start && dst[n-1].V == x {
			dst[n-1].W += w
			continue
		}
		dst = append(dst, WeightedValue{V: x, W: w})
	}
	return dst
}

// weightedQuantile is the type-7 quantile of a weighted sample: the sample
// expanded by multiplicity, then quantile7. For an exact sample it is the
// contract's quantile bit for bit.
func weightedQuantile(pts []WeightedValue, n int64, p float64) float64 {
	h := float64(n-1) * p
	j := int64(math.Floor(h))
	g := h - float64(j)
	a := valueAtRank(pts, j)
	if g == 0 || j+1 >= n {
		return a
	}
	b := valueAtRank(pts, j+1)
	if a == b {
		return a
	}
	return a + g*(b-a)
}

// valueAtRank is the value of 0-based rank r in the expanded sample.
func valueAtRank(pts []WeightedValue, r int64) float64 {
	var c int64
	for _, p := range pts {
		c += p.W
		if r < c {
			return p.V
		}
	}
	return pts[len(pts)-1].V
}

// weightedEdges are QuantileEdges for a weighted sample.
func weightedEdges(pts []WeightedValue, bins int) []float64 {
	n := totalWeight(pts)
	if n == 0 || bins < 2 {
		return nil
	}
	edges := make([]float64, 0, bins-1)
	for k := 1; k < bins; k++ {
		q := weightedQuantile(pts, n, float64(k)/float64(bins))
		if len(edges) == 0 || q != edges[len(edges)-1] {
			edges = append(edges, q)
		}
	}
	return edges
}
