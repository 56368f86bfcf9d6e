package sinks

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/alerts"
	"github.com/driftd/driftd/processor"
)

func TestWindowRows(t *testing.T) {
	w := fixtureWindow(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), "fraud", "v3", 5, 2)
	var rows windowRows
	rows.add(&w, MetricThresholds(map[string]Threshold{"psi": {Value: 0.5}, "f1": {Value: 0.9, Direction: Below}}))

	if len(rows.metrics) != len(w.Metrics()) {
		t.Fatalf("%d metric rows, want %d", len(rows.metrics), len(w.Metrics()))
	}
	for _, m := range rows.metrics {
		if m.revision != 2 || m.baselineID != "fraud-v3-base" || !m.start.Equal(w.ID.Start) || !m.end.Equal(w.ID.End) {
			t.Fatalf("row lost the window identity: %+v", m.windowKey)
		}
		switch m.metric {
		case "psi":
			if m.threshold == nil || *m.threshold != 0.5 || (m.drifted == 1) != (m.value > 0.5) {
				t.Errorf("psi %s = %v: threshold %v drifted %d", m.feature, m.value, m.threshold, m.drifted)
			}
		case "f1":
			if m.threshold == nil || m.drifted != 1 { // fixture f1 for h=5 is ~0.865 < 0.9
				t.Errorf("f1 = %v: threshold %v drifted %d, want drifted below 0.9", m.value, m.threshold, m.drifted)
			}
		default:
			if m.threshold != nil || m.drifted != 0 {
				t.Errorf("%s has threshold %v drifted %d without a configured threshold", m.metric, m.threshold, m.drifted)
			}
		}
	}
	if len(rows.histograms) != 2 || rows.histograms[0].feature != "amount" || rows.histograms[1].feature != "country" {
		t.Errorf("histogram rows: %+v", rows.histograms)
	}
	if got := rows.histograms[0]; len(got.edges) != 3 || len(got.categories) != 0 || got.current[0] != 5 {
		t.Errorf("amount histogram: %+v", got)
	}
	if len(rows.quality) != 3 || rows.quality[2].feature != "country" || rows.quality[2].newCategoryCount != 2 || rows.quality[2].outOfRange != nil {
		t.Errorf("quality rows: %+v", rows.quality)
	}
	if len(rows.performance) != 3 || rows.performance[0].class != "" || rows.performance[1].class != "0" || rows.performance[2].class != "1" {
		t.Fatalf("performance rows: %+v", rows.performance)
	}
	if p := rows.performance[2]; *p.f1 != *w.Performance.F1 || p.support != 40 || p.macroF1 != nil || p.accuracy != nil {
		t.Errorf("class row: %+v", p)
	}
	if len(rows.latency) != 1 || rows.latency[0].p99 != 110 {
		t.Errorf("latency rows: %+v", rows.latency)
	}
	if rows.count() != len(rows.metrics)+2+3+3+1 {
		t.Errorf("count() = %d", rows.count())
	}
}

func TestWindowRowsWithoutMeasures(t *testing.T) {
	w := processor.WindowResult{ID: processor.WindowID{Model: "m", Version: "v"}, Events: 3, LateEvents: -1}
	var rows windowRows
	rows.add(&w, nil)
	if len(rows.performance) != 1 || rows.performance[0].events != 3 || rows.performance[0].lateEvents != 0 || rows.performance[0].task != "" {
		t.Errorf("a window without labels still needs its model row: %+v", rows.performance)
	}
	if len(rows.metrics) != 1 || rows.metrics[0].metric != "label_coverage" {
		t.Errorf("metrics: %+v", rows.metrics)
	}
	if len(rows.histograms)+len(rows.quality)+len(rows.latency) != 0 {
		t.Errorf("rows for measures that do not exist: %+v", rows)
	}
	if !rows.performance[0].start.Equal(time.Unix(0, 0)) {
		t.Errorf("zero time not clamped to the epoch: %v", rows.performance[0].start)
	}
}

func TestTableValuesMatchColumns(t *testing.T) {
	check := func(name, columns string, values []any) {
		t.Helper()
		if n := len(strings.Split(columns, ",")); n != len(values) {
			t.Errorf("%s: %d columns, %d values", name, n, len(values))
		}
	}
	check(metricTable.name, metricTable.columns, metricTable.values(&metricRow{windowKey: &windowKey{}}))
	check(histogramTable.name, histogramTable.columns, histogramTable.values(&histogramRow{windowKey: &windowKey{}}))
	check(performanceTable.name, performanceTable.columns, performanceTable.values(&performanceRow{windowKey: &windowKey{}}))
	check(qualityTable.name, qualityTable.columns, qualityTable.values(&qualityRow{windowKey: &windowKey{}}))
	check(latencyTable.name, latencyTable.columns, latencyTable.values(&latencyRow{windowKey: &windowKey{}}))
	check(rejectTable.name, rejectTable.columns, rejectTable.values(&processor.RejectStat{}))
	check(alertTable.name, alertTable.columns, alertTable.values(&alerts.AlertRecord{}))
	check(metricTable.name+" columnar", metricTable.columns, metricTable.columnar(nil))
	check(deliveryTable.name, deliveryTable.columns, deliveryTable.values(&deliveryRow{rec: &alerts.DeliveryRecord{}}))
}

func TestCounts(t *testing.T) {
	got := counts([]int64{3, -1, 0})
	if got[0] != 3 || got[1] != 0 || got[2] != 0 {
		t.Errorf("counts = %v", got)
	}
}

// TestMetricColumnsAgreeWithValues: the columnar path of window_metrics
// puts every field in the same column as the per-row path.
func TestMetricColumnsAgreeWithValues(t *testing.T) {
	w := fixtureWindow(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), "fraud", "v3", 5, 2)
	var rows windowRows
	rows.add(&w, MetricThresholds(map[string]Threshold{"psi": {Value: 0.5}}))
	cols := metricTable.columnar(rows.metrics)
	for i := range rows.metrics {
		want := metricTable.values(&rows.metrics[i])
		for j, col := range cols {
			got := reflect.ValueOf(col).Index(i).Interface()
			if !reflect.DeepEqual(got, want[j]) {
				t.Fatalf("row %d column %d: columnar %v, values %v", i, j, got, want[j])
			}
		}
	}
}
