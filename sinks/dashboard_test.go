package sinks

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

type dashboard struct {
	Panels []struct {
		Title      string `json:"title"`
		Datasource struct {
			Type string `json:"type"`
		} `json:"datasource"`
		Targets []struct {
			RawSQL string `json:"rawSql"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(tb testing.TB) dashboard {
	tb.Helper()
	b, err := os.ReadFile("../deploy/grafana/driftd-dashboard.json")
	if err != nil {
		tb.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		tb.Fatalf("deploy/grafana/driftd-dashboard.json: %v", err)
	}
	return d
}

func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	want := []string{"Drift per feature", "F1 per version", "Label coverage", "Alerts", "Rejected events"}
	for _, w := range want {
		found := false
		for _, p := range d.Panels {
			found = found || strings.HasPrefix(p.Title, w)
		}
		if !found {
			t.Errorf("no panel %q", w)
		}
	}
	for _, p := range d.Panels {
		if p.Datasource.Type != "grafana-clickhouse-datasource" {
			t.Errorf("panel %q uses datasource %q", p.Title, p.Datasource.Type)
		}
		if len(p.Targets) == 0 || !strings.Contains(p.Targets[0].RawSQL, "${database}.") {
			t.Errorf("panel %q has no query on ${database}", p.Title)
		}
		// Hourly windows and rolling views share the tables: a panel on
		// them must pick one span.
		if q := p.Targets[0].RawSQL; strings.Contains(q, ".window_") && !strings.Contains(q, "${span}") {
			t.Errorf("panel %q mixes window spans", p.Title)
		}
	}
}

var timeFilterRE = regexp.MustCompile(`\$__timeFilter\((\w+)\)`)

// TestDashboardQueriesIntegration runs every panel's query, with the
// variables and the time-filter macro expanded as the plugin would, on the
// fixture, and expects rows.
func TestDashboardQueriesIntegration(t *testing.T) {
	cfg := testConfig(t)
	cfg.Thresholds = MetricThresholds(map[string]Threshold{"psi": {Value: 0.2}})
	conn := migrated(t, cfg)
	c, _ := openSink(t, cfg)
	newFixture(time.Now()).write(t, c)
	expand := strings.NewReplacer("${database}", cfg.Database, "${model}", "fraud", "${version}", "v3", "${drift_metric}", "psi", "${span}", "3600")
	for _, p := range loadDashboard(t).Panels {
		q := timeFilterRE.ReplaceAllString(expand.Replace(p.Targets[0].RawSQL), "$1 >= now() - INTERVAL 7 DAY")
		if rows := runQuery(t, conn, q); len(rows) == 0 {
			t.Errorf("panel %q: no rows", p.Title)
		}
	}
}
