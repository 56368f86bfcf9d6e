package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestSimulateExitCodes(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join("..", "..", "testdata", "scenarios", "demo.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("duration: 1m\nmodels: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "events.jsonl")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"unknown flag", []string{"--bogus"}, 2},
		{"stray argument", []string{"extra"}, 2},
		{"bad event rate", []string{"--event-rate", "fast"}, 2},
		{"bad start", []string{"--start", "yesterday", "--out-file", out}, 2},
		{"invalid scenario", []string{"--scenario", bad, "--out-file", out}, 2},
		{"missing scenario", []string{"--scenario", filepath.Join(dir, "absent.yaml")}, 2},
		{"outcomes without out-file", []string{"--outcomes-file", out}, 2},
		{"training-only without dir", []string{"--training-only"}, 2},
		{"file mode", []string{"--scenario", demo, "--duration", "10s", "--event-rate", "3/s", "--out-file", out, "--training-out", dir, "--training-rows", "10"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runSimulate(tt.args); got != tt.want {
				t.Fatalf("exit %d, want %d", got, tt.want)
			}
		})
	}
	// 10 s at 3 rows/s: 30 rows, scored twice for fraud, once for churn.
	if n := lines(t, out); n != 90 {
		t.Errorf("%d predictions, want 90", n)
	}
	if n := lines(t, filepath.Join(dir, "events.outcomes.jsonl")); n != 90 {
		t.Errorf("%d outcomes, want 90", n)
	}
	if n := lines(t, filepath.Join(dir, "fraud_v2.csv")); n != 11 {
		t.Errorf("%d training lines, want a header and 10 rows", n)
	}
}

func lines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

// The training CSVs are what `driftd baseline build` expects.
func TestSimulateTrainingBuildsBaselines(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join("..", "..", "testdata", "scenarios", "demo.yaml")
	if got := runSimulate([]string{"--scenario", demo, "--training-out", dir, "--training-only", "--training-rows", "3000"}); got != 0 {
		t.Fatalf("simulate exit %d", got)
	}
	for _, mv := range [][2]string{{"fraud", "v1"}, {"fraud", "v2"}, {"churn", "v1"}} {
		profile := filepath.Join(dir, mv[0]+"_"+mv[1]+".json")
		args := []string{"baseline", "build", "--input", filepath.Join(dir, mv[0]+"_"+mv[1]+".csv"),
			"--model", mv[0], "--version", mv[1], "--target", "target", "--prediction", "prediction", "--score", "score", "-o", profile}
		if got := run(args); got != 0 {
			t.Fatalf("%v: exit %d", args, got)
		}
		var p struct {
			Rows        int `json:"rows"`
			Features    []struct{ Name, Type string }
			Performance struct {
				Task string  `json:"task"`
				F1   float64 `json:"f1"`
			} `json:"performance"`
		}
		data, err := os.ReadFile(profile)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatal(err)
		}
		// 10 inputs plus the label distribution (stats.TargetFeature).
		if p.Rows != 3000 || len(p.Features) != 11 || p.Performance.Task != "binary" || !(p.Performance.F1 > 0.6) {
			t.Errorf("%s/%s profile: %d rows, %d features, performance %+v", mv[0], mv[1], p.Rows, len(p.Features), p.Performance)
		}
	}
}
