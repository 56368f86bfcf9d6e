package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func init() {
	commands["report"] = command{summary: "summarise drift and performance history from ClickHouse (text and HTML)", run: runReport}
}

// reportOptions select what the report reads.
type reportOptions struct {
	addr, database, username string
	model                    string
	metric                   string
	html                     string
	timeout                  time.Duration
}

func runReport(args []string) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o reportOptions
	fs.StringVar(&o.addr, "clickhouse", "127.0.0.1:9000", "ClickHouse native `ADDR`")
	fs.StringVar(&o.database, "database", "driftd", "ClickHouse database")
	fs.StringVar(&o.username, "username", "default", "ClickHouse user (password from DRIFTD_CLICKHOUSE_PASSWORD)")
	fs.StringVar(&o.model, "model", "", "only this model (default: all)")
	fs.StringVar(&o.metric, "metric", "psi", "drift measure to chart per feature")
	fs.StringVar(&o.html, "html", "", "also write an HTML report with charts to `FILE`")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "query timeout")
	if err := parseFlags(fs, args); err != nil {
		return usageError("report", fs, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	hist, err := readHistory(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "driftd report: %s\n", oneLine(err))
		return 1
	}
	if len(hist.windows) == 0 {
		fmt.Fprintf(os.Stderr, "driftd report: no windows in %s.window_performance yet\n", o.database)
		return 1
	}
	writeTextReport(os.Stdout, hist, o.metric)
	if o.html != "" {
		if err := writeHTMLFile(o.html, hist, o.metric); err != nil {
			fmt.Fprintf(os.Stderr, "driftd report: %s\n", oneLine(err))
			return 1
		}
		fmt.Printf("\nHTML report: %s\n", o.html)
	}
	return 0
}

// history is what the report shows, read from the sink's tables.
type history struct {
	// windows are the (model, version, window start) keys in time order.
	windows []windowKey
	perf    map[windowKey]perfPoint
	// drift[model/version][feature][window start] = value of the charted measure
	drift map[string]map[string]map[time.Time]float64
	// drifted marks points over their threshold.
	drifted map[string]map[string]map[time.Time]bool
}

type windowKey struct {
	model, version string
	start          time.Time
}

type perfPoint struct {
	f1, coverage    *float64
	events, support uint64
}

func (k windowKey) series() string { return k.model + "/" + k.version }

func readHistory(ctx context.Context, o reportOptions) (*history, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{o.addr},
		Auth: clickhouse.Auth{Database: o.database, Username: o.username,
			Password: os.Getenv("DRIFTD_CLICKHOUSE_PASSWORD")},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("opening clickhouse %s: %w", o.addr, err)
	}
	defer conn.Close()
	h := &history{perf: map[windowKey]perfPoint{},
		drift:   map[string]map[string]map[time.Time]float64{},
		drifted: map[string]map[string]map[time.Time]bool{}}

	// argMax over revision keeps the latest re-emission of each window
	// without relying on background merges or FINAL.
	rows, err := conn.Query(ctx, `SELECT model, model_version, window_start,
		argMax(f1, revision), argMax(label_coverage, revision), argMax(events, revision), argMax(support, revision)
		FROM window_performance
		WHERE class = '' AND (? = '' OR model = ?)
		GROUP BY model, model_version, window_start
		ORDER BY window_start, model, model_version`, o.model, o.model)
	if err != nil {
		return nil, fmt.Errorf("querying %s.window_performance: %w", o.database, err)
	}
	for rows.Next() {
		var k windowKey
		var p perfPoint
		var cov float64
		if err := rows.Scan(&k.model, &k.version, &k.start, &p.f1, &cov, &p.events, &p.support); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading window_performance: %w", err)
		}
		k.start = k.start.UTC()
		p.coverage = &cov
		h.windows = append(h.windows, k)
		h.perf[k] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading window_performance: %w", err)
	}

	rows, err = conn.Query(ctx, `SELECT model, model_version, feature, window_start,
		argMax(value, revision), argMax(drifted, revision)
		FROM window_metrics
		WHERE metric = ? AND (? = '' OR model = ?)
		GROUP BY model, model_version, feature, window_start
		ORDER BY model, model_version, feature, window_start`, o.metric, o.model, o.model)
	if err != nil {
		return nil, fmt.Errorf("querying %s.window_metrics: %w", o.database, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k windowKey
		var feature string
		var value float64
		var drifted uint8
		if err := rows.Scan(&k.model, &k.version, &feature, &k.start, &value, &drifted); err != nil {
			return nil, fmt.Errorf("reading window_metrics: %w", err)
		}
		s := k.series()
		if h.drift[s] == nil {
			h.drift[s] = map[string]map[time.Time]float64{}
			h.drifted[s] = map[string]map[time.Time]bool{}
		}
		if h.drift[s][feature] == nil {
			h.drift[s][feature] = map[time.Time]float64{}
			h.drifted[s][feature] = map[time.Time]bool{}
		}
		h.drift[s][feature][k.start.UTC()] = value
		h.drifted[s][feature][k.start.UTC()] = drifted == 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading window_metrics: %w", err)
	}
	return h, nil
}

// writeTextReport prints one line per window: events, F1, label coverage and
// the features whose measure crossed its threshold.
func writeTextReport(w io.Writer, h *history, metric string) {
	fmt.Fprintf(w, "%-20s %-8s %-17s %8s %6s %8s  %s\n", "window start (UTC)", "model", "version", "events", "f1", "labels", "drifted ("+metric+")")
	for _, k := range h.windows {
		p := h.perf[k]
		var drifted []string
		for _, f := range sortedStringKeys(h.drifted[k.series()]) {
			if h.drifted[k.series()][f][k.start] {
				drifted = append(drifted, fmt.Sprintf("%s=%.3f", f, h.drift[k.series()][f][k.start]))
			}
		}
		fmt.Fprintf(w, "%-20s %-8s %-17s %8d %6s %7.0f%%  %s\n", k.start.Format("2006-01-02 15:04"), k.model, k.version,
			p.events, formatOptional(p.f1), 100*deref(p.coverage), strings.Join(drifted, " "))
	}
}

func formatOptional(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *v)
}

func deref(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

func sortedStringKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
