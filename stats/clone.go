package stats

import (
	"maps"
	"slices"
)

// Clone returns a deep copy of w that shares nothing mutable with it (the
// profile, which is never written, is shared): observing into either
// leaves the other as it was, and the two may be used on different
// goroutines. The copy encodes to the same bytes and reports the same
// measures as w did when it was cloned.
//
// A clone is mostly a copy of the sketches' float slices, several times
// cheaper than MarshalBinary or Report, so a caller that must keep
// observing can hand a clone to another goroutine to encode or report.
func (w *WindowAccumulator) Clone() *WindowAccumulator {
	c := &WindowAccumulator{profile: w.profile, opts: w.opts, events: w.events, outcome: w.outcome,
		feats: make(map[string]*featureAcc, len(w.feats)), slots: make([]*featureAcc, len(w.slots)),
		next: slices.Clone(w.next), last: w.last, sortBuf: new([]uint64)}
	for i, f := range w.slots {
		cf := f.clone(c.sortBuf)
		c.slots[i] = cf
		c.feats[cf.name] = cf
	}
	c.pred = w.pred.clone(c.sortBuf)
	c.perf = w.perf.clone()
	c.lat = w.lat.clone(c.sortBuf)
	return c
}

func (f *featureAcc) clone(sortBuf *[]uint64) *featureAcc {
	if f.isNum && f.base != nil && f.base.Sketch != nil {
		// Computed here, on the original, so that every clone shares them
		// instead of computing them for each report.
		f.baselinePoints()
	}
	c := *f
	c.sortBuf = sortBuf
	// keys are derived from the profile's edges and never written.
	c.bins = slices.Clone(f.bins)
	if f.sketch != nil {
		c.sketch = f.sketch.clone(sortBuf)
	}
	if f.cats != nil {
		c.cats = f.cats.clone()
	}
	return &c
}

// clone copies s; its compactions sort in scratch (nil: its own buffer).
func (s *Sketch) clone(scratch *[]uint64) *Sketch {
	c := &Sketch{limit: s.limit, n: s.n, base: slices.Clone(s.base), levels: make([][]float64, len(s.levels)), flips: slices.Clone(s.flips)}
	for h, lv := range s.levels {
		c.levels[h] = slices.Clone(lv)
	}
	c.sorter = floatSorter{scratch: scratch, shifts: s.sorter.shifts, guessed: s.sorter.guessed}
	return c
}

func (c *catCounts) clone() *catCounts {
	return &catCounts{names: slices.Clone(c.names), pos: slices.Clone(c.pos), table: slices.Clone(c.table)}
}

func (a *perfAccumulator) clone() *perfAccumulator {
	c := *a
	c.labelIdx = maps.Clone(a.labelIdx)
	c.labels = slices.Clone(a.labels)
	c.targetOK = slices.Clone(a.targetOK)
	c.conf = make([][]int64, len(a.conf))
	for i, row := range a.conf {
		c.conf[i] = slices.Clone(row)
	}
	c.regDistinct = maps.Clone(a.regDistinct)
	c.scores = make([]*Sketch, len(a.scores))
	for i, s := range a.scores {
		if s != nil {
			c.scores[i] = s.clone(nil)
		}
	}
	return &c
}
