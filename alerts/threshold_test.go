package alerts

import "testing"

func TestThresholdsFollowTheFirstMatchingRule(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
rules:
  - {name: amount_psi, metric: psi, feature: amount, threshold: 0.3}
  - {name: any_psi, metric: psi, severity: critical}
  - {name: f1_floor, metric: f1, model: "fraud*", threshold: 0.6}
`))
	if err != nil {
		t.Fatalf("parsing rules: %v", err)
	}
	lookup := cfg.Thresholds()
	cases := []struct {
		model, feature, metric string
		level                  float64
		below, ok              bool
	}{
		{"fraud", "amount", "psi", 0.3, false, true},
		{"fraud", "country", "psi", 0.2, false, true}, // critical default
		{"fraud", "", "f1", 0.6, true, true},
		{"churn", "", "f1", 0, false, false}, // model glob does not match
		{"fraud", "amount", "ks.statistic", 0, false, false},
	}
	for _, c := range cases {
		level, below, ok := lookup(c.model, "v1", c.feature, c.metric)
		if level != c.level || below != c.below || ok != c.ok {
			t.Errorf("%s/%s/%s: got (%v, %v, %v), want (%v, %v, %v)", c.model, c.feature, c.metric,
				level, below, ok, c.level, c.below, c.ok)
		}
	}
}
