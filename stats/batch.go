package stats

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// DefaultBins is the number of numeric histogram bins.
const DefaultBins = 10

// TableOptions say how to read the columns of a CSV or JSON Lines file.
type TableOptions struct {
	// Numeric and Categorical fix column types; any other column (except
	// the target, prediction and score) is numeric when every non-missing
	// value parses as a number, else categorical.
	Numeric, Categorical []string
	// Target, Prediction and Score name the performance columns (optional).
	Target, Prediction, Score string
	// Task and PositiveLabel fix the performance task (optional).
	Task, PositiveLabel string
	// Bins is the number of numeric histogram bins (DefaultBins when 0).
	Bins int
}

// CompareReport is the output of `driftd compare` (compare-cli.md).
type CompareReport struct {
	Rows        Pair[int64]              `json:"rows"`
	Features    map[string]FeatureReport `json:"features"`
	Prediction  *FeatureReport           `json:"prediction,omitempty"`
	Performance *PerformanceReport       `json:"performance,omitempty"`
}

func (o *TableOptions) bins() int {
	if o.Bins == 0 {
		return DefaultBins
	}
	return o.Bins
}

func (o *TableOptions) validate() error {
	if o.Bins < 0 || o.Bins == 1 {
		return fmt.Errorf("bins: want at least 2, got %d", o.Bins)
	}
	switch o.Task {
	case "", Binary, Multiclass, Regression:
	default:
		return fmt.Errorf("task %q: want binary, multiclass or regression", o.Task)
	}
	if (o.Target == "") != (o.Prediction == "") {
		return errors.New("target and prediction go together: give both or neither")
	}
	if o.Score != "" && o.Target == "" {
		return errors.New("score needs target and prediction")
	}
	for _, c := range o.Numeric {
		if slices.Contains(o.Categorical, c) {
			return fmt.Errorf("column %q is both numeric and categorical", c)
		}
	}
	return nil
}

// isSpecial tells the performance columns apart from features.
func (o *TableOptions) isSpecial(col string) bool {
	return col != "" && (col == o.Target || col == o.Prediction || col == o.Score)
}

// ColumnTypes resolves the type of every feature column of the given
// files. Columns typed in opts are taken as they are; the others are
// inferred, which reads the files once.
func ColumnTypes(opts *TableOptions, paths ...string) (map[string]string, error) {
	types := map[string]string{}
	for _, c := range opts.Numeric {
		types[c] = Numeric
	}
	for _, c := range opts.Categorical {
		types[c] = Categorical
	}
	nonNumeric := map[string]bool{}
	var order []string
	seen := map[string]bool{}
	for _, path := range paths {
		keys, err := scanColumns(path, opts, types, nonNumeric)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
		}
	}
	for _, k := range order {
		if opts.isSpecial(k) {
			continue
		}
		if _, typed := types[k]; typed {
			continue
		}
		if nonNumeric[k] {
			types[k] = Categorical
		} else {
			types[k] = Numeric
		}
	}
	for _, c := range []string{opts.Target, opts.Prediction, opts.Score} {
		if c != "" {
			delete(types, c)
		}
	}
	return types, nil
}

// scanColumns lists the columns of a file and, for columns without a
// type, notes any non-missing value that is not a number. A CSV file whose
// columns are all typed needs only its header.
func scanColumns(path string, opts *TableOptions, types map[string]string, nonNumeric map[string]bool) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening input: %w", err)
	}
	defer f.Close()
	t, err := NewTableReader(f, path)
	if err != nil {
		return nil, err
	}
	var untyped []string
	if jr, ok := t.(*jsonlReader); ok {
		jr.auto = true
	} else {
		for _, k := range t.Keys() {
			if _, ok := types[k]; !ok && !opts.isSpecial(k) {
				untyped = append(untyped, k)
			}
		}
		if len(untyped) == 0 {
			return t.Keys(), nil
		}
	}
	idx := map[string]int{}
	for {
		more, err := t.Next()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		for _, k := range t.Keys() {
			if _, ok := idx[k]; ok {
				continue
			}
			if _, typed := types[k]; typed || opts.isSpecial(k) {
				idx[k] = -1
				continue
			}
			idx[k] = t.Column(k)
		}
		for k, i := range idx {
			if i < 0 || nonNumeric[k] {
				continue
			}
			if _, err := NumericCell(t.Cell(i), path); err != nil {
				nonNumeric[k] = true
			}
		}
	}
	return t.Keys(), nil
}
