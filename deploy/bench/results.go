package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// Results is what one `make bench` run measured; it is written as JSON to
// BENCH_OUT. Pointers are null when the figure could not be measured, and
// the matching *_error or *_note field says why.
type Results struct {
	Events      int64 `json:"events"` // predictions + outcomes written to Kafka
	Predictions int64 `json:"predictions"`
	Outcomes    int64 `json:"outcomes"`
	Partitions  int   `json:"partitions"`
	Windows     int   `json:"windows"` // tumbling windows closed by events (latency samples)

	ProduceEventsPerS float64 `json:"produce_events_per_s"` // driftd simulate into Kafka, for context

	// CeilingEventsPerS is the fastest of CeilingRuns (before and after
	// each driftd run), and CeilingSeconds its time.
	CeilingEventsPerS float64   `json:"ceiling_events_per_s"`
	CeilingSeconds    float64   `json:"ceiling_seconds"`
	CeilingRuns       []float64 `json:"ceiling_runs_events_per_s"`

	// DriftdEventsPerS is the fastest of DriftdRuns; the figures below
	// (CPU, latencies, RSS) are that run's.
	DriftdEventsPerS float64   `json:"driftd_events_per_s"`
	DriftdRuns       []float64 `json:"driftd_runs_events_per_s"`
	DriftdSeconds    float64   `json:"driftd_seconds"`
	// DriftdStartupSeconds is from process start to its first consumed
	// message (group join, baseline load), not counted in the rate.
	DriftdStartupSeconds float64 `json:"driftd_startup_seconds"`
	FractionOfCeiling    float64 `json:"fraction_of_ceiling"`
	RejectedEvents       float64 `json:"rejected_events"`

	// CPU per event, in µs, over the span each rate is measured on: the
	// box is shared with the broker, so the rates hide where the time
	// goes. Broker figures are 0 when its pid file was not found.
	CeilingCPUMicrosPerEvent       float64 `json:"ceiling_cpu_us_per_event"`
	CeilingBrokerCPUMicrosPerEvent float64 `json:"ceiling_broker_cpu_us_per_event"`
	DriftdCPUMicrosPerEvent        float64 `json:"driftd_cpu_us_per_event"`
	DriftdBrokerCPUMicrosPerEvent  float64 `json:"driftd_broker_cpu_us_per_event"`
	// ClickHouse's CPU while driftd runs: driftd's inserts and merges, and
	// the bench's own polling for visible windows (every 100 ms).
	DriftdClickHouseCPUMicrosPerEvent float64 `json:"driftd_clickhouse_cpu_us_per_event"`

	WindowToClickHouseP50Ms *float64 `json:"window_to_clickhouse_p50_ms"`
	WindowToClickHouseP99Ms *float64 `json:"window_to_clickhouse_p99_ms"`
	WindowToClickHouseMaxMs *float64 `json:"window_to_clickhouse_max_ms"`
	WindowToWebhookP50Ms    *float64 `json:"window_to_webhook_p50_ms"`
	WindowToWebhookP99Ms    *float64 `json:"window_to_webhook_p99_ms"`
	CreatedToWebhookP99Ms   *float64 `json:"created_to_webhook_p99_ms"`
	Notifications           int      `json:"notifications"`
	NotifiedWindows         int      `json:"notified_windows"` // latency samples: first notification per window
	NotificationsVerified   int      `json:"notifications_verified"`
	WebhookNote             string   `json:"webhook_note,omitempty"`

	PeakRSSBytes int64 `json:"peak_rss_bytes"`

	PeerRows              int64    `json:"peer_rows"`
	DriftdCompareRowsPerS *float64 `json:"driftd_compare_rows_per_s"`
	CompareError          string   `json:"compare_error,omitempty"`
	EvidentlyRowsPerS     *float64 `json:"evidently_rows_per_s"`
	EvidentlyError        string   `json:"evidently_error,omitempty"`
	EvidentlyVersion      string   `json:"evidently_version,omitempty"`
	ScipyRowsPerS         *float64 `json:"scipy_rows_per_s"`
	ScipyError            string   `json:"scipy_error,omitempty"`
	SpeedupVsEvidently    *float64 `json:"speedup_vs_evidently"`
	SpeedupVsScipy        *float64 `json:"speedup_vs_scipy"`

	Machine Machine `json:"machine"`
	Started string  `json:"started"`
	Seconds float64 `json:"total_seconds"`
}

// Machine describes where the figures were taken; the box is shared, so
// the load average before and after belongs with every number.
type Machine struct {
	NProc      int    `json:"nproc"`
	CPU        string `json:"cpu"`
	MemBytes   int64  `json:"mem_bytes"`
	LoadBefore string `json:"load_average_before"`
	LoadAfter  string `json:"load_average_after"`
	// LoadMax1 is the highest 1-minute load average sampled (every 5 s)
	// during the run.
	LoadMax1    float64 `json:"load_average_1m_max"`
	GoVersion   string  `json:"go_version"`
	DriftdBuild string  `json:"driftd_version"`
}

// percentile is the nearest-rank percentile (p in (0, 100]) of xs; false
// when xs is empty. Nearest rank keeps p99 of a few dozen windows an
// observed value rather than an interpolation past the largest sample.
func percentile(xs []float64, p float64) (float64, bool) {
	if len(xs) == 0 || p <= 0 || p > 100 {
		return 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1], true
}

func percentilePtr(xs []float64, p float64) *float64 {
	v, ok := percentile(xs, p)
	if !ok {
		return nil
	}
	return &v
}

func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *b == 0 {
		return nil
	}
	v := *a / *b
	return &v
}

func ptr(v float64) *float64 { return &v }

// setDriftd takes the figures of driftd run er.
func (r *Results) setDriftd(er *e2eResult) {
	r.DriftdSeconds, r.DriftdStartupSeconds = seconds(er.elapsed), seconds(er.startup)
	r.DriftdEventsPerS = float64(r.Events) / er.elapsed.Seconds()
	r.RejectedEvents = er.rejected
	r.DriftdCPUMicrosPerEvent = 1e6 * er.cpu / float64(r.Events)
	r.DriftdBrokerCPUMicrosPerEvent = 1e6 * er.brokerCPU / float64(r.Events)
	r.DriftdClickHouseCPUMicrosPerEvent = 1e6 * er.clickhouseCPU / float64(r.Events)
	r.Windows = len(er.toClickHouse)
	r.WindowToClickHouseP50Ms = percentilePtr(er.toClickHouse, 50)
	r.WindowToClickHouseP99Ms = percentilePtr(er.toClickHouse, 99)
	r.WindowToClickHouseMaxMs = percentilePtr(er.toClickHouse, 100)
	r.WindowToWebhookP50Ms = percentilePtr(er.toWebhook, 50)
	r.WindowToWebhookP99Ms = percentilePtr(er.toWebhook, 99)
	r.CreatedToWebhookP99Ms = percentilePtr(er.createdToWebhook, 99)
	r.Notifications, r.NotificationsVerified = er.notifications, er.verified
	r.NotifiedWindows = len(er.toWebhook)
	r.WebhookNote = ""
	if er.notifications == 0 {
		r.WebhookNote = "no notification arrived (is the alerts section wired into driftd run at this commit?)"
	}
	r.PeakRSSBytes = er.peakRSS
}

// finish derives the ratios from the measured figures.
func (r *Results) finish() {
	if r.CeilingEventsPerS > 0 {
		r.FractionOfCeiling = r.DriftdEventsPerS / r.CeilingEventsPerS
	}
	r.SpeedupVsEvidently = ratio(r.DriftdCompareRowsPerS, r.EvidentlyRowsPerS)
	r.SpeedupVsScipy = ratio(r.DriftdCompareRowsPerS, r.ScipyRowsPerS)
}

// writeJSON writes the results to path, indented, replacing the file.
func (r *Results) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

// writeTable prints the one table of a run as Markdown, so it can be
// pasted into docs/benchmarks.md as it is.
func (r *Results) writeTable(w io.Writer) {
	rows := [][3]string{
		{"events (predictions + outcomes, 20 features)", count(float64(r.Events)),
			fmt.Sprintf("%d-partition topics; one model, so one partition pair carries the traffic", r.Partitions)},
		{"consume-only kafka-go ceiling", rate(r.CeilingEventsPerS, "events/s"),
			fmt.Sprintf("consumer group, FetchMessage, commit at the end; %.1f s; the fastest of %s, one before the first driftd run and one after each", r.CeilingSeconds, runList(r.CeilingRuns))},
		{"driftd end to end (Kafka → windows → ClickHouse)", rate(r.DriftdEventsPerS, "events/s"),
			fmt.Sprintf("%.1f s from first message to the last consumed; startup %.1f s not counted; the fastest of %s, each from scratch (new group, database, state); the rows below are its", r.DriftdSeconds, r.DriftdStartupSeconds, runList(r.DriftdRuns))},
		{"driftd as a fraction of the ceiling", fmt.Sprintf("%.0f %%", 100*r.FractionOfCeiling), ""},
		{"CPU per event: consume-only loop / driftd", fmt.Sprintf("%.2f / %.2f µs", r.CeilingCPUMicrosPerEvent, r.DriftdCPUMicrosPerEvent),
			"user + system, over the span each rate is measured on"},
		{"Kafka broker CPU per event, during each", brokerCPU(r.CeilingBrokerCPUMicrosPerEvent, r.DriftdBrokerCPUMicrosPerEvent),
			"the broker shares the machine's cores with the consumer"},
		{"ClickHouse CPU per event, during driftd", fmt.Sprintf("%.2f µs", r.DriftdClickHouseCPUMicrosPerEvent),
			"driftd's inserts and their merges, and the bench polling for visible windows every 100 ms"},
		{"window close → rows in ClickHouse, p50 / p99", ms2(r.WindowToClickHouseP50Ms, r.WindowToClickHouseP99Ms),
			fmt.Sprintf("%d windows; close = driftd consuming the prediction that closes it", r.Windows)},
		{"window close → webhook received, p50 / p99", ms2(r.WindowToWebhookP50Ms, r.WindowToWebhookP99Ms), r.webhookNote()},
		{"peak RSS of driftd (VmHWM)", mib(r.PeakRSSBytes), ""},
		{"driftd compare, same rows (batch)", rowsPerS(r.DriftdCompareRowsPerS, r.CompareError),
			fmt.Sprintf("%s current rows, CSV parse included", count(float64(r.PeerRows)))},
		{"numpy/scipy (deploy/bench/peers.py)", rowsPerS(r.ScipyRowsPerS, r.ScipyError), speedup(r.SpeedupVsScipy)},
		{strings.TrimSpace("Evidently " + r.EvidentlyVersion), rowsPerS(r.EvidentlyRowsPerS, r.EvidentlyError), speedup(r.SpeedupVsEvidently)},
	}
	fmt.Fprintln(w, "| measure | value | note |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", row[0], row[1], row[2])
	}
}

func (r *Results) webhookNote() string {
	if r.WebhookNote != "" {
		return r.WebhookNote
	}
	return fmt.Sprintf("%d windows notified (firing or resolved); %d notifications, %d with a valid signature",
		r.NotifiedWindows, r.Notifications, r.NotificationsVerified)
}

// count formats n with thousands separators.
func count(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func rate(v float64, unit string) string { return count(v) + " " + unit }

func rowsPerS(v *float64, errText string) string {
	if v == nil {
		if errText == "" {
			errText = "not measured"
		}
		return "n/a (" + errText + ")"
	}
	return rate(*v, "rows/s")
}

func speedup(v *float64) string {
	if v == nil {
		return "driftd compare speed-up: n/a"
	}
	return fmt.Sprintf("driftd compare is %.1f× faster", *v)
}

func ms2(a, b *float64) string {
	f := func(v *float64) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.0f ms", *v)
	}
	return f(a) + " / " + f(b)
}

func mib(b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

func brokerCPU(ceiling, driftd float64) string {
	if ceiling == 0 && driftd == 0 {
		return "n/a (no broker pid file)"
	}
	return fmt.Sprintf("%.2f / %.2f µs", ceiling, driftd)
}

// ceilingRuns lists the ceiling's runs: "2 runs (600,000 before driftd,
// 580,000 after)".
// runList lists the rates of a side's runs, in the order they ran.
func runList(runs []float64) string {
	switch len(runs) {
	case 0:
		return "no run"
	case 1:
		return "1 run"
	}
	parts := make([]string, len(runs))
	for i, r := range runs {
		parts[i] = count(r)
	}
	return fmt.Sprintf("%d runs (%s)", len(runs), strings.Join(parts, ", "))
}
