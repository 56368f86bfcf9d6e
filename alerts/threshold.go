package alerts

// ThresholdFunc reports the level the first matching rule alerts at, for a
// metric of one model version and feature. below is true when the rule
// breaches under the level (p-values, F1); ok is false when no rule covers
// the metric.
type ThresholdFunc func(model, version, feature, metric string) (level float64, below, ok bool)

// Thresholds compiles the rules once into a lookup. The ClickHouse sink
// stores the level beside each value (window_metrics.threshold, drifted), so
// analysts see the same verdict as on-call.
func (c *Config) Thresholds() ThresholdFunc {
	rules := make([]rule, 0, len(c.Rules))
	for i := range c.Rules {
		if r, ok := c.Rules[i].compile(); ok {
			rules = append(rules, r)
		}
	}
	return func(model, version, feature, metric string) (float64, bool, bool) {
		for i := range rules {
			if rules[i].matches(model, version, feature, metric) {
				return rules[i].threshold, rules[i].cmp == LessThan || rules[i].cmp == LessOrEqual, true
			}
		}
		return 0, false, false
	}
}
