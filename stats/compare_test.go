package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// caseOptions parses a fixture's args file (one flag or value per line).
func caseOptions(t *testing.T, dir string) TableOptions {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "args"))
	if err != nil {
		t.Fatal(err)
	}
	var o TableOptions
	lines := strings.Fields(string(raw))
	for i := 0; i+1 < len(lines); i += 2 {
		v := lines[i+1]
		switch lines[i] {
		case "--numeric":
			o.Numeric = strings.Split(v, ",")
		case "--categorical":
			o.Categorical = strings.Split(v, ",")
		case "--target":
			o.Target = v
		case "--prediction":
			o.Prediction = v
		case "--score":
			o.Score = v
		case "--task":
			o.Task = v
		case "--positive-label":
			o.PositiveLabel = v
		default:
			t.Fatalf("%s: unknown flag %s", dir, lines[i])
		}
	}
	return o
}

// TestCompareFixtures runs every reference case of testdata/stats through
// Compare and checks each field of expected.json with the contract's
// tolerances (the Go twin of check.py).
func TestCompareFixtures(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/stats/*/expected.json")
	if len(dirs) < 15 {
		t.Fatalf("found %d fixture cases, want 15", len(dirs))
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if testing.Short() && strings.Contains(dir, "large") {
				t.Skip("large case in -short mode")
			}
			rep, err := Compare(filepath.Join(dir, "baseline.csv"), nil, filepath.Join(dir, "current.csv"), caseOptions(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(gotJSON, &got); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(exp)
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			for _, p := range diffJSON(want, got, "", false) {
				t.Error(p)
			}
		})
	}
}

// diffJSON lists the fields of want that got does not match within the
// contract's tolerances.
func diffJSON(want, got any, path string, pvalue bool) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want object, got %v", path, got)}
		}
		var out []string
		for k, sub := range w {
			gs, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: absent", path, k))
				continue
			}
			out = append(out, diffJSON(sub, gs, path+"."+k, strings.HasSuffix(k, "p_value"))...)
		}
		return out
	case nil:
		if got != nil {
			return []string{fmt.Sprintf("%s: want null, got %v", path, got)}
		}
	case float64:
		g, ok := got.(float64)
		tol := 1e-9 + 1e-7*math.Abs(w)
		if pvalue {
			tol = 1e-9 + 1e-6*math.Abs(w)
		}
		if !ok || math.Abs(g-w) > tol {
			return []string{fmt.Sprintf("%s: want %v, got %v", path, w, got)}
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return []string{fmt.Sprintf("%s: want %v, got %v", path, want, got)}
		}
	}
	return nil
}
