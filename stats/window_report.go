package stats

import "math"

// WindowReport is every measure of a window against its profile.
type WindowReport struct {
	Features    map[string]FeatureReport
	Prediction  *FeatureReport
	Performance *PerformanceReport // nil when no outcomes
	Latency     *LatencyReport     // nil when no latency observed
}

// LatencyReport holds latency percentiles in milliseconds (type-7
// quantiles of the window's latency sketch).
type LatencyReport struct {
	Count         int64
	P50, P95, P99 float64
}

// Report computes every measure of stats-contract.md for the window.
func (w *WindowAccumulator) Report() WindowReport {
	r := WindowReport{Features: make(map[string]FeatureReport, len(w.feats))}
	baseRows := int64(0)
	if w.profile != nil {
		baseRows = w.profile.Rows
	}
	for name, f := range w.feats {
		r.Features[name] = f.report(w.events, baseRows)
	}
	if w.pred.typ != "" {
		pr := w.pred.report(w.events, baseRows)
		r.Prediction = &pr
	}
	r.Performance = w.perf.report()
	if n := w.lat.Count(); n > 0 {
		pts := w.lat.Points()
		r.Latency = &LatencyReport{Count: n,
			P50: weightedQuantile(pts, n, 0.50),
			P95: weightedQuantile(pts, n, 0.95),
			P99: weightedQuantile(pts, n, 0.99)}
	}
	return r
}

// ReportOutcomes is the part of Report that outcomes change: the
// performance report and, when the window has it, the report of the
// TargetFeature pseudo-feature. Between two reports that saw the same
// Events, only outcomes can have been observed (an event's features and
// prediction are observed after its AddEvent), so the earlier report with
// these two parts replaced is the later Report, without recomputing every
// feature's measures.
func (w *WindowAccumulator) ReportOutcomes() (perf *PerformanceReport, target FeatureReport, hasTarget bool) {
	if f := w.feats[TargetFeature]; f != nil {
		baseRows := int64(0)
		if w.profile != nil {
			baseRows = w.profile.Rows
		}
		target, hasTarget = f.report(w.events, baseRows), true
	}
	return w.perf.report(), target, hasTarget
}

func rate(missing, total int64) *float64 {
	if total <= 0 {
		return nil
	}
	return ptr(float64(missing) / float64(total))
}

func (f *featureAcc) report(events, baseRows int64) FeatureReport {
	typ := f.typ
	if typ == "" && f.base != nil {
		typ = f.base.Type
	}
	r := FeatureReport{Type: typ}
	r.Count.Current = f.count
	r.MissingRate.Current = rate(max(events-f.count, 0), events)
	if f.base != nil {
		r.Count.Baseline = f.base.Count
		r.MissingRate.Baseline = rate(f.base.Missing, f.base.Count+f.base.Missing)
	}
	if f.base == nil || f.base.Count == 0 || f.count == 0 {
		return r
	}
	switch typ {
	case Numeric:
		f.numericReport(&r)
	case Categorical:
		f.categoricalReport(&r)
	}
	return r
}

func (r *FeatureReport) setHist(m histMeasures) {
	r.PSI, r.KL, r.JS = ptr(m.PSI), ptr(m.KL), ptr(m.JS)
	r.Hellinger, r.LInf = ptr(m.Hellinger), ptr(m.LInf)
}

func (f *featureAcc) numericReport(r *FeatureReport) {
	b := f.base
	if m, ok := compareHistograms(b.BinCounts, f.bins); ok {
		r.setHist(m)
	}
	// The window's own level 0 is sorted in place (its order carries no
	// meaning), so the next report or checkpoint sorts only what came
	// since; the profile's sketch is shared and only read.
	f.sketch.sortLevel0()
	bp, cp := f.baselinePoints(), f.sketch.Points()
	d := ksStatistic(bp, cp)
	r.KS = &KSResult{Statistic: d, PValue: ksPValue(d, b.Count, f.count)}
	wd := wasserstein1(bp, cp)
	r.Wasserstein = ptr(wd)
	if b.Std > 0 && !math.IsNaN(b.Std) {
		r.WassersteinNormed = ptr(wd / b.Std)
	} else {
		r.WassersteinNormed = ptr(wd)
	}
	r.OutOfRangeRate = ptr(float64(f.outside) / float64(f.count))
	r.Histogram = &Histogram{Edges: b.Edges, Baseline: b.BinCounts, Current: append([]int64(nil), f.bins...)}
}

// baselinePoints returns the points of the profile's sketch. The profile
// never changes: they are computed once per window (and its clones), not
// once per report.
func (f *featureAcc) baselinePoints() []WeightedValue {
	if f.basePts == nil {
		f.basePts = f.base.Sketch.Points()
	}
	return f.basePts
}

func (f *featureAcc) categoricalReport(r *FeatureReport) {
	cur0 := f.cats.toMap()
	cats := categoriesOf(f.base.Categories, cur0)
	base := make([]int64, len(cats))
	cur := make([]int64, len(cats))
	for i, c := range cats {
		base[i] = f.base.Categories[c]
		cur[i] = cur0[c]
		if base[i] == 0 {
			r.NewCategories = append(r.NewCategories, c)
		}
	}
	if m, ok := compareHistograms(base, cur); ok {
		r.setHist(m)
	}
	chi := chiSquareHomogeneity(base, cur)
	r.ChiSquare = &chi
	r.Histogram = &Histogram{Categories: cats, Baseline: base, Current: cur}
}
