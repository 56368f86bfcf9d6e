// Package processor drives driftd's pipeline: it consumes prediction and
// outcome events from Kafka, joins them, windows them by event time and
// hands each window's measures to a sink and to the alert evaluator.
package processor

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/driftd/driftd/stats"
)

// WindowID identifies a tumbling event-time window of one model version.
// It is the same on every instance and every replay, so downstream stores
// can replace rather than duplicate.
type WindowID struct {
	Model   string
	Version string
	Start   time.Time // inclusive, UTC
	End     time.Time // exclusive, UTC
}

// LatencySummary holds serving-latency percentiles of a window, in
// milliseconds, when events carry latency_ms.
type LatencySummary = stats.LatencyReport

// WindowResult is everything driftd measured for one window. A window is
// emitted when it closes and again, with a higher Revision, each time late
// labels change its performance; consumers keep the highest revision.
type WindowResult struct {
	ID WindowID
	// Revision orders re-emissions of the same window; consumers keep the
	// highest. It is derived from content (1 + labelled outcomes + late
	// events; a rolling view sums its windows' revisions), so it grows with
	// the content and a replay ends at the same highest revision.
	Revision uint64
	// BaselineID names the profile the window was compared with; empty when
	// the model version has no baseline (then drift measures are nil).
	BaselineID string
	ClosedAt   time.Time

	Events     int64 // predictions counted in the window
	LateEvents int64 // predictions that arrived after the window closed

	// Features is keyed by feature name.
	Features map[string]stats.FeatureReport
	// Prediction is drift of the prediction (label or score) distribution.
	Prediction *stats.FeatureReport

	Performance *stats.PerformanceReport
	// LabelCoverage is labelled predictions / predictions in the window.
	LabelCoverage float64

	Latency *LatencySummary

	// pending is the state whose report fills Features, Prediction,
	// Performance and Latency, nil once filled (see completeResults). The
	// result owns it: nothing else reads or writes it.
	pending windowState
	// reports is the window's, nil for a rolling view.
	reports *reportBox
}

// completeResults computes the reports of results taken with
// takePendingResults. It may run on any goroutine, one call per slice.
func completeResults(rs []WindowResult) {
	for i := range rs {
		r := &rs[i]
		if r.pending == nil {
			continue
		}
		var rep windowReport
		if r.reports != nil {
			rep = r.reports.report(r.pending)
		} else {
			rep = r.pending.Report()
		}
		r.Features, r.Prediction, r.Performance, r.Latency = rep.Features, rep.Prediction, rep.Performance, rep.Latency
		r.pending, r.reports = nil, nil
	}
}

// reportBox keeps a window's last report and the events its state had.
// A closed window is emitted again each time late labels arrive; its
// events are then unchanged, so only what outcomes change is recomputed
// (windowState.ReportOutcomes). The results of a window are completed one
// flush after another, but the lock keeps the box safe whoever completes
// them; and the shortcut is right in any order, as equal events mean
// equal state but for outcomes.
type reportBox struct {
	mu     sync.Mutex
	ok     bool
	events int64
	rep    windowReport
}

// report returns st's report, through the last one when st has the same
// events. Reports share the FeatureReports they did not recompute: their
// pointers are read-only.
func (b *reportBox) report(st windowState) windowReport {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := st.Events()
	if b.ok && b.events == n {
		b.rep = st.ReportOutcomes(b.rep)
	} else {
		b.rep = st.Report()
	}
	b.events, b.ok = n, true
	return b.rep
}

// Metric is one number of a window, flattened for storage and rules.
type Metric struct {
	Feature string // "" for model-level metrics; "__prediction__" for prediction drift
	Name    string // "psi", "ks.statistic", "f1", "missing_rate", ...
	Value   float64
	// SampleSize is the number of current values behind Value (non-missing
	// feature values, or labelled support for performance metrics).
	SampleSize int64
	// BaselineSize is the number of baseline values, 0 when not applicable.
	BaselineSize int64
}

// PredictionFeature is the Feature name under which prediction drift is
// reported.
const PredictionFeature = "__prediction__"

// Metrics flattens the result into one Metric per (feature, measure) that
// could be computed; nil measures are left out. The order is deterministic:
// features by name, then a fixed measure order.
func (r *WindowResult) Metrics() []Metric {
	var out []Metric
	for _, name := range sortedKeys(r.Features) {
		f := r.Features[name]
		out = appendFeatureMetrics(out, name, &f)
	}
	if r.Prediction != nil {
		out = appendFeatureMetrics(out, PredictionFeature, r.Prediction)
	}
	if p := r.Performance; p != nil {
		add := func(name string, v *float64) {
			if v != nil {
				out = append(out, Metric{Name: name, Value: *v, SampleSize: p.Support})
			}
		}
		add("accuracy", p.Accuracy)
		add("precision", p.Precision)
		add("recall", p.Recall)
		add("f1", p.F1)
		add("roc_auc", p.ROCAUC)
		add("macro_f1", p.MacroF1)
		add("micro_f1", p.MicroF1)
		add("weighted_f1", p.WeightedF1)
		add("mae", p.MAE)
		add("rmse", p.RMSE)
		add("mean_error", p.MeanError)
	}
	out = append(out, Metric{Name: "label_coverage", Value: r.LabelCoverage, SampleSize: r.Events})
	if l := r.Latency; l != nil && l.Count > 0 {
		out = append(out,
			Metric{Name: "latency_p50_ms", Value: l.P50, SampleSize: l.Count},
			Metric{Name: "latency_p95_ms", Value: l.P95, SampleSize: l.Count},
			Metric{Name: "latency_p99_ms", Value: l.P99, SampleSize: l.Count},
		)
	}
	return out
}

func appendFeatureMetrics(out []Metric, feature string, f *stats.FeatureReport) []Metric {
	add := func(name string, v *float64) {
		if v != nil {
			out = append(out, Metric{Feature: feature, Name: name, Value: *v,
				SampleSize: f.Count.Current, BaselineSize: f.Count.Baseline})
		}
	}
	// The label pseudo-feature is missing wherever a label has not arrived
	// yet: that is label_coverage, reported once for the model, not a
	// data-quality problem to alert on.
	if feature != stats.TargetFeature {
		add("missing_rate", f.MissingRate.Current)
	}
	add("psi", f.PSI)
	add("kl", f.KL)
	add("js", f.JS)
	add("hellinger", f.Hellinger)
	add("linf", f.LInf)
	if f.KS != nil {
		add("ks.statistic", &f.KS.Statistic)
		add("ks.p_value", &f.KS.PValue)
	}
	add("wasserstein", f.Wasserstein)
	add("wasserstein_normed", f.WassersteinNormed)
	if f.ChiSquare != nil {
		add("chi2.statistic", &f.ChiSquare.Statistic)
		add("chi2.p_value", &f.ChiSquare.PValue)
	}
	add("out_of_range_rate", f.OutOfRangeRate)
	if f.Type == stats.Categorical {
		n := float64(len(f.NewCategories))
		add("new_categories", &n)
	}
	return out
}

// RejectStat counts events rejected to the dead-letter topic for one reason
// during one processing-time minute. Rejected events may lack a model, so
// they are reported apart from windows.
type RejectStat struct {
	Minute time.Time // start of the minute, UTC
	Topic  string    // source topic
	Reason string    // a small enum: "malformed_json", "missing_field", ...
	Count  int64
}

// sortResults orders results by model, version, start, span, so a batch
// handed to sinks is deterministic.
func sortResults(rs []WindowResult) {
	slices.SortFunc(rs, func(a, b WindowResult) int {
		return cmp.Or(cmp.Compare(a.ID.Model, b.ID.Model), cmp.Compare(a.ID.Version, b.ID.Version),
			a.ID.Start.Compare(b.ID.Start), a.ID.End.Compare(b.ID.End))
	})
}
