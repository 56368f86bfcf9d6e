package stats

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestBuildProfileLarge builds a profile from 200,000 rows, beyond the
// sketch's exact limit: the second pass must make bin counts exact on the
// sketch's edges, and compare against the profile must stay within the
// sketch's bound of the exact figures.
func TestBuildProfileLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the 200,000-row fixture")
	}
	dir := "../testdata/stats/large_200k/"
	opts := caseOptions(t, dir)
	p, err := BuildProfile(dir+"baseline.csv", BuildOptions{TableOptions: opts, Model: "m", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	exact := NewWindowAccumulator(nil, AccumulatorOptions{SketchExactLimit: -1, MaxCategories: -1})
	types := map[string]string{"x": Numeric, "n": Numeric, "k": Categorical}
	for n, typ := range types {
		exact.declare(n, typ)
	}
	if err := Feed(exact, dir+"baseline.csv", types, &TableOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Features {
		if f.Type != Numeric {
			continue
		}
		if f.Sketch.Exact() {
			t.Fatalf("%s: sketch still exact at %d values", f.Name, f.Count)
		}
		want := make([]int64, len(f.Edges)+1)
		for _, pt := range exact.feats[f.Name].sketch.Points() {
			want[BinIndex(f.Edges, pt.V)] += pt.W
		}
		for i := range want {
			if want[i] != f.BinCounts[i] {
				t.Fatalf("%s: bin %d holds %d, exact count %d", f.Name, i, f.BinCounts[i], want[i])
			}
		}
		_, std := meanStd(exact.feats[f.Name].sketch.Points())
		if !almostEqual(std, f.Std, 1e-9) {
			t.Errorf("%s: std %v, exact %v", f.Name, f.Std, std)
		}
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	p2, err := ReadProfile(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Compare("", p2, dir+"current.csv", opts)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Features map[string]struct {
			KS *struct {
				Statistic float64 `json:"statistic"`
			} `json:"ks"`
			WassersteinNormed *float64 `json:"wasserstein_normed"`
			Chi2              *struct {
				Statistic float64 `json:"statistic"`
			} `json:"chi2"`
		} `json:"features"`
	}
	raw, _ := os.ReadFile(dir + "expected.json")
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for name, w := range want.Features {
		got := rep.Features[name]
		if w.KS != nil {
			if d := math.Abs(got.KS.Statistic - w.KS.Statistic); d > 0.01 {
				t.Errorf("%s: KS %v, exact %v", name, got.KS.Statistic, w.KS.Statistic)
			}
			if d := math.Abs(*got.WassersteinNormed - *w.WassersteinNormed); d > 0.01 {
				t.Errorf("%s: W_normed %v, exact %v", name, *got.WassersteinNormed, *w.WassersteinNormed)
			}
		}
		if w.Chi2 != nil && !almostEqual(got.ChiSquare.Statistic, w.Chi2.Statistic, 1e-7) {
			t.Errorf("%s: chi2 %v, want %v", name, got.ChiSquare.Statistic, w.Chi2.Statistic)
		}
	}
}

func TestReadProfileRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"version":  `{"format_version": 2}`,
		"unknown":  `{"format_version": 1, "colour": "red"}`,
		"bins":     `{"format_version": 1, "features": [{"name":"a","type":"numeric","count":1,"edges":[1],"bin_counts":[1],"sketch":{"exact_limit":10,"count":1,"levels":[[1]]}}]}`,
		"type":     `{"format_version": 1, "features": [{"name":"a","type":"text"}]}`,
		"sum":      `{"format_version": 1, "features": [{"name":"a","type":"categorical","count":3,"categories":{"x":1}}]}`,
		"unsorted": `{"format_version": 1, "features": [{"name":"b","type":"categorical"},{"name":"a","type":"categorical"}]}`,
	} {
		if _, err := ReadProfile(bytes.NewReader([]byte(doc))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
