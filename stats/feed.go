package stats

import (
	"fmt"
	"os"
	"sort"
)

// Feed reads a CSV or JSON Lines file row by row into w: one event per
// row, each typed feature, and the prediction and outcome when opts name
// them. progress, when not nil, is called every so many rows.
func Feed(w *WindowAccumulator, path string, types map[string]string, opts *TableOptions, progress func(rows int64)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening input: %w", err)
	}
	defer f.Close()
	t, err := NewTableReader(f, path)
	if err != nil {
		return err
	}
	type col struct {
		name    string
		idx     int
		numeric bool
		acc     *featureAcc // resolved once: no map lookup per cell
	}
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	cols := make([]col, len(names))
	for i, n := range names {
		cols[i] = col{name: n, idx: t.Column(n), numeric: types[n] == Numeric, acc: w.feats[n]}
	}
	target, pred, score := -1, -1, -1
	if opts.Target != "" {
		target, pred = t.Column(opts.Target), t.Column(opts.Prediction)
	}
	if opts.Score != "" {
		score = t.Column(opts.Score)
	}
	if _, isCSV := t.(*csvReader); isCSV {
		// A CSV header names every column: a performance column missing
		// from it is a typo, not a column of empty cells.
		for _, c := range []struct {
			name string
			idx  int
		}{{opts.Target, target}, {opts.Prediction, pred}, {opts.Score, score}} {
			if c.name != "" && c.idx < 0 {
				return &InputError{File: path, Line: 1, Column: 1, Err: fmt.Errorf("no column %q in the header", c.name)}
			}
		}
	}
	var rows int64
	for {
		more, err := t.Next()
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		w.AddEvent()
		for _, c := range cols {
			var v Value
			if c.numeric {
				if v, err = NumericCell(t.Cell(c.idx), path); err != nil {
					return fmt.Errorf("%w (column %q)", err, c.name)
				}
			} else {
				v = CategoricalCell(t.Cell(c.idx))
			}
			if c.acc != nil {
				w.observe(c.acc, v)
			} else {
				w.ObserveFeature(c.name, v)
			}
		}
		if pred >= 0 || target >= 0 {
			if err := feedOutcome(w, t, path, opts, target, pred, score); err != nil {
				return err
			}
		}
		rows++
		if progress != nil && rows%(1<<16) == 0 {
			progress(rows)
		}
	}
}

func feedOutcome(w *WindowAccumulator, t TableReader, path string, opts *TableOptions, target, pred, score int) error {
	pv := CategoricalCell(t.Cell(pred))
	tv := CategoricalCell(t.Cell(target))
	w.ObservePrediction(pv)
	if opts.Task == Regression {
		for _, c := range []struct {
			v    Value
			idx  int
			name string
		}{{tv, target, opts.Target}, {pv, pred, opts.Prediction}} {
			if c.v.Kind == Missing {
				continue
			}
			if _, err := NumericCell(t.Cell(c.idx), path); err != nil {
				return fmt.Errorf("%w (column %q)", err, c.name)
			}
		}
	}
	var s float64
	has := false
	if score >= 0 {
		sv, err := NumericCell(t.Cell(score), path)
		if err != nil {
			return fmt.Errorf("%w (column %q)", err, opts.Score)
		}
		s, has = sv.Num, sv.Kind == Number
	}
	w.ObserveOutcome(pv, s, has, tv)
	return nil
}

// Compare is `driftd compare`: the baseline (a data file, or a profile
// when baselineProfile is not nil) against the current data file.
func Compare(baselinePath string, baselineProfile *Profile, currentPath string, opts TableOptions) (*CompareReport, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	profile := baselineProfile
	var types map[string]string
	var err error
	if profile == nil {
		if types, err = ColumnTypes(&opts, baselinePath, currentPath); err != nil {
			return nil, err
		}
		// The batch baseline keeps every value and category: measures are
		// then exact, whatever the file size.
		b := NewWindowAccumulator(nil, AccumulatorOptions{MaxCategories: -1, SketchExactLimit: -1})
		for n, typ := range types {
			b.declare(n, typ)
		}
		if err := Feed(b, baselinePath, types, &TableOptions{}, nil); err != nil {
			return nil, err
		}
		profile = b.Profile(opts.bins())
	} else {
		types = map[string]string{}
		for _, f := range profile.Features {
			types[f.Name] = f.Type
		}
	}
	cur := NewWindowAccumulator(profile, AccumulatorOptions{MaxCategories: -1, SketchExactLimit: -1,
		Task: opts.Task, PositiveLabel: opts.PositiveLabel, ScoreGiven: opts.Score != ""})
	if err := Feed(cur, currentPath, types, &opts, nil); err != nil {
		return nil, err
	}
	wr := cur.Report()
	rep := &CompareReport{Rows: Pair[int64]{Baseline: profile.Rows, Current: cur.Events()},
		Features: wr.Features}
	if opts.Target != "" {
		rep.Performance = wr.Performance
		if rep.Performance == nil {
			rep.Performance = &PerformanceReport{Task: opts.Task, ScoreGiven: opts.Score != ""}
		}
	}
	return rep, nil
}
