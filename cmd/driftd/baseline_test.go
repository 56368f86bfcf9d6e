package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBaselineBuildThenCompare builds a profile from each fixture's
// baseline and compares the current file against it: every case of up to
// 10,000 baseline rows must reproduce expected.json exactly as the
// file-to-file compare does.
func TestBaselineBuildThenCompare(t *testing.T) {
	cases, _ := filepath.Glob("../../testdata/stats/*/expected.json")
	if len(cases) == 0 {
		t.Fatal("no fixtures")
	}
	for _, exp := range cases {
		dir := filepath.Dir(exp)
		if strings.HasSuffix(dir, "large_200k") {
			continue // beyond the sketch's exact limit: see the stats tests
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, _ := os.ReadFile(filepath.Join(dir, "args"))
			args := strings.Fields(string(raw))
			prof := filepath.Join(t.TempDir(), "p.json")
			build := append([]string{"baseline", "build", "--input", filepath.Join(dir, "baseline.csv"),
				"--model", "m", "--version", "v1", "-o", prof}, args...)
			if code, _, e := runCaptured(t, build...); code != 0 {
				t.Fatalf("baseline build: exit %d: %s", code, e)
			}
			cmp := append([]string{"compare", "--baseline", prof, "--current", filepath.Join(dir, "current.csv")}, args...)
			code, out, e := runCaptured(t, cmp...)
			if code != 0 {
				t.Fatalf("compare: exit %d: %s", code, e)
			}
			var got, want map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			wb, _ := os.ReadFile(exp)
			if err := json.Unmarshal(wb, &want); err != nil {
				t.Fatal(err)
			}
			for _, p := range diff(want, got, "", false) {
				t.Error(p)
			}
		})
	}
}

func TestBaselineBuildUsage(t *testing.T) {
	for _, args := range [][]string{
		{"baseline"},
		{"baseline", "build", "--input", "x.csv"},
		{"baseline", "build", "--input", "x.csv", "--model", "m", "--version", "1", "-o", filepath.Join(t.TempDir(), "p.json")},
	} {
		code, out, errOut := runCaptured(t, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing, one line", args, code, out, errOut)
		}
	}
}
