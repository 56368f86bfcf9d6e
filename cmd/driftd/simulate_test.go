package main

import (
	"bufio"
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
