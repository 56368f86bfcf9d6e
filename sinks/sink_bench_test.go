package sinks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/stats"
)

const (
	benchFeatures      = 20
	benchWindowsPerOp  = 100
	benchHistogramBins = 10
)

// benchWindow is a realistic window: 20 numeric features with every drift
// measure and a 10-bin histogram, binary performance with two classes.
func benchWindow(i int) processor.WindowResult {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	feats := make(map[string]stats.FeatureReport, benchFeatures)
	edges := make([]float64, benchHistogramBins-1)
	for j := range edges {
		edges[j] = float64(j * 10)
	}
	for j := range benchFeatures {
		v := func(k int) *float64 { return ptr(float64(i*31+j*7+k) / 1000) }
		cur := make([]int64, benchHistogramBins)
		base := make([]int64, benchHistogramBins)
		for k := range cur {
			cur[k], base[k] = int64(100+i%7*k), int64(100+k)
		}
		feats[fmt.Sprintf("feature_%02d", j)] = stats.FeatureReport{Type: stats.Numeric,
			Count:       stats.Pair[int64]{Baseline: 10000, Current: 5000 + int64(i%100)},
			MissingRate: stats.Pair[*float64]{Baseline: ptr(0), Current: v(1)},
			PSI:         v(2), KL: v(3), JS: v(4), Hellinger: v(5), LInf: v(6),
			KS: &stats.KSResult{Statistic: *v(7), PValue: *v(8)}, Wasserstein: v(9), WassersteinNormed: v(10),
			OutOfRangeRate: v(11),
			Histogram:      &stats.Histogram{Edges: edges, Baseline: base, Current: cur}}
	}
	return processor.WindowResult{
		ID:       processor.WindowID{Model: "bench", Version: "v1", Start: start, End: start.Add(time.Hour)},
		Revision: 1, BaselineID: "bench-v1", ClosedAt: start.Add(time.Hour), Events: 5000, Features: feats,
		Performance: &stats.PerformanceReport{Task: stats.Binary, Support: 2000, Accuracy: ptr(0.9), Precision: ptr(0.8),
			Recall: ptr(0.7), F1: ptr(0.75), ROCAUC: ptr(0.93), PerClass: map[string]stats.ClassReport{
				"0": {Precision: 0.95, Recall: 0.96, F1: 0.955, Support: 1800}, "1": {Precision: 0.8, Recall: 0.7, F1: 0.75, Support: 200}}},
		LabelCoverage: 0.4,
		Latency:       &processor.LatencySummary{Count: 5000, P50: 12, P95: 40, P99: 90},
	}
}

// BenchmarkWriteWindowsIntegration reports insert throughput in
// window_metrics rows per second (each op writes 100 windows of 20 features)
// and the bytes on disk per window per feature over all window tables as
// written (unmerged) and after OPTIMIZE FINAL, and for window_metrics alone.
func BenchmarkWriteWindowsIntegration(b *testing.B) {
	cfg := testConfig(b)
	conn := migrated(b, cfg)
	c, err := Open(context.Background(), cfg, zerolog.Nop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	batches := make([][]processor.WindowResult, b.N)
	metricRows := 0
	for n := range batches {
		batches[n] = make([]processor.WindowResult, benchWindowsPerOp)
		for i := range batches[n] {
			w := benchWindow(n*benchWindowsPerOp + i)
			batches[n][i] = w
			metricRows += len(w.Metrics())
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		if err := c.WriteWindows(ctx, batches[n]); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	b.ReportMetric(float64(metricRows)/elapsed.Seconds(), "metric-rows/s")

	windows := b.N * benchWindowsPerOp
	bytesOnDisk := func(table string) uint64 {
		q := fmt.Sprintf("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '%s' AND table = '%s' AND active", cfg.Database, table)
		return queryUint(b, conn, q)
	}
	var unmerged uint64
	for _, t := range windowTables {
		unmerged += bytesOnDisk(t)
	}
	b.ReportMetric(float64(unmerged)/float64(windows*benchFeatures), "unmerged-B/window-feature")
	var total uint64
	for _, t := range windowTables {
		optimizeFinal(b, conn, cfg.Database, t)
		n := bytesOnDisk(t)
		total += n
		b.Logf("%s: %d bytes on disk, %.1f per window per feature", t, n, float64(n)/float64(windows*benchFeatures))
		if t == "window_metrics" {
			b.ReportMetric(float64(n)/float64(windows*benchFeatures), "metrics-B/window-feature")
		}
	}
	b.ReportMetric(float64(total)/float64(windows*benchFeatures), "B/window-feature")
}

// optimizeFinal merges every partition of the table into one part: without
// PARTITION, 18.16 may leave partitions unmerged.
func optimizeFinal(tb testing.TB, conn driver.Conn, db, table string) {
	tb.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = ? AND active", db, table)
	if err != nil {
		tb.Fatal(err)
	}
	var parts []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			tb.Fatal(err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	for _, p := range parts {
		if err := conn.Exec(ctx, fmt.Sprintf("OPTIMIZE TABLE %s.%s PARTITION %s FINAL", db, table, p)); err != nil {
			tb.Fatal(err)
		}
	}
	q := fmt.Sprintf("SELECT count() FROM system.parts WHERE database = '%s' AND table = '%s' AND active", db, table)
	if n := queryUint(tb, conn, q); n != uint64(len(parts)) {
		tb.Fatalf("%s: %d active parts after OPTIMIZE FINAL of %d partitions", table, n, len(parts))
	}
}
