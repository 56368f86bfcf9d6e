package sinks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/internal/testservices"
	"github.com/driftd/driftd/processor"
)

func openSink(tb testing.TB, cfg Config) (*ClickHouse, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	c, err := Open(context.Background(), cfg, zerolog.Nop(), reg)
	if err != nil {
		tb.Fatalf("opening sink: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c, reg
}

func TestMigrateIntegration(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()

	if _, err := Open(ctx, cfg, zerolog.Nop(), nil); !errors.Is(err, ErrSchemaOutdated) {
		t.Fatalf("Open before migrate: got %v, want ErrSchemaOutdated", err)
	}
	auto := cfg
	auto.Database = testservices.UniqueName(t, "auto")
	auto.AutoMigrate = true
	t.Cleanup(func() {
		if conn, err := dial(context.Background(), auto); err == nil {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+auto.Database)
			conn.Close()
		}
	})
	c, err := Open(ctx, auto, zerolog.Nop(), nil)
	if err != nil {
		t.Fatalf("Open with AutoMigrate: %v", err)
	}
	c.Close()
	from, to, err := Migrate(ctx, cfg, zerolog.Nop())
	if err != nil || from != 0 || to != SchemaVersion() {
		t.Fatalf("first migrate: from %d to %d err %v", from, to, err)
	}
	from, to, err = Migrate(ctx, cfg, zerolog.Nop())
	if err != nil || from != SchemaVersion() || to != SchemaVersion() {
		t.Fatalf("second migrate: from %d to %d err %v", from, to, err)
	}
	conn := migrated(t, cfg)
	if n := queryUint(t, conn, "SELECT count() FROM "+cfg.Database+".schema_migrations"); n != uint64(len(migrations)) {
		t.Fatalf("schema_migrations has %d rows after two runs, want %d", n, len(migrations))
	}
	if n := queryUint(t, conn, "SELECT count() FROM system.tables WHERE database = '"+cfg.Database+"'"); n != 9 {
		t.Fatalf("database has %d tables, want 9", n)
	}

	// A newer driftd migrated this database: this build must not touch it.
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+cfg.Database+".schema_migrations (version, description, applied_at)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(uint32(SchemaVersion()+1), "from the future", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	_, _, err = Migrate(ctx, cfg, zerolog.Nop())
	if !errors.Is(err, ErrSchemaNewer) {
		t.Fatalf("migrate against newer schema: got %v, want ErrSchemaNewer", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("recorded version %d", SchemaVersion()+1)) {
		t.Errorf("error does not name the recorded version: %v", err)
	}
	if _, err := Open(ctx, cfg, zerolog.Nop(), nil); !errors.Is(err, ErrSchemaNewer) {
		t.Fatalf("Open against newer schema: got %v, want ErrSchemaNewer", err)
	}
}

// TestInsertColumnsMatchSchemaIntegration guards the hand-written column
// lists against the migrated tables.
func TestInsertColumnsMatchSchemaIntegration(t *testing.T) {
	cfg := testConfig(t)
	conn := migrated(t, cfg)
	lists := map[string]string{
		metricTable.name: metricTable.columns, histogramTable.name: histogramTable.columns,
		performanceTable.name: performanceTable.columns, qualityTable.name: qualityTable.columns,
		latencyTable.name: latencyTable.columns, rejectTable.name: rejectTable.columns,
		alertTable.name: alertTable.columns, deliveryTable.name: deliveryTable.columns,
	}
	for name, list := range lists {
		// 18.16's system.columns has no position; DESCRIBE keeps table order.
		rows, err := conn.Query(context.Background(), "DESCRIBE TABLE "+cfg.Database+"."+name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			// DESCRIBE grows columns across releases; all are strings.
			cells := make([]any, len(rows.Columns()))
			for i := range cells {
				cells[i] = new(string)
			}
			if err := rows.Scan(cells...); err != nil {
				t.Fatal(err)
			}
			got = append(got, *cells[0].(*string))
		}
		rows.Close()
		want := strings.Split(strings.ReplaceAll(list, " ", ""), ",")
		if !slices.Equal(got, want) {
			t.Errorf("%s: table columns %v, insert names %v", name, got, want)
		}
	}
}

// TestReplayIntegration writes the same windows twice (a replay after a
// crash) plus a higher revision, and expects one logical row per window
// identity, holding the latest revision, under FINAL and under argMax.
func TestReplayIntegration(t *testing.T) {
	cfg := testConfig(t)
	cfg.Thresholds = MetricThresholds(map[string]Threshold{"psi": {Value: 0.2}, "ks.p_value": {Value: 0.05, Direction: Below}})
	conn := migrated(t, cfg)
	c, reg := openSink(t, cfg)
	f := newFixture(time.Now())
	f.write(t, c)

	latest := f.latest()
	wantMetrics := 0
	for i := range latest {
		wantMetrics += len(latest[i].Metrics())
	}
	db := cfg.Database
	raw := queryUint(t, conn, "SELECT count() FROM "+db+".window_metrics")
	if raw <= uint64(wantMetrics) {
		t.Fatalf("raw rows %d: the replay should have written duplicates before merging (want > %d)", raw, wantMetrics)
	}
	if got := queryUint(t, conn, "SELECT count() FROM "+db+".window_metrics FINAL"); got != uint64(wantMetrics) {
		t.Errorf("window_metrics FINAL: %d rows, want %d", got, wantMetrics)
	}
	q := "SELECT count() FROM (SELECT model, model_version, feature, metric, window_start, window_end, argMax(value, revision) FROM " +
		db + ".window_metrics GROUP BY model, model_version, feature, metric, window_start, window_end)"
	if got := queryUint(t, conn, q); got != uint64(wantMetrics) {
		t.Errorf("window_metrics argMax groups: %d, want %d", got, wantMetrics)
	}

	// Every logical row holds the latest revision's value.
	wantF1 := map[string]float64{}
	for _, w := range latest {
		if w.ID.Model == "fraud" && w.ID.Version == "v3" {
			wantF1[w.ID.Start.Format(time.RFC3339)+"/"+w.ID.End.Format(time.RFC3339)] = *w.Performance.F1
		}
	}
	rows, err := conn.Query(context.Background(), "SELECT window_start, window_end, value FROM "+db+".window_metrics FINAL WHERE model = 'fraud' AND model_version = 'v3' AND metric = 'f1'")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var ws, we time.Time
		var v float64
		if err := rows.Scan(&ws, &we, &v); err != nil {
			t.Fatal(err)
		}
		if w := wantF1[ws.UTC().Format(time.RFC3339)+"/"+we.UTC().Format(time.RFC3339)]; w != v {
			t.Errorf("f1 of window %s: %v, want latest revision's %v", ws, v, w)
		}
		n++
	}
	rows.Close()
	if n != len(wantF1) {
		t.Errorf("got f1 for %d windows, want %d", n, len(wantF1))
	}

	// The other window tables collapse the same way.
	perWindow := map[string]int{}
	for _, w := range latest {
		perWindow["feature_histograms"] += 2 // age has no histogram
		perWindow["data_quality"] += 3
		perWindow["window_performance"] += 1 + len(w.Performance.PerClass)
		perWindow["window_latency"]++
	}
	perWindow["alerts"] = len(f.alerts)
	for tbl, want := range perWindow {
		if got := queryUint(t, conn, "SELECT count() FROM "+db+"."+tbl+" FINAL"); got != uint64(want) {
			t.Errorf("%s FINAL: %d rows, want %d", tbl, got, want)
		}
	}
	// After OPTIMIZE FINAL the duplicates are gone from disk too.
	if err := conn.Exec(context.Background(), "OPTIMIZE TABLE "+db+".window_metrics FINAL"); err != nil {
		t.Fatal(err)
	}
	if got := queryUint(t, conn, "SELECT count() FROM "+db+".window_metrics"); got != uint64(wantMetrics) {
		t.Errorf("after OPTIMIZE FINAL: %d rows, want %d", got, wantMetrics)
	}

	// Thresholds: psi above 0.2 is drifted, ks.p_value below 0.05 is drifted.
	q = "SELECT countIf(drifted = 1 AND value <= 0.2) + countIf(drifted = 0 AND value > 0.2) + countIf(threshold IS NULL) FROM " + db + ".window_metrics WHERE metric = 'psi'"
	if bad := queryUint(t, conn, q); bad != 0 {
		t.Errorf("%d psi rows with a wrong drifted flag or no threshold", bad)
	}
	if n := queryUint(t, conn, "SELECT countIf(threshold IS NOT NULL) FROM "+db+".window_metrics WHERE metric NOT IN ('psi', 'ks.p_value')"); n != 0 {
		t.Errorf("%d rows of metrics without a threshold have one", n)
	}
	if n := queryUint(t, conn, "SELECT countIf(drifted = 1) FROM "+db+".window_metrics FINAL WHERE metric = 'ks.p_value' AND value >= 0.05"); n != 0 {
		t.Errorf("%d ks.p_value rows at or above 0.05 flagged drifted", n)
	}
	if got := testutil.ToFloat64(c.m.rows.WithLabelValues("window_metrics")); got != float64(raw) {
		t.Errorf("rows_written_total{window_metrics} = %v, want %d", got, raw)
	}
	if n, err := testutil.GatherAndCount(reg, "driftd_clickhouse_insert_duration_seconds"); err != nil || n == 0 {
		t.Errorf("insert latency histogram not exported: %d series, %v", n, err)
	}
}

// TestNonRetryableIntegration: a schema problem returns at once with a
// clear error instead of blocking.
func TestNonRetryableIntegration(t *testing.T) {
	cfg := testConfig(t)
	cfg.RetryInitial = time.Second
	conn := migrated(t, cfg)
	c, _ := openSink(t, cfg)
	if err := conn.Exec(context.Background(), "DROP TABLE "+cfg.Database+".window_metrics"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := c.WriteWindows(context.Background(), newFixture(time.Now()).windows[:1])
	if !errors.Is(err, ErrNotRetryable) {
		t.Fatalf("got %v, want ErrNotRetryable", err)
	}
	if !strings.Contains(err.Error(), "schema error") || !strings.Contains(err.Error(), "window_metrics") {
		t.Errorf("error does not say what and where: %v", err)
	}
	if d := time.Since(start); d > cfg.RetryInitial {
		t.Errorf("returned after %s: it retried", d)
	}
	if got := testutil.ToFloat64(c.m.errors.WithLabelValues("window_metrics", reasonSchema)); got != 1 {
		t.Errorf("errors_total{reason=schema} = %v, want 1", got)
	}
}

// TestGroupCommitIntegration: concurrent small writes share INSERTs and
// every caller returns only after its rows are stored.
func TestGroupCommitIntegration(t *testing.T) {
	cfg := testConfig(t)
	cfg.FlushInterval = 200 * time.Millisecond
	conn := migrated(t, cfg)
	c, _ := openSink(t, cfg)
	f := newFixture(time.Now())
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			for j := i; j < len(f.windows); j += writers {
				if err := c.WriteWindows(context.Background(), f.windows[j:j+1]); err != nil {
					errs[i] = err
					return
				}
				// Durable on return: this window's rows are readable now.
				w := f.windows[j]
				q := fmt.Sprintf("SELECT count() FROM %s.window_metrics WHERE model = '%s' AND model_version = '%s' AND window_start = toDateTime(%d) AND window_end = toDateTime(%d)",
					cfg.Database, w.ID.Model, w.ID.Version, w.ID.Start.Unix(), w.ID.End.Unix())
				if got := queryUint(t, conn, q); got != uint64(len(w.Metrics())) {
					errs[i] = fmt.Errorf("window %v: %d rows readable after return, want %d", w.ID, got, len(w.Metrics()))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	batches := testutil.ToFloat64(c.m.batches.WithLabelValues("window_metrics"))
	if batches >= float64(len(f.windows)) {
		t.Errorf("%v window_metrics batches for %d single-window writes: nothing was coalesced", batches, len(f.windows))
	}
	t.Logf("%d single-window writes from %d goroutines took %v window_metrics batches", len(f.windows), writers, batches)
}

func TestWriteEmptyIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	c, _ := openSink(t, cfg)
	ctx := context.Background()
	if err := errors.Join(c.WriteWindows(ctx, nil), c.WriteRejects(ctx, nil),
		c.RecordAlerts(ctx, nil), c.RecordDeliveries(ctx, nil)); err != nil {
		t.Fatal(err)
	}
	// A window with nothing measured still records events and coverage.
	w := processor.WindowResult{ID: processor.WindowID{Model: "m", Version: "v", Start: time.Unix(3600, 0), End: time.Unix(7200, 0)}, Revision: 1, Events: 7}
	if err := c.WriteWindows(ctx, []processor.WindowResult{w}); err != nil {
		t.Fatal(err)
	}
}

// TestAuthErrorIntegration: wrong credentials fail Open at once, classified
// as auth (not retried).
func TestAuthErrorIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	cfg.Username = "driftd_no_such_user"
	cfg.Password = "wrong"
	start := time.Now()
	_, err := Open(context.Background(), cfg, zerolog.Nop(), nil)
	if err == nil {
		t.Fatal("Open with an unknown user succeeded")
	}
	if reason, retryable := classify(err); reason != reasonAuth || retryable {
		t.Errorf("classified %v as %s (retryable %v), want auth", err, reason, retryable)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error shows the password: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestBadDataIntegration: a value the column refuses fails the write at
// once as bad_data.
func TestBadDataIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	c, _ := openSink(t, cfg)
	// A table definition whose values do not fit the columns, as a future
	// schema/code mismatch would produce.
	broken := table[processor.RejectStat]{name: "rejected_events", columns: "minute, topic, reason, count",
		values: func(r *processor.RejectStat) []any { return []any{r.Minute, r.Topic, r.Reason, "not a number"} }}
	err := insert(context.Background(), c, &broken, []processor.RejectStat{{Minute: time.Now(), Topic: "t", Reason: "r", Count: 1}})
	if !errors.Is(err, ErrNotRetryable) || !strings.Contains(err.Error(), "bad_data error") {
		t.Fatalf("got %v, want a non-retryable bad_data error", err)
	}
	if !strings.Contains(err.Error(), "appending row 0") {
		t.Errorf("error does not name the row: %v", err)
	}
}

// TestRetentionIntegration: a configured retention becomes a TTL where the
// server has TTL, and a logged warning (not an error) on 18.16.
func TestRetentionIntegration(t *testing.T) {
	cfg := testConfig(t)
	cfg.Retention = 90 * 24 * time.Hour
	var logs strings.Builder
	if _, _, err := Migrate(context.Background(), cfg, zerolog.New(&logs)); err != nil {
		t.Fatalf("migrate with retention: %v", err)
	}
	conn := migrated(t, cfg)
	var version, create string
	if err := conn.QueryRow(context.Background(), "SELECT version()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(context.Background(), "SHOW CREATE TABLE "+cfg.Database+".window_metrics").Scan(&create); err != nil {
		t.Fatal(err)
	}
	if supportsTTL(version) {
		if !strings.Contains(create, "TTL window_start") {
			t.Errorf("server %s: no TTL in %s", version, create)
		}
		return
	}
	if strings.Contains(create, "TTL") || !strings.Contains(logs.String(), "retention not applied") {
		t.Errorf("server %s: want no TTL and a warning; table %s; logs %s", version, create, logs.String())
	}
}
