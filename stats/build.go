package stats

import (
	"math"
)

// Profile turns a window accumulated without a baseline into a baseline
// profile with bins numeric histogram bins. Edges are the type-7 quantiles
// of each feature's sketch: exact while the sketch is (always, when built
// with SketchExactLimit < 0). Bin counts come from the sketch too, so for a
// compacted sketch they are approximate until RecountBins is given the
// data once more.
func (w *WindowAccumulator) Profile(bins int) *Profile {
	p := &Profile{FormatVersion: ProfileFormatVersion, Rows: w.events, Bins: bins}
	for _, name := range w.sortedFeatureNames() {
		p.Features = append(p.Features, w.feats[name].profile(name, w.events, bins))
	}
	if w.pred.typ != "" {
		fp := w.pred.profile("prediction", w.events, bins)
		p.Prediction = &fp
	}
	return p
}

func (f *featureAcc) profile(name string, events int64, bins int) FeatureProfile {
	fp := FeatureProfile{Name: name, Type: f.typ, Count: f.count, Missing: max(events-f.count, 0)}
	if fp.Type == "" {
		fp.Type = Numeric // never seen a value: an empty numeric column
	}
	switch fp.Type {
	case Numeric:
		sk := f.sketch
		if sk == nil {
			sk = NewSketch(0)
		}
		fp.Sketch = sk
		fp.BinCounts = []int64{0}
		if f.count == 0 {
			return fp
		}
		pts := sk.Points()
		fp.Edges = weightedEdges(pts, bins)
		fp.BinCounts = make([]int64, len(fp.Edges)+1)
		for _, p := range pts {
			fp.BinCounts[BinIndex(fp.Edges, p.V)] += p.W
		}
		fp.Min, fp.Max = f.min, f.max
		switch {
		case f.min == f.max:
			fp.Mean, fp.Std = f.min, 0
		case sk.Exact():
			fp.Mean, fp.Std = meanStd(pts)
		default:
			fp.Mean, fp.Std = f.mean, math.Sqrt(f.m2/float64(f.count))
		}
	case Categorical:
		fp.Categories = f.cats.toMap()
	}
	return fp
}
