package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/deploy/localrun"
)

func TestPercentileNearestRank(t *testing.T) {
	xs := []float64{50, 10, 40, 20, 30}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{50, 30}, {99, 50}, {100, 50}, {20, 10}, {21, 20}, {1, 10}} {
		got, ok := percentile(xs, tc.p)
		if !ok || got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, %v; want %v", xs, tc.p, got, ok, tc.want)
		}
	}
	if xs[0] != 50 {
		t.Errorf("percentile sorted its input in place: %v", xs)
	}
	for _, p := range []float64{0, -1, 101} {
		if _, ok := percentile(xs, p); ok {
			t.Errorf("percentile(p=%v) accepted", p)
		}
	}
	if _, ok := percentile(nil, 50); ok {
		t.Error("percentile of no samples reported a value")
	}
	if percentilePtr(nil, 99) != nil {
		t.Error("percentilePtr of no samples is not nil")
	}
}

func TestCountSeparatesThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -12345: "-12,345"} {
		if got := count(in); got != want {
			t.Errorf("count(%v) = %q, want %q", in, got, want)
		}
	}
}

// The JSON keys are the interface other tools read; a missing peer must be
// null, not absent or zero.
func TestResultsJSONKeys(t *testing.T) {
	r := &Results{Events: 200000, CeilingEventsPerS: 400000, DriftdEventsPerS: 100000,
		DriftdCompareRowsPerS: ptr(150000), ScipyRowsPerS: ptr(50000), EvidentlyError: "ImportError: no evidently"}
	r.finish()
	path := filepath.Join(t.TempDir(), "out.json")
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"events", "ceiling_events_per_s", "driftd_events_per_s", "fraction_of_ceiling",
		"window_to_clickhouse_p99_ms", "window_to_webhook_p99_ms", "peak_rss_bytes", "evidently_rows_per_s", "scipy_rows_per_s"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing from %s", k, b)
		}
	}
	if m["evidently_rows_per_s"] != nil || m["speedup_vs_evidently"] != nil {
		t.Errorf("a peer that did not run must be null: evidently %v, speed-up %v", m["evidently_rows_per_s"], m["speedup_vs_evidently"])
	}
	if m["window_to_webhook_p99_ms"] != nil {
		t.Errorf("an unmeasured latency must be null, got %v", m["window_to_webhook_p99_ms"])
	}
	if got := m["fraction_of_ceiling"].(float64); got != 0.25 {
		t.Errorf("fraction_of_ceiling = %v, want 0.25", got)
	}
	if got := m["speedup_vs_scipy"].(float64); got != 3 {
		t.Errorf("speedup_vs_scipy = %v, want 3", got)
	}
}

func TestTableSaysWhyAPeerIsMissing(t *testing.T) {
	r := &Results{Events: 2_000_000, Partitions: 4, CeilingEventsPerS: 400000, DriftdEventsPerS: 300000,
		WindowToClickHouseP50Ms: ptr(120), WindowToClickHouseP99Ms: ptr(1900), Windows: 24,
		DriftdCompareRowsPerS: ptr(150000), ScipyRowsPerS: ptr(50000), EvidentlyError: "ImportError: no evidently",
		PeakRSSBytes: 200 << 20, CeilingCPUMicrosPerEvent: 1.5, DriftdCPUMicrosPerEvent: 4.25, DriftdClickHouseCPUMicrosPerEvent: 0.5,
		CeilingRuns: []float64{400000, 390000, 380000}, DriftdRuns: []float64{300000, 290000}}
	r.finish()
	var buf bytes.Buffer
	r.writeTable(&buf)
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 15 {
		t.Fatalf("want a header, a rule and 13 rows, got %d lines:\n%s", len(lines), out)
	}
	for _, want := range []string{"| 2,000,000 |", "400,000 events/s", "| 75 % |", "120 ms / 1900 ms",
		"n/a (ImportError: no evidently)", "3.0× faster", "200 MiB", "n/a / n/a",
		"1.50 / 4.25 µs", "n/a (no broker pid file)", "| 0.50 µs |", "the fastest of 3 runs (400,000, 390,000, 380,000)", "the fastest of 2 runs (300,000, 290,000)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for i, l := range lines {
		if strings.Count(l, "|") != 4 {
			t.Errorf("line %d is not a 3-column Markdown row: %q", i+1, l)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP driftd_events_consumed_total Messages consumed, by topic.
# TYPE driftd_events_consumed_total counter
driftd_events_consumed_total{topic="p"} 1.5e+06
driftd_events_consumed_total{topic="o"} 42
driftd_events_rejected_total{reason="malformed_json",topic="p"} 3
driftd_events_rejected_total{reason="missing_field",topic="o"} 2
driftd_events_consumed_totalx{topic="p"} 99
go_goroutines 12
process_cpu_seconds_total 12.75
process_cpu_seconds_totalx 1
`
	consumed, rejected, cpu, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if consumed["p"] != 1.5e6 || consumed["o"] != 42 || len(consumed) != 2 {
		t.Errorf("consumed = %v", consumed)
	}
	if rejected != 5 {
		t.Errorf("rejected = %v, want 5", rejected)
	}
	if cpu != 12.75 {
		t.Errorf("cpu = %v, want 12.75", cpu)
	}
	if _, _, _, err := parseMetrics(strings.NewReader(`driftd_events_consumed_total{topic="p"} abc`)); err == nil {
		t.Error("a non-numeric value was accepted")
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (java (kafka) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 90 0 100 0 0"
	if got := parseStatCPU(stat); got != 3.25 {
		t.Errorf("parseStatCPU = %v, want 3.25 (utime 250 + stime 75 ticks)", got)
	}
	if got := parseStatCPU("garbage"); got != 0 {
		t.Errorf("parseStatCPU(garbage) = %v, want 0", got)
	}
}

func TestCrossingInterpolates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := []scrape{
		{at: t0, consumed: map[string]float64{"p": 0}},
		{at: t0.Add(100 * time.Millisecond), consumed: map[string]float64{"p": 100}},
		{at: t0.Add(200 * time.Millisecond), consumed: map[string]float64{"p": 300}},
	}
	got, ok := crossing(s, "p", 200)
	if want := t0.Add(150 * time.Millisecond); !ok || !got.Equal(want) {
		t.Errorf("crossing 200 = %v, %v; want %v", got, ok, want)
	}
	if _, ok := crossing(s, "p", 301); ok {
		t.Error("crossing a count never reached")
	}
	if got, _ := crossing(s, "p", 0); !got.Equal(t0) {
		t.Errorf("crossing 0 = %v, want the first scrape", got)
	}
}

func TestScanPredictionsClosesAndCSV(t *testing.T) {
	line := func(ts, num, cat string) string {
		return `{"event_id":"x","model":"m","model_version":"v1","ts":"` + ts +
			`","features":{"num_00":` + num + `,"cat_00":` + cat + `},"prediction":{"label":"0","score":0.1}}` + "\n"
	}
	in := line("2026-11-23T00:00:00.000Z", "1.5", `"c1"`) +
		line("2026-11-23T00:00:30.000Z", "null", `"c2"`) +
		line("2026-11-23T00:00:40.500Z", "2", "null") + // watermark 39.5 s: window 0 still open
		line("2026-11-23T00:00:41.000Z", "3", `"c1"`) + // watermark 40 s: closes window [0, 40)
		line("2026-11-23T00:01:25.000Z", "4", `"c3"`) // closes [40, 80)
	var csv bytes.Buffer
	info, err := scanPredictions(strings.NewReader(in), &csv, 3, 40*time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if info.rows != 5 {
		t.Errorf("rows = %d, want 5", info.rows)
	}
	base := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	wantCloses := []time.Time{base, base.Add(40 * time.Second)}
	wantAt := []int64{3, 4}
	if len(info.closes) != 2 || !info.closes[0].Equal(wantCloses[0]) || !info.closes[1].Equal(wantCloses[1]) ||
		info.closeAt[0] != wantAt[0] || info.closeAt[1] != wantAt[1] {
		t.Errorf("closes %v at %v; want %v at %v", info.closes, info.closeAt, wantCloses, wantAt)
	}
	if want := "num_00,cat_00\n1.5,c1\n,c2\n2,\n"; csv.String() != want {
		t.Errorf("CSV = %q, want %q", csv.String(), want)
	}
}

func TestScanPredictionsReportsTheLine(t *testing.T) {
	in := `{"ts":"2026-11-23T00:00:00Z","features":{"a":1}}` + "\n" + `{"ts":"yesterday","features":{"a":1}}` + "\n"
	_, err := scanPredictions(strings.NewReader(in), &bytes.Buffer{}, 10, time.Minute, 0)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want one naming line 2", err)
	}
	in = `{"ts":"2026-11-23T00:00:00Z","features":{"a":"x\"y"}}` + "\n"
	if _, err := scanPredictions(strings.NewReader(in), &bytes.Buffer{}, 10, time.Minute, 0); err == nil {
		t.Error("an escaped string was accepted")
	}
	in = `{"ts":"2026-11-23T00:00:00Z","features":{"a":1}}` + "\n" + `{"ts":"2026-11-23T00:00:01Z","features":{"b":1}}` + "\n"
	if _, err := scanPredictions(strings.NewReader(in), &bytes.Buffer{}, 10, time.Minute, 0); err == nil ||
		!strings.Contains(err.Error(), "line 2") {
		t.Errorf("a row with other features: err = %v", err)
	}
}

func TestMachineParsers(t *testing.T) {
	if got := parseVmHWM("Name:\tdriftd\nVmPeak:\t  900 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 1000 kB\n"); got != 200<<20 {
		t.Errorf("VmHWM = %d, want %d", got, 200<<20)
	}
	if got := parseVmHWM("Name:\tx\n"); got != 0 {
		t.Errorf("VmHWM without the line = %d", got)
	}
	if got := cpuModel("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: x\n"); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := memTotal("MemTotal:       24576000 kB\nMemFree: 1 kB\n"); got != 24576000<<10 {
		t.Errorf("memTotal = %d", got)
	}
}

func TestLatenciesFromClose(t *testing.T) {
	w0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	w1 := w0.Add(40 * time.Second)
	w2 := w1.Add(40 * time.Second)
	now := time.Unix(5000, 0)
	closed := map[time.Time]time.Time{w0: now, w1: now.Add(time.Second)}
	visible := map[time.Time]time.Time{w0: now.Add(300 * time.Millisecond), w1: now.Add(1500 * time.Millisecond),
		w2: now.Add(9 * time.Second)} // w2 closed by the idle timeout: no close time, not counted
	got := sinceClose(closed, visible)
	slices.Sort(got)
	if want := []float64{300, 500}; !slices.Equal(got, want) {
		t.Errorf("sinceClose = %v, want %v", got, want)
	}

	note := func(start time.Time, at, created time.Time) localrun.Receipt {
		var a localrun.Receipt
		a.At, a.Notification.Window.Start, a.Notification.CreatedAt = at, start, created
		return a
	}
	arrivals := []localrun.Receipt{
		note(w0, now.Add(400*time.Millisecond), now.Add(380*time.Millisecond)),
		note(w0, now.Add(900*time.Millisecond), now.Add(880*time.Millisecond)), // a second one for w0: not its first
		note(w1.In(time.FixedZone("x", 3600)), now.Add(2*time.Second), now.Add(1990*time.Millisecond)),
		note(w2, now.Add(10*time.Second), time.Time{}),
	}
	fromClose, fromCreated := webhookLatencies(arrivals, closed)
	if want := []float64{400, 1000}; !slices.Equal(fromClose, want) {
		t.Errorf("from close = %v, want %v", fromClose, want)
	}
	if want := []float64{20, 20, 10}; !slices.Equal(fromCreated, want) {
		t.Errorf("from created_at = %v, want %v", fromCreated, want)
	}
}
