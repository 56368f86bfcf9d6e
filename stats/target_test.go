package stats

import "testing"

// A prior (label) shift moves neither inputs nor predictions; only the
// distribution of the true labels shows it.
func TestTargetDistributionIsMeasuredAsAFeature(t *testing.T) {
	label := func(i, positivesPer100 int) Value {
		if i%100 < positivesPer100 {
			return Value{Kind: String, Str: "1"}
		}
		return Value{Kind: String, Str: "0"}
	}
	base := NewWindowAccumulator(nil, AccumulatorOptions{Task: Binary})
	for i := 0; i < 1000; i++ {
		base.AddEvent()
		base.ObserveOutcome(Value{Kind: String, Str: "0"}, 0, false, label(i, 46))
	}
	profile := base.Profile(DefaultBins)
	profile.Task = Binary

	cur := NewWindowAccumulator(profile, AccumulatorOptions{})
	for i := 0; i < 1000; i++ {
		cur.AddEvent()
		cur.ObserveOutcome(Value{Kind: String, Str: "0"}, 0, false, label(i, 64))
	}
	f, ok := cur.Report().Features[TargetFeature]
	if !ok {
		t.Fatalf("report has no %s feature", TargetFeature)
	}
	if f.Type != Categorical {
		t.Errorf("%s type = %s, want categorical", TargetFeature, f.Type)
	}
	// (0.64-0.46)ln(0.64/0.46) + (0.36-0.54)ln(0.36/0.54)
	if f.PSI == nil || *f.PSI < 0.13 || *f.PSI > 0.135 {
		t.Errorf("%s psi = %v, want about 0.132", TargetFeature, f.PSI)
	}
}
