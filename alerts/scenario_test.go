package alerts

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/stats"
)

var update = flag.Bool("update", false, "rewrite testdata/scenarios/*.golden")

// scenario is a data-driven alerting case: a config, a sequence of windows
// (fed one WriteWindows call each, optionally restarting the engine) and
// the notifications expected in the .golden file beside it.
type scenario struct {
	Config  Config           `yaml:"config"`
	Windows []scenarioWindow `yaml:"windows"`
}

type scenarioWindow struct {
	I        int                `yaml:"i"`
	Revision uint64             `yaml:"revision"`
	Count    int64              `yaml:"count"` // feature sample size, default 1000
	PSI      map[string]float64 `yaml:"psi"`
	F1       *float64           `yaml:"f1"`
	Support  int64              `yaml:"support"`
	Restart  bool               `yaml:"restart"` // reopen the engine before this window
	// Span in hours, default 1; a rolling view ending with window I spans
	// windows I-Span+1..I.
	Span int `yaml:"span"`
}

func (w scenarioWindow) result() processor.WindowResult {
	r := window(w.I)
	if w.Span > 1 {
		r.ID.Start = r.ID.End.Add(-time.Duration(w.Span) * time.Hour)
	}
	if w.Revision > 0 {
		r.Revision = w.Revision
	}
	count := w.Count
	if count == 0 {
		count = 1000
	}
	for f, v := range w.PSI {
		psi(f, v, count)(&r)
	}
	if w.F1 != nil {
		r.Performance = &stats.PerformanceReport{Task: stats.Binary, Support: w.Support, F1: w.F1}
	}
	return r
}

func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/scenarios/*.yaml")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var sc scenario
			dec := yaml.NewDecoder(strings.NewReader(string(data)))
			dec.KnownFields(true)
			if err := dec.Decode(&sc); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := runScenario(t, sc)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func runScenario(t *testing.T, sc scenario) string {
	dir := t.TempDir()
	e := newEngine(t, sc.Config, dir, Options{})
	for _, w := range sc.Windows {
		if w.Restart {
			e.Close()
			e = newEngine(t, sc.Config, dir, Options{})
		}
		write(t, e, w.result())
	}
	defer e.Close()
	var ds []*delivery
	e.q.mu.Lock()
	for _, d := range e.q.items {
		ds = append(ds, d)
	}
	e.q.mu.Unlock()
	slices.SortFunc(ds, before)
	var b strings.Builder
	for _, d := range ds {
		n := &d.Notification
		fmt.Fprintf(&b, "%s %s w%d-%d r%d:", d.Target, n.Kind, int(n.Window.Start.Sub(t0).Hours()),
			int(n.Window.End.Sub(t0).Hours()), n.Window.Revision)
		var parts []string
		for _, a := range n.Alerts {
			p := fmt.Sprintf(" %s/%s=%g@w%d", a.Rule, a.Feature, a.Value, int(a.StartsAt.Sub(t0).Hours()))
			if a.Repeat {
				p += "(repeat)"
			}
			parts = append(parts, p)
		}
		sort.Strings(parts)
		b.WriteString(strings.Join(parts, "") + "\n")
	}
	return b.String()
}
