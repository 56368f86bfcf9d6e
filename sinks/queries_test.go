package sinks

import (
	"cmp"
	"context"
	"embed"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/driftd/driftd/processor"
)

// The example queries of docs/clickhouse.md live here, one file each; the
// docs must quote them verbatim and each must return the expected rows on
// data written by the sink.
//
//go:embed testdata/queries/*.sql
var queryFS embed.FS

func exampleQueries(tb testing.TB) map[string]string {
	tb.Helper()
	entries, err := queryFS.ReadDir("testdata/queries")
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := queryFS.ReadFile("testdata/queries/" + e.Name())
		if err != nil {
			tb.Fatal(err)
		}
		out[e.Name()] = strings.TrimSpace(string(b))
	}
	return out
}

func TestDocsQuoteEveryQuery(t *testing.T) {
	doc, err := os.ReadFile("../docs/clickhouse.md")
	if err != nil {
		t.Fatal(err)
	}
	queries := exampleQueries(t)
	if len(queries) < 8 {
		t.Errorf("%d example queries, the docs promise at least 8", len(queries))
	}
	for name, q := range queries {
		if !strings.Contains(string(doc), "```sql\n"+q+"\n```") {
			t.Errorf("docs/clickhouse.md does not quote %s verbatim in a sql block", name)
		}
		if _, ok := expectedRows[name]; !ok {
			t.Errorf("%s has no expected rows in queries_test.go", name)
		}
	}
}

// expected computes a query's rows from the fixture, without ClickHouse.
type expectation func(f *fixture, now time.Time, loc *time.Location) [][]any

var expectedRows = map[string]expectation{
	"01_top_drifted_features.sql":      expectTopDrifted,
	"02_f1_trend_per_version.sql":      expectF1Trend,
	"03_champion_vs_challenger.sql":    expectChampionChallenger,
	"04_alert_history.sql":             expectAlertHistory,
	"05_histogram_now_vs_baseline.sql": expectHistogram,
	"06_label_coverage_by_day.sql":     expectCoverageByDay,
	"07_rejected_by_reason.sql":        expectRejects,
	"08_latency_percentiles.sql":       expectLatency,
	"09_delivery_status.sql":           expectDeliveries,
	"10_data_quality.sql":              expectDataQuality,
}

func TestDocumentedQueriesIntegration(t *testing.T) {
	cfg := testConfig(t)
	cfg.Thresholds = MetricThresholds(map[string]Threshold{"psi": {Value: 0.2}})
	conn := migrated(t, cfg)
	c, _ := openSink(t, cfg)
	f := newFixture(time.Now())
	f.write(t, c)

	ctx := context.Background()
	var tz string
	if err := conn.QueryRow(ctx, "SELECT timezone()").Scan(&tz); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatalf("server time zone %q: %v", tz, err)
	}
	for name, q := range exampleQueries(t) {
		t.Run(strings.TrimSuffix(name, ".sql"), func(t *testing.T) {
			var now time.Time
			if err := conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
				t.Fatal(err)
			}
			got := runQuery(t, conn, strings.ReplaceAll(q, "driftd.", cfg.Database+"."))
			want := expectedRows[name](f, now, loc)
			if len(want) == 0 {
				t.Fatal("expectation is empty: the query proves nothing")
			}
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d\ngot:  %v\nwant: %v", len(got), len(want), got, want)
			}
			for i := range want {
				if len(got[i]) != len(want[i]) {
					t.Fatalf("row %d: %d columns, want %d", i, len(got[i]), len(want[i]))
				}
				for j := range want[i] {
					if !cellEqual(got[i][j], want[i][j]) {
						t.Errorf("row %d column %d: got %v (%T), want %v (%T)", i, j, got[i][j], got[i][j], want[i][j], want[i][j])
					}
				}
			}
		})
	}
}

// runQuery scans every column into the driver's type for it and normalises
// numbers to float64 and NULLs to nil.
func runQuery(tb testing.TB, conn driver.Conn, q string) [][]any {
	tb.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		tb.Fatalf("running query: %v\n%s", err, q)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out [][]any
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			tb.Fatal(err)
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = normalize(reflect.ValueOf(d).Elem())
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func normalize(v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Bool:
		if v.Bool() {
			return 1.0
		}
		return 0.0
	}
	return v.Interface()
}

func cellEqual(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case int:
		return cellEqual(got, float64(w))
	case float64:
		g, ok := got.(float64)
		if !ok {
			return false
		}
		if math.IsInf(w, 0) || math.IsNaN(w) {
			return g == w || (math.IsNaN(g) && math.IsNaN(w))
		}
		return math.Abs(g-w) <= 1e-9*max(1, math.Abs(w))
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	case []string:
		g, ok := got.([]string)
		return ok && slices.Equal(g, w)
	}
	return reflect.DeepEqual(got, want)
}

// inLast24h mirrors "window_start >= now() - INTERVAL 24 HOUR AND
// window_end = window_start + INTERVAL 1 HOUR".
func inLast24h(w *processor.WindowResult, now time.Time) bool {
	return hourly(w) && !w.ID.Start.Before(now.Add(-24*time.Hour))
}

func expectTopDrifted(f *fixture, now time.Time, _ *time.Location) [][]any {
	type agg struct {
		max, sum float64
		n, drift int
	}
	by := map[string]*agg{}
	for _, w := range f.latest() {
		if w.ID.Model != "fraud" || !inLast24h(&w, now) {
			continue
		}
		for name, fr := range w.Features {
			a := by[name]
			if a == nil {
				a = &agg{max: math.Inf(-1)}
				by[name] = a
			}
			v := *fr.PSI
			a.max, a.sum, a.n = max(a.max, v), a.sum+v, a.n+1
			if v > 0.2 {
				a.drift++
			}
		}
	}
	var rows [][]any
	for name, a := range by {
		rows = append(rows, []any{name, a.max, a.sum / float64(a.n), a.drift})
	}
	slices.SortFunc(rows, func(a, b []any) int { return cmp.Compare(b[1].(float64), a[1].(float64)) })
	return rows
}

func fraudModelRows(f *fixture, now time.Time, versions ...string) []processor.WindowResult {
	var out []processor.WindowResult
	for _, w := range f.latest() {
		if w.ID.Model == "fraud" && slices.Contains(versions, w.ID.Version) && hourly(&w) && !w.ID.Start.Before(now.Add(-7*24*time.Hour)) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b processor.WindowResult) int {
		return cmp.Or(cmp.Compare(a.ID.Version, b.ID.Version), a.ID.Start.Compare(b.ID.Start))
	})
	return out
}

func expectF1Trend(f *fixture, now time.Time, _ *time.Location) [][]any {
	var rows [][]any
	for _, w := range fraudModelRows(f, now, "v3", "v4") {
		rows = append(rows, []any{w.ID.Version, w.ID.Start, *w.Performance.F1, int(w.Performance.Support)})
	}
	return rows
}

func expectChampionChallenger(f *fixture, now time.Time, _ *time.Location) [][]any {
	challenger := map[time.Time]processor.WindowResult{}
	for _, w := range fraudModelRows(f, now, "v4") {
		challenger[w.ID.Start] = w
	}
	var rows [][]any
	for _, w := range fraudModelRows(f, now, "v3") {
		if ch, ok := challenger[w.ID.Start]; ok {
			rows = append(rows, []any{w.ID.Start, *w.Performance.F1, *ch.Performance.F1, w.LabelCoverage, ch.LabelCoverage})
		}
	}
	return rows
}

func expectAlertHistory(f *fixture, _ time.Time, _ *time.Location) [][]any {
	var rows [][]any
	for _, id := range []string{"a1", "a2"} {
		var worst float64
		var fired, resolved time.Time
		var feature string
		for _, a := range f.alerts {
			if a.AlertID != id {
				continue
			}
			worst, feature = max(worst, a.Value), a.Feature
			switch a.State {
			case "firing":
				fired = a.At.Truncate(time.Second)
			case "resolved":
				resolved = a.At.Truncate(time.Second)
			}
		}
		row := []any{id, feature, "psi", worst, fired, 0, nil}
		if !resolved.IsZero() {
			row[5], row[6] = 1, resolved.Sub(fired).Seconds()
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b []any) int { return a[4].(time.Time).Compare(b[4].(time.Time)) })
	return rows
}

func expectHistogram(f *fixture, now time.Time, _ *time.Location) [][]any {
	current := make([]int64, len(amountBaseline))
	for _, w := range f.latest() {
		if w.ID.Model == "fraud" && w.ID.Version == "v3" && inLast24h(&w, now) {
			for i, c := range w.Features["amount"].Histogram.Current {
				current[i] += c
			}
		}
	}
	sum := func(s []int64) (t float64) {
		for _, v := range s {
			t += float64(v)
		}
		return t
	}
	edges := append(append([]float64{math.Inf(-1)}, amountEdges...), math.Inf(1))
	var rows [][]any
	for i := range current {
		rows = append(rows, []any{i + 1, edges[i], edges[i+1],
			float64(amountBaseline[i]) / sum(amountBaseline), float64(current[i]) / sum(current)})
	}
	return rows
}

func expectCoverageByDay(f *fixture, _ time.Time, loc *time.Location) [][]any {
	type key struct {
		day            time.Time
		model, version string
	}
	type agg struct{ events, support int64 }
	by := map[key]*agg{}
	for _, w := range f.latest() {
		if !hourly(&w) {
			continue
		}
		s := w.ID.Start.In(loc)
		k := key{time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC), w.ID.Model, w.ID.Version}
		if by[k] == nil {
			by[k] = &agg{}
		}
		by[k].events += w.Events
		by[k].support += w.Performance.Support
	}
	var rows [][]any
	for k, a := range by {
		rows = append(rows, []any{k.day, k.model, k.version, int(a.events), int(a.support), float64(a.support) / float64(a.events)})
	}
	slices.SortFunc(rows, func(a, b []any) int {
		return cmp.Or(a[0].(time.Time).Compare(b[0].(time.Time)), cmp.Compare(a[1].(string), b[1].(string)), cmp.Compare(a[2].(string), b[2].(string)))
	})
	return rows
}

func expectRejects(f *fixture, now time.Time, _ *time.Location) [][]any {
	type key struct{ topic, reason string }
	by := map[key]int64{}
	for _, r := range f.rejects {
		if !r.Minute.Before(now.Add(-24 * time.Hour)) {
			by[key{r.Topic, r.Reason}] += r.Count
		}
	}
	var rows [][]any
	for k, n := range by {
		rows = append(rows, []any{k.topic, k.reason, int(n)})
	}
	slices.SortFunc(rows, func(a, b []any) int {
		return cmp.Or(cmp.Compare(b[2].(int), a[2].(int)), cmp.Compare(a[0].(string), b[0].(string)), cmp.Compare(a[1].(string), b[1].(string)))
	})
	return rows
}

// quantileExact(0.5) picks the element at index floor(0.5*n) of the sorted
// values (the upper median for even n).
func upperMedian(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

func expectLatency(f *fixture, now time.Time, _ *time.Location) [][]any {
	var rows [][]any
	for _, version := range []string{"v3", "v4"} {
		var p50, p95 []float64
		var requests int64
		worst := math.Inf(-1)
		for _, w := range f.latest() {
			if w.ID.Model == "fraud" && w.ID.Version == version && inLast24h(&w, now) {
				p50, p95 = append(p50, w.Latency.P50), append(p95, w.Latency.P95)
				requests += w.Latency.Count
				worst = max(worst, w.Latency.P99)
			}
		}
		rows = append(rows, []any{version, len(p50), int(requests), upperMedian(p50), upperMedian(p95), worst})
	}
	return rows
}

func expectDeliveries(f *fixture, _ time.Time, _ *time.Location) [][]any {
	latest := map[string]int{}
	for i, d := range f.deliv {
		latest[d.NotificationID+"/"+d.Target] = i // later records win
	}
	var rows [][]any
	for _, i := range latest {
		d := f.deliv[i]
		rows = append(rows, []any{d.NotificationID, d.Target, d.Kind, d.State, d.Attempts, d.LastStatus, d.AlertIDs})
	}
	slices.SortFunc(rows, func(a, b []any) int {
		return cmp.Or(cmp.Compare(a[0].(string), b[0].(string)), cmp.Compare(a[1].(string), b[1].(string)))
	})
	return rows
}

func expectDataQuality(f *fixture, now time.Time, _ *time.Location) [][]any {
	type agg struct {
		missing, outOfRange *float64
		newCats             map[string]bool
	}
	maxPtr := func(a *float64, b *float64) *float64 {
		if b == nil {
			return a
		}
		if a == nil || *b > *a {
			return ptr(*b)
		}
		return a
	}
	by := map[string]*agg{}
	for _, w := range f.latest() {
		if w.ID.Model != "fraud" || w.ID.Version != "v3" || !inLast24h(&w, now) {
			continue
		}
		for name, fr := range w.Features {
			a := by[name]
			if a == nil {
				a = &agg{newCats: map[string]bool{}}
				by[name] = a
			}
			a.missing, a.outOfRange = maxPtr(a.missing, fr.MissingRate.Current), maxPtr(a.outOfRange, fr.OutOfRangeRate)
			for _, c := range fr.NewCategories {
				a.newCats[c] = true
			}
		}
	}
	var rows [][]any
	for _, name := range slices.Sorted(maps.Keys(by)) {
		a := by[name]
		cats := []string{}
		for c := range a.newCats {
			cats = append(cats, c)
		}
		slices.Sort(cats)
		row := []any{name, nil, nil, cats}
		if a.missing != nil {
			row[1] = *a.missing
		}
		if a.outOfRange != nil {
			row[2] = *a.outOfRange
		}
		rows = append(rows, row)
	}
	return rows
}
