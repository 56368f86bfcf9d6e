package stats

import (
	"math"
	"slices"
	"sort"
)

// OtherCategory is the bin that categories beyond the cap fold into.
const OtherCategory = "__other__"

// DefaultMaxCategories is the per-feature category cap of a window.
const DefaultMaxCategories = 1000

// AccumulatorOptions tune a WindowAccumulator.
type AccumulatorOptions struct {
	// MaxCategories caps distinct categories per categorical feature; the
	// rest fold into "__other__". 0 means DefaultMaxCategories, negative
	// means no cap.
	MaxCategories int
	// SketchExactLimit is how many values a numeric sketch keeps exactly:
	// 0 means DefaultSketchExactLimit, negative means all.
	SketchExactLimit int
	// Task and PositiveLabel fix the performance task when the profile
	// does not ("" = from the profile, else inferred).
	Task, PositiveLabel string
	// ScoreGiven makes roc_auc part of the performance report even before
	// (or without) any scored outcome.
	ScoreGiven bool
}

// WindowAccumulator is all mergeable state of one (model, version,
// window): per-feature bin counts on the profile's edges, category counts,
// sketches, the prediction distribution, performance and latency.
//
// It is not safe for concurrent use; the engine owns one per window and
// merges them for rolling views.
type WindowAccumulator struct {
	profile *Profile
	opts    AccumulatorOptions
	events  int64
	outcome int64

	feats map[string]*featureAcc
	pred  *featureAcc
	perf  *perfAccumulator
	lat   *Sketch
}

// featureAcc is one feature's (or the prediction's) window state.
type featureAcc struct {
	name    string
	typ     string // "" until the first value when there is no baseline
	base    *FeatureProfile
	count   int64 // non-missing values
	bins    []int64
	outside int64 // values outside [base.Min, base.Max]
	sketch  *Sketch
	min     float64
	max     float64
	// Welford running moments: the profile's mean and std once the sketch
	// is no longer exact.
	mean, m2 float64
	cats     *catCounts
	maxCats  int
}

// NewWindowAccumulator returns an empty window for profile p. With a nil
// p there is no baseline: feature types are inferred from the first value
// seen and drift measures are null.
func NewWindowAccumulator(p *Profile, opts AccumulatorOptions) *WindowAccumulator {
	if opts.MaxCategories == 0 {
		opts.MaxCategories = DefaultMaxCategories
	}
	w := &WindowAccumulator{profile: p, opts: opts, feats: map[string]*featureAcc{}}
	task, pos := opts.Task, opts.PositiveLabel
	if p != nil {
		for i := range p.Features {
			f := &p.Features[i]
			w.feats[f.Name] = w.newFeature(f.Name, f.Type, f)
		}
		if p.Prediction != nil {
			w.pred = w.newFeature(p.Prediction.Name, p.Prediction.Type, p.Prediction)
		}
		if task == "" {
			task = p.Task
		}
		if pos == "" {
			pos = p.PositiveLabel
		}
	}
	if w.pred == nil {
		w.pred = w.newFeature("", "", nil)
	}
	w.perf = newPerfAccumulator(task, pos, opts.SketchExactLimit)
	w.perf.scoreGiven = opts.ScoreGiven
	w.lat = NewSketch(0)
	return w
}

// declare adds a feature of a known type to a window without a baseline
// (profiles are built with fixed column types).
func (w *WindowAccumulator) declare(name, typ string) {
	w.feats[name] = w.newFeature(name, typ, nil)
}

func (w *WindowAccumulator) newFeature(name, typ string, base *FeatureProfile) *featureAcc {
	f := &featureAcc{name: name, base: base, maxCats: w.opts.MaxCategories,
		min: math.Inf(1), max: math.Inf(-1)}
	f.setType(typ, w.opts.SketchExactLimit)
	return f
}

func (f *featureAcc) setType(typ string, exactLimit int) {
	f.typ = typ
	switch typ {
	case Numeric:
		f.sketch = NewSketch(exactLimit)
		if f.base != nil {
			f.bins = make([]int64, len(f.base.Edges)+1)
		}
	case Categorical:
		f.cats = newCatCounts()
		if f.base != nil {
			// Baseline categories come first so the cap never folds them.
			for _, c := range sortedKeysOf(f.base.Categories) {
				if f.maxCats < 0 || f.cats.len() < f.maxCats {
					f.cats.slot(c, true)
				}
			}
		}
	}
}

// AddEvent counts one prediction event: the denominator of missing rates.
func (w *WindowAccumulator) AddEvent() { w.events++ }

// Events is the number of events counted.
func (w *WindowAccumulator) Events() int64 { return w.events }

// Labelled is the number of outcomes observed.
func (w *WindowAccumulator) Labelled() int64 { return w.outcome }

// ObserveFeature records a feature value of the current event. Missing,
// NaN, ±Inf and "" count as missing, as do features absent from the
// event. With a profile, features it does not know are ignored.
func (w *WindowAccumulator) ObserveFeature(name string, v Value) {
	f := w.feats[name]
	if f == nil {
		if w.profile != nil || v.Kind == Missing {
			return
		}
		f = w.newFeature(name, "", nil)
		w.feats[name] = f
	}
	w.observe(f, v)
}

// ObservePrediction records the prediction (label or number) of the
// current event.
func (w *WindowAccumulator) ObservePrediction(v Value) { w.observe(w.pred, v) }

// ObserveLatency records a serving latency in milliseconds.
func (w *WindowAccumulator) ObserveLatency(ms float64) {
	if !math.IsNaN(ms) && !math.IsInf(ms, 0) {
		w.lat.Add(ms)
	}
}

func (w *WindowAccumulator) observe(f *featureAcc, v Value) {
	if f.typ == "" {
		switch v.Kind {
		case Number:
			f.setType(Numeric, w.opts.SketchExactLimit)
		case String:
			f.setType(Categorical, w.opts.SketchExactLimit)
		default:
			return
		}
	}
	if f.typ == Numeric {
		if x, ok := v.number(); ok {
			f.addNumber(x)
		}
		return
	}
	if s, ok := v.text(); ok {
		f.addCategory(s)
	}
}

func (f *featureAcc) addNumber(x float64) {
	f.count++
	if f.bins != nil {
		f.bins[BinIndex(f.base.Edges, x)]++
		if x < f.base.Min || x > f.base.Max {
			f.outside++
		}
	}
	f.sketch.Add(x)
	if x < f.min {
		f.min = x
	}
	if x > f.max {
		f.max = x
	}
	if f.base == nil {
		// Running moments only matter when this window becomes a profile
		// (no baseline); the engine's windows skip the division.
		d := x - f.mean
		f.mean += d / float64(f.count)
		f.m2 += d * (x - f.mean)
	}
}

func (f *featureAcc) addCategory(s string) {
	f.count++
	if i, ok := f.cats.idx[s]; ok {
		f.cats.counts[i]++
		return
	}
	f.cats.add(s, 1, f.maxCats)
}

// ObserveOutcome records a joined outcome: the event's prediction, an
// optional score and the true target. Rows missing the target or the
// prediction count as labelled but do not enter performance.
func (w *WindowAccumulator) ObserveOutcome(prediction Value, score float64, hasScore bool, target Value) {
	w.outcome++
	t, okT := target.text()
	p, okP := prediction.text()
	if !okT || !okP {
		return
	}
	tn, okTN := target.number()
	pn, okPN := prediction.number()
	if hasScore && (math.IsNaN(score) || math.IsInf(score, 0)) {
		hasScore = false
	}
	if hasScore {
		w.perf.scoreGiven = true
	}
	w.perf.observe(t, p, tn, pn, okTN && okPN, score, hasScore)
	w.observeTarget(t, tn, okTN)
}

// TargetFeature is the pseudo-feature under which the distribution of the
// true labels is measured. Measuring it like any input is what catches
// prior (label) shift: the inputs and the model's predictions stay put
// while the share of each label moves.
const TargetFeature = "__target__"

func (w *WindowAccumulator) observeTarget(text string, num float64, isNum bool) {
	task := w.opts.Task
	if task == "" && w.profile != nil {
		task = w.profile.Task
	}
	if task == Regression {
		if isNum {
			w.ObserveFeature(TargetFeature, Value{Kind: Number, Num: num})
		}
		return
	}
	// Labels are categories even when they look like numbers ("0", "1"), so
	// a CSV baseline and JSON events agree on the type.
	w.ObserveFeature(TargetFeature, Value{Kind: String, Str: text})
}

// sortedFeatureNames lists the window's features in byte order.
func (w *WindowAccumulator) sortedFeatureNames() []string {
	names := make([]string, 0, len(w.feats))
	for n := range w.feats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// categoriesOf lists the union of two category maps' keys, sorted.
func categoriesOf(a, b map[string]int64) []string {
	keys := sortedCategories(a, b)
	return slices.DeleteFunc(keys, func(k string) bool { return a[k] == 0 && b[k] == 0 })
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
