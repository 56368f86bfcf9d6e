package stats

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestReportJSONShape(t *testing.T) {
	for _, c := range []struct {
		name       string
		v          any
		want, lack []string
	}{
		{"numeric without values", FeatureReport{Type: Numeric},
			[]string{`"ks":null`, `"wasserstein":null`, `"wasserstein_normed":null`, `"psi":null`}, []string{`"chi2"`}},
		{"numeric", FeatureReport{Type: Numeric, KS: &KSResult{Statistic: 0.5, PValue: 0.1}, Wasserstein: ptr(2)},
			[]string{`"ks":{"statistic":0.5,"p_value":0.1}`, `"wasserstein":2`}, []string{`"chi2"`}},
		{"categorical", FeatureReport{Type: Categorical, ChiSquare: &ChiSquareResult{Statistic: 1, PValue: 0.3, DoF: 2}},
			[]string{`"chi2":{"statistic":1,"p_value":0.3,"dof":2}`}, []string{`"ks"`, `"wasserstein"`}},
		{"categorical without values", FeatureReport{Type: Categorical},
			[]string{`"chi2":null`}, []string{`"ks"`}},
		{"binary without score", PerformanceReport{Task: Binary, Support: 3, F1: ptr(0)},
			[]string{`"f1":0`}, []string{`roc_auc`}},
		{"binary with score, one class", PerformanceReport{Task: Binary, ScoreGiven: true},
			[]string{`"roc_auc":null`}, nil},
		{"binary with score", PerformanceReport{Task: Binary, ScoreGiven: true, ROCAUC: ptr(0.75)},
			[]string{`"roc_auc":0.75`}, nil},
	} {
		b, err := json.Marshal(c.v)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		s := string(b)
		if !json.Valid(b) {
			t.Fatalf("%s: invalid JSON %s", c.name, s)
		}
		for _, w := range c.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: %s lacks %s", c.name, s, w)
			}
		}
		for _, l := range c.lack {
			if strings.Contains(s, l) {
				t.Errorf("%s: %s has %s", c.name, s, l)
			}
		}
	}
	// A performance report survives a profile round trip, roc_auc included.
	in := PerformanceReport{Task: Binary, Support: 4, ScoreGiven: true, ROCAUC: ptr(0.5), F1: ptr(0.25)}
	b, _ := json.Marshal(in)
	var out PerformanceReport
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.ScoreGiven || out.ROCAUC == nil || *out.ROCAUC != 0.5 || *out.F1 != 0.25 || out.Support != 4 {
		t.Errorf("round trip gave %+v", out)
	}
}

// TestReportOutcomesPatchesReport: after outcomes alone, the earlier
// report with ReportOutcomes' parts replaced is the new report, with and
// without a profile.
func TestReportOutcomesPatchesReport(t *testing.T) {
	for _, p := range []*Profile{nil, testProfile(t)} {
		r := rand.New(rand.NewPCG(51, 52))
		w := NewWindowAccumulator(p, AccumulatorOptions{SketchExactLimit: 500})
		evs := randomEvents(r, 3000, 0.5)
		for i := range evs {
			evs[i].outcome = false
		}
		feedEvents(w, evs)
		for round := range 3 {
			before := w.Report()
			for _, e := range evs[round*700 : round*700+700] {
				w.ObserveOutcome(e.pred, e.score, e.hasScore, e.target)
			}
			perf, target, ok := w.ReportOutcomes()
			patched := before
			patched.Features = maps.Clone(before.Features)
			patched.Performance = perf
			if ok {
				patched.Features[TargetFeature] = target
			}
			got, _ := json.Marshal(patched)
			want, _ := json.Marshal(w.Report())
			if !ok {
				t.Fatalf("profile %v: no target report after outcomes", p != nil)
			}
			if string(got) != string(want) {
				t.Fatalf("profile %v, round %d: patched report differs\n%s\n%s", p != nil, round, got, want)
			}
		}
	}
}
