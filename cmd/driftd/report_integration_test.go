package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/driftd/driftd/internal/testservices"
	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/sinks"
	"github.com/driftd/driftd/stats"
)

// writeReportFixture writes six windows of one model through the real sink:
// feature "amount" drifts from the fourth window on, F1 falls with it.
func writeReportFixture(t *testing.T) reportOptions {
	t.Helper()
	addr := testservices.ClickHouse(t)
	db := testservices.Database(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := sinks.Config{Addr: []string{addr}, Database: db,
		Thresholds: sinks.MetricThresholds(map[string]sinks.Threshold{"psi": {Value: 0.2, Direction: sinks.Above}})}
	if _, _, err := sinks.Migrate(ctx, cfg, zerolog.Nop()); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	sink, err := sinks.Open(ctx, cfg, zerolog.Nop(), nil)
	if err != nil {
		t.Fatalf("opening sink: %v", err)
	}
	defer sink.Close()

	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var results []processor.WindowResult
	for i := 0; i < 6; i++ {
		psi, f1, stable := 0.01, 0.9, 0.02
		if i >= 3 {
			psi, f1 = 0.6, 0.4
		}
		feature := func(v float64) stats.FeatureReport {
			return stats.FeatureReport{Type: stats.Numeric, Count: stats.Pair[int64]{Baseline: 1000, Current: 100}, PSI: &v}
		}
		results = append(results, processor.WindowResult{
			ID:       processor.WindowID{Model: "fraud", Version: "v1", Start: start.Add(time.Duration(i) * time.Hour), End: start.Add(time.Duration(i+1) * time.Hour)},
			Revision: 1, BaselineID: "fraud/v1@test", ClosedAt: start.Add(time.Duration(i+1) * time.Hour), Events: 100,
			Features:      map[string]stats.FeatureReport{"amount": feature(psi), "country": feature(stable)},
			Performance:   &stats.PerformanceReport{Task: stats.Binary, Support: 80, F1: &f1},
			LabelCoverage: 0.8,
		})
	}
	if err := sink.WriteWindows(ctx, results); err != nil {
		t.Fatalf("writing windows: %v", err)
	}
	return reportOptions{addr: addr, database: db, username: "default", metric: "psi", timeout: 30 * time.Second}
}

func TestReportReadsSinkTablesIntegration(t *testing.T) {
	o := writeReportFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	h, err := readHistory(ctx, o)
	if err != nil {
		t.Fatalf("reading history: %v", err)
	}
	if len(h.windows) != 6 {
		t.Fatalf("read %d windows, want 6", len(h.windows))
	}
	var text bytes.Buffer
	writeTextReport(&text, h, "psi")
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 7 {
		t.Fatalf("text report has %d lines, want a header and 6 windows:\n%s", len(lines), text.String())
	}
	for i, line := range lines[1:] {
		drifted := strings.Contains(line, "amount=0.600")
		if drifted != (i >= 3) {
			t.Errorf("window %d line %q: amount listed as drifted = %v, want %v", i, line, drifted, i >= 3)
		}
		if strings.Contains(line, "country=") {
			t.Errorf("window %d line %q lists country, which never crossed its threshold", i, line)
		}
	}
	if !strings.Contains(lines[4], "0.400") || !strings.Contains(lines[1], "0.900") {
		t.Errorf("F1 column does not follow the written values:\n%s", text.String())
	}

	path := filepath.Join(t.TempDir(), "report.html")
	if err := writeHTMLFile(path, h, "psi"); err != nil {
		t.Fatalf("writing html: %v", err)
	}
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), `<svg class="chart"`); n != 2 {
		t.Errorf("html has %d charts, want 2 (performance, drift of fraud/v1)", n)
	}
	if n := strings.Count(string(html), "<circle"); n != 3 {
		t.Errorf("html marks %d drifted points, want 3", n)
	}
}

// TestReportOpensInChromiumIntegration renders the report in headless
// Chromium, as a person would open it, and checks the rendered page still
// has its charts and that a screenshot was produced.
func TestReportOpensInChromiumIntegration(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(testservices.EnvRequire) == "1" {
			t.Fatalf("chromium not found (make test installs Debian's chromium package): %v", err)
		}
		t.Skip("chromium not installed")
	}
	o := writeReportFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	h, err := readHistory(ctx, o)
	if err != nil {
		t.Fatalf("reading history: %v", err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := writeHTMLFile(page, h, "psi"); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	shot := filepath.Join(dir, "report.png")
	run := func(extra ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, append(append(flags, extra...), "file://"+page)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
		}
		return stdout.Bytes()
	}
	dom := run("--dump-dom")
	if n := len(regexp.MustCompile(`<svg class="chart"`).FindAll(dom, -1)); n != 2 {
		t.Errorf("rendered DOM has %d charts, want 2", n)
	}
	if n := len(regexp.MustCompile(`<polyline class="series"`).FindAll(dom, -1)); n < 4 {
		t.Errorf("rendered DOM has %d plotted series, want at least 4", n)
	}
	run("--screenshot="+shot, "--window-size=1000,900")
	info, err := os.Stat(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if info.Size() < 10_000 {
		t.Errorf("screenshot is %d bytes: the page rendered (nearly) empty", info.Size())
	}
}
