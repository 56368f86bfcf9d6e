package alerts

import (
	"path"
	"time"
)

// rule is a Rule with every default resolved.
type rule struct {
	name       string
	metric     string
	model      string
	version    string
	feature    string
	cmp        string
	threshold  float64
	resolve    float64
	severity   string
	forN       int
	minSamples int64
	minSupport int64
	repeat     time.Duration
	action     string
	perf       bool
	span       time.Duration // 0: every span
}

// compile resolves defaults; ok is false when the rule cannot be compiled
// (Validate says why).
func (r *Rule) compile() (rule, bool) {
	d, hasDefault := measureDefaults[r.Metric]
	out := rule{
		name:     r.effectiveName(),
		metric:   r.Metric,
		model:    globOr(r.Model),
		version:  globOr(r.Version),
		feature:  globOr(r.Feature),
		cmp:      r.Comparison,
		severity: r.severity(),
		forN:     r.For,
		repeat:   durOr(r.RepeatInterval, DefaultRepeatInterval),
		action:   r.Action,
		perf:     performanceMetrics[r.Metric],
		span:     r.Span.D,
	}
	if out.cmp == "" {
		out.cmp = d.comparison
		if !hasDefault {
			out.cmp = GreaterThan
			if r.Metric == "label_coverage" {
				out.cmp = LessThan
			}
		}
	}
	switch {
	case r.Threshold.Set:
		out.threshold = r.Threshold.Value
	case !hasDefault:
		return rule{}, false
	case out.severity == SeverityCritical:
		out.threshold = d.critical
	default:
		out.threshold = d.warning
	}
	switch {
	case r.ResolveThreshold.Set:
		out.resolve = r.ResolveThreshold.Value
	case hasDefault && out.cmp == d.comparison:
		out.resolve = d.resolve(out.threshold)
	default:
		out.resolve = out.threshold
	}
	if out.forN == 0 {
		out.forN = DefaultFor
	}
	if r.MinSamples != nil {
		out.minSamples = *r.MinSamples
	} else {
		out.minSamples = d.minSamples
	}
	if r.MinSupport != nil {
		out.minSupport = *r.MinSupport
	} else {
		out.minSupport = d.minSupport
	}
	if out.action == "" {
		out.action = ActionNotify
	}
	return out, true
}

func globOr(g string) string {
	if g == "" {
		return "*"
	}
	return g
}

func (r *rule) matches(model, version, feature, metric string) bool {
	if metric != r.metric {
		return false
	}
	return globMatch(r.model, model) && globMatch(r.version, version) && globMatch(r.feature, feature)
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// wants reports whether the rule's action includes a.
func (r *rule) wants(a string) bool {
	return r.action == a || r.action == ActionBoth
}
