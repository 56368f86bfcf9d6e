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
	// slots holds the features by slot (FeatureSlot): with a profile,
	// slot i is p.Features[i]; without one, features in order of first
	// sight.
	slots []*featureAcc
	// next[s+1] is the slot observed after slot s (after AddEvent for
	// s = -1) in the previous event, and last the slot observed last in
	// this one. Producers send features in a stable order, so the name of
	// the predicted slot usually matches and ObserveFeature needs one
	// string comparison instead of hashing the name.
	next []int32
	last int32
	// targetSlot is where TargetFeature is, resolved at the first outcome:
	// 0 until then, -1 when the profile lacks it (it is then ignored),
	// else its slot + 1. Outcomes skip the name lookup, which with a
	// profile that lacks the target was a failed map lookup each time.
	targetSlot int32

	pred *featureAcc
	perf *perfAccumulator
	lat  *Sketch
	// sortBuf is the compaction buffer all the window's sketches share.
	sortBuf *[]uint64
}

// featureAcc is one feature's (or the prediction's) window state.
type featureAcc struct {
	// The fields an event touches come first, to share cache lines.

	// isNum and isCat are typ for the per-event path, which a string
	// comparison would slow down.
	isNum, isCat     bool
	count            int64 // non-missing values
	outside          int64 // values outside [base.Min, base.Max]
	min, max         float64
	baseMin, baseMax float64  // base.Min, base.Max
	keys             []uint64 // edgeKeys of base.Edges
	bins             []int64
	sketch           *Sketch
	cats             *catCounts
	maxCats          int
	base             *FeatureProfile
	// Welford running moments: the profile's mean and std once the sketch
	// is no longer exact.
	mean, m2 float64

	name    string
	slot    int32     // index in WindowAccumulator.slots; -1 for the prediction
	typ     string    // "" until the first value when there is no baseline
	sortBuf *[]uint64 // the window's compaction buffer
	// basePts caches base.Sketch.Points() for reports; shared by clones
	// (never written once set).
	basePts []WeightedValue
}

// NewWindowAccumulator returns an empty window for profile p. With a nil
// p there is no baseline: feature types are inferred from the first value
// seen and drift measures are null.
func NewWindowAccumulator(p *Profile, opts AccumulatorOptions) *WindowAccumulator {
	if opts.MaxCategories == 0 {
		opts.MaxCategories = DefaultMaxCategories
	}
	w := &WindowAccumulator{profile: p, opts: opts, feats: map[string]*featureAcc{},
		next: []int32{-1}, last: -1, sortBuf: new([]uint64)}
	task, pos := opts.Task, opts.PositiveLabel
	if p != nil {
		for i := range p.Features {
			f := &p.Features[i]
			w.addFeature(f.Name, f.Type, f)
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
	w.lat.shareScratch(w.sortBuf)
	return w
}

// declare adds a feature of a known type to a window without a baseline
// (profiles are built with fixed column types).
func (w *WindowAccumulator) declare(name, typ string) {
	w.addFeature(name, typ, nil)
}

// addFeature gives a new feature the next slot.
func (w *WindowAccumulator) addFeature(name, typ string, base *FeatureProfile) *featureAcc {
	f := w.newFeature(name, typ, base)
	f.slot = int32(len(w.slots))
	w.slots = append(w.slots, f)
	w.next = append(w.next, -1)
	w.feats[name] = f
	return f
}

func (w *WindowAccumulator) newFeature(name, typ string, base *FeatureProfile) *featureAcc {
	f := &featureAcc{name: name, slot: -1, base: base, maxCats: w.opts.MaxCategories,
		min: math.Inf(1), max: math.Inf(-1), sortBuf: w.sortBuf}
	f.setType(typ, w.opts.SketchExactLimit)
	return f
}

func (f *featureAcc) setType(typ string, exactLimit int) {
	f.typ = typ
	f.isNum, f.isCat = typ == Numeric, typ == Categorical
	switch typ {
	case Numeric:
		f.sketch = NewSketch(exactLimit)
		f.sketch.shareScratch(f.sortBuf)
		if f.base != nil {
			f.bins = make([]int64, len(f.base.Edges)+1)
			f.keys = edgeKeys(f.base.Edges)
			f.baseMin, f.baseMax = f.base.Min, f.base.Max
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
func (w *WindowAccumulator) AddEvent() {
	w.events++
	w.last = -1
}

// Events is the number of events counted.
func (w *WindowAccumulator) Events() int64 { return w.events }

// Labelled is the number of outcomes observed.
func (w *WindowAccumulator) Labelled() int64 { return w.outcome }

// ObserveFeature records a feature value of the current event. Missing,
// NaN, ±Inf and "" count as missing, as do features absent from the
// event. With a profile, features it does not know are ignored.
func (w *WindowAccumulator) ObserveFeature(name string, v Value) {
	// observe's fast paths are repeated here to save a call per feature.
	switch f := w.lookup(name); {
	case f == nil:
		w.observeNew(name, v)
	case f.isNum && v.Kind == Number && v.Num-v.Num == 0:
		f.addNumber(v.Num)
	case f.isCat && v.Kind == String && v.Str != "":
		f.addCategory(v.Str)
	default:
		w.observeSlow(f, v)
	}
}

// observeNew records a value of a feature the window does not know yet.
func (w *WindowAccumulator) observeNew(name string, v Value) {
	if w.profile != nil || v.Kind == Missing {
		return
	}
	f := w.addFeature(name, "", nil)
	w.next[w.last+1], w.last = f.slot, f.slot
	w.observe(f, v)
}

// lookup finds a feature by name, trying the slot that followed the
// previous one in the last event before the map.
func (w *WindowAccumulator) lookup(name string) *featureAcc {
	hint := &w.next[w.last+1]
	if s := *hint; s >= 0 {
		if f := w.slots[s]; f.name == name {
			w.last = s
			return f
		}
	}
	f := w.feats[name]
	if f != nil {
		*hint, w.last = f.slot, f.slot
	}
	return f
}

// FeatureSlot returns the slot of a feature for the ObserveXxxAt methods,
// or -1 when the window does not know the feature. With a profile, slot i
// is p.Features[i] in every window of that profile, so a caller can
// resolve names once per profile; without one, a feature has a slot once
// a value of it has been observed.
func (w *WindowAccumulator) FeatureSlot(name string) int {
	if f := w.feats[name]; f != nil {
		return int(f.slot)
	}
	return -1
}

// ObserveAt is ObserveFeature for the feature in slot (from FeatureSlot).
// It panics when slot is out of range.
func (w *WindowAccumulator) ObserveAt(slot int, v Value) { w.observe(w.slots[slot], v) }

// ObserveNumericAt records a number of the feature in slot: the fast
// path of ObserveAt(slot, NumberValue(x)). NaN and ±Inf count as missing.
func (w *WindowAccumulator) ObserveNumericAt(slot int, x float64) {
	f := w.slots[slot]
	if f.isNum && x-x == 0 { // x-x is NaN for NaN and ±Inf
		f.addNumber(x)
		return
	}
	w.observeSlow(f, NumberValue(x))
}

// ObserveCategoryAt records a category of the feature in slot: the fast
// path of ObserveAt(slot, StringValue(s)). "" counts as missing.
func (w *WindowAccumulator) ObserveCategoryAt(slot int, s string) {
	f := w.slots[slot]
	if f.isCat && s != "" {
		f.addCategory(s)
		return
	}
	w.observeSlow(f, StringValue(s))
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
	// The usual case first: a value of the feature's own kind.
	switch {
	case f.isNum && v.Kind == Number && v.Num-v.Num == 0:
		f.addNumber(v.Num)
	case f.isCat && v.Kind == String && v.Str != "":
		f.addCategory(v.Str)
	default:
		w.observeSlow(f, v)
	}
}

func (w *WindowAccumulator) observeSlow(f *featureAcc, v Value) {
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
		f.bins[binOf(f.keys, x)]++
		if x < f.baseMin || x > f.baseMax {
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
	var tn, pn float64
	var okTN, okPN bool
	if task := w.perf.task; task != Binary && task != Multiclass || w.targetTask() == Regression {
		// Only regression (fixed or inferred) reads labels as numbers;
		// parsing them was most of a classification outcome's cost.
		tn, okTN = target.number()
		pn, okPN = prediction.number()
	}
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

// targetTask is the task that decides how the target is measured.
func (w *WindowAccumulator) targetTask() string {
	if w.opts.Task == "" && w.profile != nil {
		return w.profile.Task
	}
	return w.opts.Task
}

func (w *WindowAccumulator) observeTarget(text string, num float64, isNum bool) {
	var v Value
	if w.targetTask() == Regression {
		if !isNum {
			return
		}
		v = Value{Kind: Number, Num: num}
	} else {
		// Labels are categories even when they look like numbers ("0",
		// "1"), so a CSV baseline and JSON events agree on the type.
		v = Value{Kind: String, Str: text}
	}
	switch t := w.targetSlot; {
	case t > 0:
		w.observe(w.slots[t-1], v) // what ObserveFeature does once found
	case t == 0:
		w.ObserveFeature(TargetFeature, v)
		if f := w.feats[TargetFeature]; f != nil {
			w.targetSlot = f.slot + 1
		} else if w.profile != nil {
			w.targetSlot = -1
		}
	}
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
