package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCaptured runs a driftd command line and returns its exit code,
// stdout and stderr.
func runCaptured(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = out, errf
	code := run(args)
	os.Stdout, os.Stderr = oldOut, oldErr
	out.Close()
	errf.Close()
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return code, string(o), string(e)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareBadInput(t *testing.T) {
	good := writeFile(t, "good.csv", "x,k\n1,a\n2,b\n")
	for _, c := range []struct {
		name  string
		args  func() []string
		where string // regexp the stderr line must match
	}{
		{"unparsable number", func() []string {
			return []string{"compare", "--baseline", good, "--current", writeFile(t, "cur.csv", "x,k\n1,a\nabc,b\n"), "--numeric", "x"}
		}, `cur\.csv:3:1: `},
		{"ragged csv", func() []string {
			return []string{"compare", "--baseline", writeFile(t, "b.csv", "x,k\n1,a\n2\n"), "--current", good}
		}, `b\.csv:3:1: `},
		{"bad json line", func() []string {
			return []string{"compare", "--baseline", good, "--current", writeFile(t, "c.jsonl", "{\"x\":1}\n{\"x\":tru}\n")}
		}, `c\.jsonl:2:6: `},
		{"missing file", func() []string {
			return []string{"compare", "--baseline", good, "--current", filepath.Join(t.TempDir(), "none.csv")}
		}, `none\.csv`},
		{"unknown target column", func() []string {
			return []string{"compare", "--baseline", good, "--current", good, "--target", "y", "--prediction", "k"}
		}, `good\.csv:1:1: no column "y"`},
		{"no current", func() []string { return []string{"compare", "--baseline", good} }, `--current`},
		{"unknown flag", func() []string { return []string{"compare", "--bogus"} }, `bogus`},
		{"bad task", func() []string {
			return []string{"compare", "--baseline", good, "--current", good, "--target", "k", "--prediction", "k", "--task", "ranking"}
		}, `ranking`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCaptured(t, c.args()...)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if strings.Count(errOut, "\n") != 1 || !regexp.MustCompile(c.where).MatchString(errOut) {
				t.Errorf("stderr %q, want one line matching %s", errOut, c.where)
			}
		})
	}
}

func TestCompareJSONLInput(t *testing.T) {
	b := writeFile(t, "b.jsonl", "{\"x\":1,\"k\":\"a\"}\n{\"x\":2,\"k\":\"b\"}\n{\"x\":null,\"k\":\"b\"}\n")
	c := writeFile(t, "c.csv", "k,x\na,1\nb,\nb,2\n")
	code, out, errOut := runCaptured(t, "compare", "--baseline", b, "--current", c)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Rows     map[string]int64 `json:"rows"`
		Features map[string]struct {
			Type        string              `json:"type"`
			MissingRate map[string]*float64 `json:"missing_rate"`
			PSI         *float64            `json:"psi"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	x := rep.Features["x"]
	if x.Type != "numeric" || rep.Features["k"].Type != "categorical" {
		t.Errorf("inferred types x=%s k=%s", x.Type, rep.Features["k"].Type)
	}
	if mr := x.MissingRate["baseline"]; mr == nil || math.Abs(*mr-1.0/3) > 1e-15 {
		t.Errorf("x baseline missing rate %v, want 1/3", mr)
	}
	if x.PSI == nil || *x.PSI != 0 {
		t.Errorf("x psi %v, want 0 (same values)", x.PSI)
	}
}

func diff(want, got any, path string, pvalue bool) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": not an object"}
		}
		var out []string
		for k, v := range w {
			out = append(out, diff(v, g[k], path+"."+k, strings.HasSuffix(k, "p_value"))...)
		}
		return out
	case float64:
		g, ok := got.(float64)
		tol := 1e-9 + 1e-7*math.Abs(w)
		if pvalue {
			tol = 1e-9 + 1e-6*math.Abs(w)
		}
		if !ok || math.Abs(g-w) > tol {
			return []string{path + ": mismatch"}
		}
	default:
		a, _ := json.Marshal(want)
		b, _ := json.Marshal(got)
		if !bytes.Equal(a, b) {
			return []string{path + ": want " + string(a) + ", got " + string(b)}
		}
	}
	return nil
}
