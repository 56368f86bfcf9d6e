package processor

import (
	"testing"

	"github.com/driftd/driftd/stats"
)

func TestMetricsFlattenWithoutTargetMissingRate(t *testing.T) {
	half, psi := 0.5, 0.3
	r := WindowResult{
		Features: map[string]stats.FeatureReport{
			"amount":            {Type: stats.Numeric, MissingRate: stats.Pair[*float64]{Current: &half}, PSI: &psi},
			stats.TargetFeature: {Type: stats.Categorical, MissingRate: stats.Pair[*float64]{Current: &half}, PSI: &psi},
		},
		LabelCoverage: 0.5,
	}
	got := map[string]bool{}
	for _, m := range r.Metrics() {
		got[m.Feature+"/"+m.Name] = true
	}
	for _, want := range []string{"amount/missing_rate", "amount/psi", stats.TargetFeature + "/psi", "/label_coverage"} {
		if !got[want] {
			t.Errorf("metrics lack %s: %v", want, got)
		}
	}
	if got[stats.TargetFeature+"/missing_rate"] {
		t.Errorf("the label pseudo-feature reports a missing_rate; unlabelled predictions are label_coverage")
	}
}
