package stats

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The report types below are the JSON shape of compare-cli.md and the
// per-window payload of the streaming engine; sinks and alerts read them.
// Fields may be added; none may be renamed (they are an API). A statistic
// that cannot be computed is a nil pointer and marshals as JSON null.

// Feature types.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
)

// Pair holds one figure for the baseline and for the current data.
type Pair[T any] struct {
	Baseline T `json:"baseline"`
	Current  T `json:"current"`
}

// KSResult is the two-sample Kolmogorov–Smirnov test with the asymptotic
// p-value (stats-contract.md).
type KSResult struct {
	Statistic float64 `json:"statistic"`
	PValue    float64 `json:"p_value"`
}

// ChiSquareResult is Pearson's chi-square test of homogeneity on the 2×k
// table of baseline and current category counts.
type ChiSquareResult struct {
	Statistic float64 `json:"statistic"`
	PValue    float64 `json:"p_value"`
	DoF       int     `json:"dof"`
}

// Histogram is the binned view both sides were compared on, kept so an
// analyst can redraw the distributions. For a numeric feature Edges are the
// interior edges (len(Baseline) == len(Edges)+1); for a categorical one
// Categories name the bins.
type Histogram struct {
	Edges      []float64 `json:"edges,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	Baseline   []int64   `json:"baseline"`
	Current    []int64   `json:"current"`
}

// FeatureReport is one feature's drift measures.
type FeatureReport struct {
	Type        string         `json:"type"`
	Count       Pair[int64]    `json:"count"`
	MissingRate Pair[*float64] `json:"missing_rate"`

	PSI       *float64 `json:"psi"`
	KL        *float64 `json:"kl"`
	JS        *float64 `json:"js"`
	Hellinger *float64 `json:"hellinger"`
	LInf      *float64 `json:"linf"`

	// Numeric only.
	KS                *KSResult `json:"-"`
	Wasserstein       *float64  `json:"-"`
	WassersteinNormed *float64  `json:"-"`

	// Categorical only.
	ChiSquare *ChiSquareResult `json:"-"`
	// NewCategories are current categories absent from the baseline.
	NewCategories []string `json:"new_categories,omitempty"`

	// OutOfRangeRate is the share of current non-missing numeric values
	// outside [baseline min, baseline max]; nil for categorical features.
	OutOfRangeRate *float64 `json:"out_of_range_rate,omitempty"`

	Histogram *Histogram `json:"histogram,omitempty"`
}

// ClassReport is one label's figures in a multiclass report.
type ClassReport struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int64   `json:"support"`
}

// Tasks.
const (
	Binary     = "binary"
	Multiclass = "multiclass"
	Regression = "regression"
)

// PerformanceReport is model performance on rows with both target and
// prediction. Which fields are set depends on Task.
type PerformanceReport struct {
	Task    string `json:"task"`
	Support int64  `json:"support"`

	Accuracy  *float64 `json:"accuracy,omitempty"`
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
	F1        *float64 `json:"f1,omitempty"`
	// ROCAUC is set (possibly to null) only when a score was given.
	ROCAUC *float64 `json:"-"`
	// ScoreGiven makes roc_auc appear in JSON (null when it cannot be
	// computed); without a score column the key is absent.
	ScoreGiven bool `json:"-"`

	MacroF1    *float64               `json:"macro_f1,omitempty"`
	MicroF1    *float64               `json:"micro_f1,omitempty"`
	WeightedF1 *float64               `json:"weighted_f1,omitempty"`
	PerClass   map[string]ClassReport `json:"per_class,omitempty"`

	MAE       *float64 `json:"mae,omitempty"`
	RMSE      *float64 `json:"rmse,omitempty"`
	MeanError *float64 `json:"mean_error,omitempty"`
}

// MarshalJSON writes the type-specific keys of compare-cli.md: numeric
// features carry "ks" (object or null), "wasserstein" and
// "wasserstein_normed"; categorical ones carry "chi2" (object or null).
func (r FeatureReport) MarshalJSON() ([]byte, error) {
	type plain FeatureReport
	b, err := json.Marshal(plain(r))
	if err != nil {
		return nil, err
	}
	switch r.Type {
	case Numeric:
		return appendKeys(b, "ks", r.KS, "wasserstein", r.Wasserstein, "wasserstein_normed", r.WassersteinNormed)
	case Categorical:
		return appendKeys(b, "chi2", r.ChiSquare)
	}
	return b, nil
}

// MarshalJSON adds "roc_auc" (possibly null) when a score was given.
func (r PerformanceReport) MarshalJSON() ([]byte, error) {
	type plain PerformanceReport
	b, err := json.Marshal(plain(r))
	if err != nil || !r.ScoreGiven {
		return b, err
	}
	return appendKeys(b, "roc_auc", r.ROCAUC)
}

// appendKeys splices key/value pairs into the JSON object b before its
// closing brace.
func appendKeys(b []byte, kv ...any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1])
	for i := 0; i < len(kv); i += 2 {
		v, err := json.Marshal(kv[i+1])
		if err != nil {
			return nil, err
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(kv[i].(string))
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes, so profiles can carry their
// validation performance.
func (r *PerformanceReport) UnmarshalJSON(b []byte) error {
	type plain PerformanceReport
	var aux struct {
		plain
		ROCAUC json.RawMessage `json:"roc_auc"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*r = PerformanceReport(aux.plain)
	if aux.ROCAUC != nil {
		r.ScoreGiven = true
		if string(aux.ROCAUC) != "null" {
			var v float64
			if err := json.Unmarshal(aux.ROCAUC, &v); err != nil {
				return fmt.Errorf("roc_auc: %w", err)
			}
			r.ROCAUC = &v
		}
	}
	return nil
}
