package sinks

import (
	"slices"
	"time"

	"github.com/driftd/driftd/alerts"
	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/stats"
)

// Each table has a row type, the INSERT column list and a values function
// that must list the columns in the same order. The integration tests check
// every list against the migrated table.

type windowKey struct {
	start, end     time.Time
	model, version string
	baselineID     string
	revision       uint64
	closedAt       time.Time
}

// keyOf is shared by every row of the window: rows hold a pointer to it.
func keyOf(r *processor.WindowResult) *windowKey {
	return &windowKey{
		start: dateTime(r.ID.Start), end: dateTime(r.ID.End),
		model: r.ID.Model, version: r.ID.Version,
		baselineID: r.BaselineID, revision: r.Revision, closedAt: dateTime(r.ClosedAt),
	}
}

type metricRow struct {
	*windowKey
	feature, metric string
	value           float64
	threshold       *float64
	drifted         uint8
	sampleSize      uint64
	baselineSize    uint64
}

var metricTable = table[metricRow]{
	name: "window_metrics",
	columns: "window_start, window_end, model, model_version, feature, metric, value, threshold, drifted, " +
		"sample_size, baseline_size, baseline_id, revision, closed_at",
	values: func(r *metricRow) []any {
		return []any{r.start, r.end, r.model, r.version, r.feature, r.metric, r.value, r.threshold, r.drifted,
			r.sampleSize, r.baselineSize, r.baselineID, r.revision, r.closedAt}
	},
	// window_metrics carries most rows; appending whole columns avoids
	// boxing 14 values per row (a test checks it agrees with values).
	columnar: func(rs []metricRow) []any {
		return []any{
			column(rs, func(r *metricRow) time.Time { return r.start }),
			column(rs, func(r *metricRow) time.Time { return r.end }),
			column(rs, func(r *metricRow) string { return r.model }),
			column(rs, func(r *metricRow) string { return r.version }),
			column(rs, func(r *metricRow) string { return r.feature }),
			column(rs, func(r *metricRow) string { return r.metric }),
			column(rs, func(r *metricRow) float64 { return r.value }),
			column(rs, func(r *metricRow) *float64 { return r.threshold }),
			column(rs, func(r *metricRow) uint8 { return r.drifted }),
			column(rs, func(r *metricRow) uint64 { return r.sampleSize }),
			column(rs, func(r *metricRow) uint64 { return r.baselineSize }),
			column(rs, func(r *metricRow) string { return r.baselineID }),
			column(rs, func(r *metricRow) uint64 { return r.revision }),
			column(rs, func(r *metricRow) time.Time { return r.closedAt }),
		}
	},
}

func column[R, T any](rows []R, field func(*R) T) []T {
	out := make([]T, len(rows))
	for i := range rows {
		out[i] = field(&rows[i])
	}
	return out
}

type histogramRow struct {
	*windowKey
	feature, featureType string
	edges                []float64
	categories           []string
	baseline, current    []uint64
}

var histogramTable = table[histogramRow]{
	name: "feature_histograms",
	columns: "window_start, window_end, model, model_version, feature, feature_type, edges, categories, " +
		"baseline_counts, current_counts, baseline_id, revision, closed_at",
	values: func(r *histogramRow) []any {
		return []any{r.start, r.end, r.model, r.version, r.feature, r.featureType, r.edges, r.categories,
			r.baseline, r.current, r.baselineID, r.revision, r.closedAt}
	},
}

type performanceRow struct {
	*windowKey
	class, task                        string
	events, lateEvents, support        uint64
	labelCoverage                      float64
	accuracy, precision, recall, f1    *float64
	rocAUC, macroF1, microF1, weighted *float64
	mae, rmse, meanError               *float64
}

var performanceTable = table[performanceRow]{
	name: "window_performance",
	columns: "window_start, window_end, model, model_version, class, task, events, late_events, support, " +
		"label_coverage, accuracy, precision, recall, f1, roc_auc, macro_f1, micro_f1, weighted_f1, " +
		"mae, rmse, mean_error, baseline_id, revision, closed_at",
	values: func(r *performanceRow) []any {
		return []any{r.start, r.end, r.model, r.version, r.class, r.task, r.events, r.lateEvents, r.support,
			r.labelCoverage, r.accuracy, r.precision, r.recall, r.f1, r.rocAUC, r.macroF1, r.microF1, r.weighted,
			r.mae, r.rmse, r.meanError, r.baselineID, r.revision, r.closedAt}
	},
}

type qualityRow struct {
	*windowKey
	feature, featureType     string
	sampleSize, baselineSize uint64
	missing, baselineMissing *float64
	outOfRange               *float64
	newCategoryCount         uint64
	newCategories            []string
}

var qualityTable = table[qualityRow]{
	name: "data_quality",
	columns: "window_start, window_end, model, model_version, feature, feature_type, sample_size, baseline_size, " +
		"missing_rate, baseline_missing_rate, out_of_range_rate, new_category_count, new_categories, " +
		"baseline_id, revision, closed_at",
	values: func(r *qualityRow) []any {
		return []any{r.start, r.end, r.model, r.version, r.feature, r.featureType, r.sampleSize, r.baselineSize,
			r.missing, r.baselineMissing, r.outOfRange, r.newCategoryCount, r.newCategories,
			r.baselineID, r.revision, r.closedAt}
	},
}

type latencyRow struct {
	*windowKey
	count         uint64
	p50, p95, p99 float64
}

var latencyTable = table[latencyRow]{
	name:    "window_latency",
	columns: "window_start, window_end, model, model_version, sample_size, p50_ms, p95_ms, p99_ms, revision, closed_at",
	values: func(r *latencyRow) []any {
		return []any{r.start, r.end, r.model, r.version, r.count, r.p50, r.p95, r.p99, r.revision, r.closedAt}
	},
}

var rejectTable = table[processor.RejectStat]{
	name:    "rejected_events",
	columns: "minute, topic, reason, count",
	values: func(r *processor.RejectStat) []any {
		return []any{dateTime(r.Minute), r.Topic, r.Reason, u64(r.Count)}
	},
}

var alertTable = table[alerts.AlertRecord]{
	name: "alerts",
	columns: "alert_id, rule, model, model_version, feature, metric, state, severity, value, threshold, " +
		"window_start, window_end, baseline_id, at",
	values: func(r *alerts.AlertRecord) []any {
		return []any{r.AlertID, r.Rule, r.Model, r.Version, r.Feature, r.Metric, r.State, r.Severity, r.Value,
			r.Threshold, dateTime(r.WindowStart), dateTime(r.WindowEnd), r.BaselineID, dateTime(r.At)}
	},
}

type deliveryRow struct {
	rec        *alerts.DeliveryRecord
	recordedAt time.Time
}

var deliveryTable = table[deliveryRow]{
	name: "alert_deliveries",
	columns: "notification_id, target, kind, model, alert_ids, window_start, state, attempts, last_status, " +
		"last_error, first_attempt, final_at, recorded_at, version",
	values: func(r *deliveryRow) []any {
		d := r.rec
		ids := d.AlertIDs
		if ids == nil {
			ids = []string{}
		}
		// The version orders records of one delivery: later records carry
		// the later state. Nanoseconds, so two records in one second differ.
		return []any{d.NotificationID, d.Target, d.Kind, d.Model, ids, dateTime(d.WindowStart), d.State,
			uint32(max(d.Attempts, 0)), int32(d.LastStatus), d.LastError, dateTime(d.FirstAttempt),
			dateTime(d.FinalAt), dateTime(r.recordedAt), uint64(max(r.recordedAt.UnixNano(), 0))}
	},
}

// windowRows holds one write's rows, table by table.
type windowRows struct {
	metrics     []metricRow
	histograms  []histogramRow
	performance []performanceRow
	quality     []qualityRow
	latency     []latencyRow
}

func (w *windowRows) add(r *processor.WindowResult, thresholds ThresholdFunc) {
	k := keyOf(r)
	metrics := r.Metrics()
	w.metrics = slices.Grow(w.metrics, len(metrics))
	for _, m := range metrics {
		row := metricRow{windowKey: k, feature: m.Feature, metric: m.Name, value: m.Value,
			sampleSize: u64(m.SampleSize), baselineSize: u64(m.BaselineSize)}
		if thresholds != nil {
			if t, ok := thresholds(k.model, k.version, m.Feature, m.Name); ok {
				row.threshold = &t.Value
				if t.Crossed(m.Value) {
					row.drifted = 1
				}
			}
		}
		w.metrics = append(w.metrics, row)
	}
	names := make([]string, 0, len(r.Features)+1)
	for name := range r.Features {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f := r.Features[name]
		w.addFeature(k, name, &f)
	}
	if r.Prediction != nil {
		w.addFeature(k, processor.PredictionFeature, r.Prediction)
	}
	w.addPerformance(k, r)
	if l := r.Latency; l != nil && l.Count > 0 {
		w.latency = append(w.latency, latencyRow{windowKey: k, count: u64(l.Count), p50: l.P50, p95: l.P95, p99: l.P99})
	}
}

func (w *windowRows) addFeature(k *windowKey, name string, f *stats.FeatureReport) {
	if h := f.Histogram; h != nil {
		w.histograms = append(w.histograms, histogramRow{windowKey: k, feature: name, featureType: f.Type,
			edges: orEmpty(h.Edges), categories: orEmpty(h.Categories),
			baseline: counts(h.Baseline), current: counts(h.Current)})
	}
	w.quality = append(w.quality, qualityRow{windowKey: k, feature: name, featureType: f.Type,
		sampleSize: u64(f.Count.Current), baselineSize: u64(f.Count.Baseline),
		missing: f.MissingRate.Current, baselineMissing: f.MissingRate.Baseline, outOfRange: f.OutOfRangeRate,
		newCategoryCount: uint64(len(f.NewCategories)), newCategories: orEmpty(f.NewCategories)})
}

// addPerformance writes the model-level row (class ”) for every window, so
// events and label coverage are there before any label arrives, then one row
// per class.
func (w *windowRows) addPerformance(k *windowKey, r *processor.WindowResult) {
	row := performanceRow{windowKey: k, events: u64(r.Events), lateEvents: u64(r.LateEvents), labelCoverage: r.LabelCoverage}
	p := r.Performance
	if p == nil {
		w.performance = append(w.performance, row)
		return
	}
	row.task, row.support = p.Task, u64(p.Support)
	row.accuracy, row.precision, row.recall, row.f1, row.rocAUC = p.Accuracy, p.Precision, p.Recall, p.F1, p.ROCAUC
	row.macroF1, row.microF1, row.weighted = p.MacroF1, p.MicroF1, p.WeightedF1
	row.mae, row.rmse, row.meanError = p.MAE, p.RMSE, p.MeanError
	w.performance = append(w.performance, row)
	classes := make([]string, 0, len(p.PerClass))
	for c := range p.PerClass {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	for _, c := range classes {
		cr := p.PerClass[c]
		w.performance = append(w.performance, performanceRow{windowKey: k, class: c, task: p.Task,
			events: u64(r.Events), lateEvents: u64(r.LateEvents), labelCoverage: r.LabelCoverage,
			support: u64(cr.Support), precision: &cr.Precision, recall: &cr.Recall, f1: &cr.F1})
	}
}

func counts(in []int64) []uint64 {
	out := make([]uint64, len(in))
	for i, v := range in {
		out[i] = u64(v)
	}
	return out
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func u64(v int64) uint64 { return uint64(max(v, 0)) }

// dateTime fits t into ClickHouse's DateTime (unsigned seconds since 1970):
// a zero or pre-1970 time becomes the epoch instead of failing the batch.
func dateTime(t time.Time) time.Time {
	if t.Unix() < 0 {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

func (w *windowRows) count() int {
	return len(w.metrics) + len(w.histograms) + len(w.performance) + len(w.quality) + len(w.latency)
}

func (w *windowRows) merge(o *windowRows) {
	w.metrics = append(w.metrics, o.metrics...)
	w.histograms = append(w.histograms, o.histograms...)
	w.performance = append(w.performance, o.performance...)
	w.quality = append(w.quality, o.quality...)
	w.latency = append(w.latency, o.latency...)
}
