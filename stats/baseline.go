package stats

import (
	"errors"
	"slices"
)

// BuildOptions configure BuildProfile.
type BuildOptions struct {
	TableOptions
	Model, Version string
	// MaxCategories caps distinct categories per feature (default 10,000;
	// the rest fold into "__other__").
	MaxCategories int
	// Progress, when set, is called now and then with the pass (1 or 2)
	// and the rows read so far in it.
	Progress func(pass int, rows int64)
}

// DefaultBaselineMaxCategories is the category cap of a profile.
const DefaultBaselineMaxCategories = 10_000

// BuildProfile reads a training file and returns its baseline profile,
// streaming: memory is bounded by the features' sketches and category
// counts, not by the file. Pass 1 fills sketches, category counts, the
// prediction distribution and validation performance; bin edges are the
// type-7 quantiles of the sketches (exact for up to 10,000 values per
// feature). When a sketch had to compact, pass 2 reads the file again to
// count the bins exactly. Inferring column types or the task costs one more
// pass first.
func BuildProfile(path string, o BuildOptions) (*Profile, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Model == "" || o.Version == "" {
		return nil, errors.New("model and version are required")
	}
	if o.MaxCategories == 0 {
		o.MaxCategories = DefaultBaselineMaxCategories
	}
	types, err := ColumnTypes(&o.TableOptions, path)
	if err != nil {
		return nil, err
	}
	if o.Target != "" && o.Task == "" {
		probe := NewWindowAccumulator(nil, AccumulatorOptions{SketchExactLimit: 1, PositiveLabel: o.PositiveLabel})
		if err := Feed(probe, path, nil, &o.TableOptions, nil); err != nil {
			return nil, err
		}
		o.Task = probe.perf.resolveTask()
	}
	progress := func(pass int) func(int64) {
		if o.Progress == nil {
			return nil
		}
		return func(rows int64) { o.Progress(pass, rows) }
	}
	w := NewWindowAccumulator(nil, AccumulatorOptions{MaxCategories: o.MaxCategories,
		Task: o.Task, PositiveLabel: o.PositiveLabel, ScoreGiven: o.Score != ""})
	for n, typ := range types {
		w.declare(n, typ)
	}
	if o.Prediction != "" {
		typ := Categorical
		if o.Task == Regression {
			typ = Numeric
		}
		w.pred.setType(typ, w.opts.SketchExactLimit)
	}
	if err := Feed(w, path, types, &o.TableOptions, progress(1)); err != nil {
		return nil, err
	}
	p := w.Profile(o.bins())
	p.Model, p.Version = o.Model, o.Version
	p.Target, p.Score, p.Task = o.Target, o.Score, o.Task
	if p.Prediction != nil {
		p.Prediction.Name = o.Prediction
	}
	if o.Target != "" {
		p.Performance = w.perf.report()
		if p.Task != Regression {
			p.PositiveLabel = o.PositiveLabel
			if p.Task == Binary {
				p.PositiveLabel = w.perf.positiveLabel()
			}
			p.Labels = slices.Sorted(slices.Values(w.perf.labels))
		}
	}
	if !needsRecount(p) {
		return p, nil
	}
	// Pass 2: exact counts on the edges pass 1 chose.
	recount := NewWindowAccumulator(p, AccumulatorOptions{SketchExactLimit: 1, MaxCategories: o.MaxCategories,
		Task: o.Task, PositiveLabel: o.PositiveLabel})
	if err := Feed(recount, path, types, &o.TableOptions, progress(2)); err != nil {
		return nil, err
	}
	for i := range p.Features {
		if f := recount.feats[p.Features[i].Name]; f.bins != nil {
			p.Features[i].BinCounts = f.bins
		}
	}
	if p.Prediction != nil && recount.pred.bins != nil {
		p.Prediction.BinCounts = recount.pred.bins
	}
	return p, nil
}

func needsRecount(p *Profile) bool {
	for _, f := range p.Features {
		if f.Sketch != nil && !f.Sketch.Exact() {
			return true
		}
	}
	return p.Prediction != nil && p.Prediction.Sketch != nil && !p.Prediction.Sketch.Exact()
}
