package sinks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/alerts"
	"github.com/driftd/driftd/internal/testservices"
	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/stats"
)

// testConfig returns a config for a fresh database of this test on the
// real server (skipped, or failed under DRIFTD_REQUIRE_SERVICES=1, when
// there is none), dropped when the test ends.
func testConfig(tb testing.TB) Config {
	tb.Helper()
	addr := testservices.ClickHouse(tb)
	return Config{Addr: []string{addr}, Database: testservices.Database(tb, addr)}.Defaults()
}

// migrated creates the schema and returns a raw connection for assertions.
func migrated(tb testing.TB, cfg Config) driver.Conn {
	tb.Helper()
	ctx := context.Background()
	if _, _, err := Migrate(ctx, cfg, zerolog.Nop()); err != nil {
		tb.Fatalf("migrating: %v", err)
	}
	conn, err := dial(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func queryUint(tb testing.TB, conn driver.Conn, q string) uint64 {
	tb.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

func ptr(v float64) *float64 { return &v }

// fixture is a small, deterministic slice of a deployment: model fraud with
// champion v3 for 30 hourly windows and challenger v4 for the last 12, a
// second model churn, alerts, deliveries and rejects. Values depend on the
// hour index h (1 = the last complete hour) so every query has a known
// answer.
type fixture struct {
	hourStart time.Time // start of the current hour; window h starts h hours before
	windows   []processor.WindowResult
	// revised re-emits some windows with late labels (Revision 2).
	revised []processor.WindowResult
	alerts  []alerts.AlertRecord
	deliv   []alerts.DeliveryRecord
	rejects []processor.RejectStat
}

const fixtureHours = 30

var amountEdges = []float64{10, 50, 100}

func newFixture(now time.Time) *fixture {
	f := &fixture{hourStart: now.UTC().Truncate(time.Hour)}
	for h := 1; h <= fixtureHours; h++ {
		f.windows = append(f.windows, fixtureWindow(f.hourStart, "fraud", "v3", h, 1))
		if h <= 12 {
			f.windows = append(f.windows, fixtureWindow(f.hourStart, "fraud", "v4", h, 1))
		}
		f.windows = append(f.windows, fixtureWindow(f.hourStart, "churn", "v1", h, 1))
		if h > 6 && h%2 == 0 {
			f.revised = append(f.revised, fixtureWindow(f.hourStart, "fraud", "v3", h, 2))
		}
		if h%6 == 1 {
			f.windows = append(f.windows, rollingView(f.hourStart, "v3", h), rollingView(f.hourStart, "v4", h))
		}
	}
	at := func(h int) time.Time { return f.hourStart.Add(-time.Duration(h) * time.Hour) }
	rec := func(id, feature, state string, h int, v float64) alerts.AlertRecord {
		return alerts.AlertRecord{AlertID: id, Rule: "psi_high", Model: "fraud", Version: "v3", Feature: feature,
			Metric: "psi", State: state, Severity: "warning", Value: v, Threshold: 0.2,
			WindowStart: at(h), WindowEnd: at(h - 1), BaselineID: "fraud-v3-base", At: at(h - 1).Add(time.Minute)}
	}
	f.alerts = []alerts.AlertRecord{
		rec("a1", "amount", "pending", 11, 0.25), rec("a1", "amount", "firing", 10, 0.3),
		rec("a1", "amount", "resolved", 4, 0.1), rec("a2", "country", "firing", 2, 0.4),
	}
	delivered := alerts.DeliveryRecord{NotificationID: "n1", Target: "oncall", Kind: "firing", Model: "fraud",
		AlertIDs: []string{"a1"}, WindowStart: at(10), State: "delivered", Attempts: 2, LastStatus: 200,
		FirstAttempt: at(9), FinalAt: at(9).Add(time.Minute)}
	f.deliv = []alerts.DeliveryRecord{
		delivered,
		delivered, // recorded again after a restart
		{NotificationID: "n2", Target: "retrain", Kind: "firing", Model: "fraud", AlertIDs: []string{"a1", "a2"},
			WindowStart: at(2), State: "failed", Attempts: 5, LastStatus: 400, LastError: "bad request", FirstAttempt: at(1), FinalAt: at(1).Add(10 * time.Minute)},
		{NotificationID: "n3", Target: "oncall", Kind: "resolved", Model: "fraud", AlertIDs: []string{"a1"},
			WindowStart: at(4), State: "expired", Attempts: 7, LastStatus: 503, LastError: "service unavailable", FirstAttempt: at(3), FinalAt: at(1)},
	}
	minute := now.UTC().Truncate(time.Minute)
	f.rejects = []processor.RejectStat{
		{Minute: minute.Add(-3 * time.Minute), Topic: "predictions", Reason: "malformed_json", Count: 5},
		{Minute: minute.Add(-2 * time.Minute), Topic: "predictions", Reason: "malformed_json", Count: 3},
		{Minute: minute.Add(-2 * time.Minute), Topic: "outcomes", Reason: "missing_field", Count: 2},
		{Minute: minute.Add(-time.Hour), Topic: "predictions", Reason: "too_large", Count: 1},
		{Minute: minute.Add(-48 * time.Hour), Topic: "predictions", Reason: "malformed_json", Count: 100},
	}
	return f
}

// Values of the fixture as functions of (model, version, hour, revision), so
// tests compute expected rows without reading ClickHouse.
func fixturePSI(model, version, feature string, h int) float64 {
	base := map[string]float64{"amount": 0.02 * float64(fixtureHours+1-h), "country": 0.05 + 0.001*float64(h), "age": 0.03}[feature]
	if version == "v4" {
		base /= 2
	}
	if model == "churn" {
		base += 1 // would top any ranking if the model filter were wrong
	}
	return base
}

func fixtureF1(version string, h, revision int) float64 {
	f1 := 0.9 - 0.005*float64(h)
	if version == "v4" {
		f1 = 0.92 - 0.003*float64(h)
	}
	return f1 - 0.01*float64(revision-1)
}

func fixtureCoverage(h, revision int) float64 {
	return min(1, 0.03*float64(h)+0.1*float64(revision-1))
}

func fixtureCurrentCounts(h int) []int64 {
	return []int64{int64(h), 100, 200 - int64(h), 50 + int64(h)}
}

var amountBaseline = []int64{100, 200, 150, 50}

func fixtureNewCategories(h int) []string {
	if h%5 == 0 {
		return []string{"BR", fmt.Sprintf("X%d", h%3)}
	}
	return nil
}

func fixtureWindow(hourStart time.Time, model, version string, h, revision int) processor.WindowResult {
	start := hourStart.Add(-time.Duration(h) * time.Hour)
	events := int64(1000 + h)
	num := func(name string, missing float64) stats.FeatureReport {
		return stats.FeatureReport{Type: stats.Numeric, Count: stats.Pair[int64]{Baseline: 500, Current: events},
			MissingRate: stats.Pair[*float64]{Baseline: ptr(0), Current: ptr(missing)},
			PSI:         ptr(fixturePSI(model, version, name, h)), KS: &stats.KSResult{Statistic: 0.1, PValue: 0.01 * float64(h)},
			OutOfRangeRate: ptr(0.01 * float64(h%3))}
	}
	amount := num("amount", 0)
	amount.Histogram = &stats.Histogram{Edges: amountEdges, Baseline: amountBaseline, Current: fixtureCurrentCounts(h)}
	age := num("age", 0.1+0.01*float64(h%4))
	country := stats.FeatureReport{Type: stats.Categorical, Count: stats.Pair[int64]{Baseline: 500, Current: events},
		MissingRate: stats.Pair[*float64]{Baseline: ptr(0), Current: ptr(0)},
		PSI:         ptr(fixturePSI(model, version, "country", h)), ChiSquare: &stats.ChiSquareResult{Statistic: 3, PValue: 0.2, DoF: 2},
		NewCategories: fixtureNewCategories(h),
		Histogram:     &stats.Histogram{Categories: []string{"DE", "FR", "US"}, Baseline: []int64{200, 200, 100}, Current: []int64{300, 300, events - 600}}}
	f1 := fixtureF1(version, h, revision)
	support := int64(float64(events) * fixtureCoverage(h, revision))
	return processor.WindowResult{
		ID:       processor.WindowID{Model: model, Version: version, Start: start, End: start.Add(time.Hour)},
		Revision: uint64(revision), BaselineID: model + "-" + version + "-base",
		ClosedAt: start.Add(time.Hour + time.Minute), Events: events, LateEvents: int64(h % 2),
		Features: map[string]stats.FeatureReport{"amount": amount, "age": age, "country": country},
		Performance: &stats.PerformanceReport{Task: stats.Binary, Support: support,
			Accuracy: ptr(f1 + 0.05), Precision: ptr(f1 + 0.02), Recall: ptr(f1 - 0.02), F1: ptr(f1), ROCAUC: ptr(0.95),
			PerClass: map[string]stats.ClassReport{
				"0": {Precision: 0.97, Recall: 0.98, F1: 0.975, Support: support - 40},
				"1": {Precision: f1 + 0.02, Recall: f1 - 0.02, F1: f1, Support: 40},
			}},
		LabelCoverage: fixtureCoverage(h, revision),
		Latency:       &processor.LatencySummary{Count: events, P50: 10 + float64(h%5), P95: 50 + float64(h), P99: 100 + 2*float64(h)},
	}
}

// rollingView is the 24 h view ending with window h, as the processor emits
// next to the hourly windows. Its figures are extreme so a query that
// forgets to keep to hourly windows returns wrong rows.
func rollingView(hourStart time.Time, version string, h int) processor.WindowResult {
	w := fixtureWindow(hourStart, "fraud", version, h, 1)
	w.ID.Start = w.ID.End.Add(-24 * time.Hour)
	w.Events *= 24
	for name, fr := range w.Features {
		fr.PSI = ptr(9)
		fr.MissingRate.Current = ptr(0.9)
		fr.NewCategories = []string{"ROLLING"}
		w.Features[name] = fr
	}
	w.Performance.F1 = ptr(0.01)
	w.Performance.Support *= 24
	w.Latency = &processor.LatencySummary{Count: w.Events, P50: 999, P95: 9999, P99: 99999}
	return w
}

func hourly(w *processor.WindowResult) bool { return w.ID.End.Sub(w.ID.Start) == time.Hour }

// write stores the whole fixture the way a replaying processor would: every
// window twice, then the revisions, alerts twice.
func (f *fixture) write(tb testing.TB, c *ClickHouse) {
	tb.Helper()
	ctx := context.Background()
	for range 2 {
		if err := c.WriteWindows(ctx, f.windows); err != nil {
			tb.Fatalf("writing windows: %v", err)
		}
		if err := c.RecordAlerts(ctx, f.alerts); err != nil {
			tb.Fatalf("recording alerts: %v", err)
		}
	}
	if err := c.WriteWindows(ctx, f.revised); err != nil {
		tb.Fatalf("writing revised windows: %v", err)
	}
	if err := c.RecordDeliveries(ctx, f.deliv[:1]); err != nil {
		tb.Fatalf("recording deliveries: %v", err)
	}
	if err := c.RecordDeliveries(ctx, f.deliv[1:]); err != nil {
		tb.Fatalf("recording deliveries: %v", err)
	}
	if err := c.WriteRejects(ctx, f.rejects); err != nil {
		tb.Fatalf("writing rejects: %v", err)
	}
}

// latest returns the fixture's windows at their highest revision.
func (f *fixture) latest() []processor.WindowResult {
	type key struct {
		model, version string
		start, end     time.Time
	}
	idx := map[key]int{}
	var out []processor.WindowResult
	for _, set := range [][]processor.WindowResult{f.windows, f.revised} {
		for _, w := range set {
			k := key{w.ID.Model, w.ID.Version, w.ID.Start, w.ID.End}
			if i, ok := idx[k]; ok {
				out[i] = w
				continue
			}
			idx[k] = len(out)
			out = append(out, w)
		}
	}
	return out
}
