package alerts

import "math"

// Comparison operators a rule may use. A breach is `value <op> threshold`.
const (
	GreaterThan    = ">"
	GreaterOrEqual = ">="
	LessThan       = "<"
	LessOrEqual    = "<="
)

// Severities.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
	SeverityInfo     = "info"
)

// Actions: what a firing rule asks for. Targets declare which actions they
// receive.
const (
	ActionNotify  = "notify"
	ActionRetrain = "retrain"
	ActionBoth    = "both"
)

// measureDefault is the documented default of one measure (docs/alerts.md
// keeps the same table). Thresholds are absolute; performance measures have
// no model-independent "good" level, so their defaults are a conservative
// floor that most rules will override.
type measureDefault struct {
	comparison string
	warning    float64
	critical   float64
	// resolve maps a threshold to its default resolve threshold: the value
	// must come back past it before a firing alert resolves (hysteresis).
	resolve func(threshold float64) float64
	// minSamples applies to Metric.SampleSize for feature measures;
	// minSupport to the window's labelled support for performance measures.
	minSamples int64
	minSupport int64
}

// Drift scores resolve at 80% of the threshold; p-values at five times it
// (capped at 1); performance scores two points above it.
func resolveFraction(th float64) float64 { return th * 0.8 }
func resolvePValue(th float64) float64   { return math.Min(1, th*5) }
func resolvePerf(th float64) float64     { return math.Min(1, th+0.02) }
func resolveRate(th float64) float64     { return th * 0.8 }

var driftDefault = func(w, c float64) measureDefault {
	return measureDefault{comparison: GreaterThan, warning: w, critical: c, resolve: resolveFraction, minSamples: 100}
}

var pValueDefault = measureDefault{comparison: LessThan, warning: 0.01, critical: 0.001, resolve: resolvePValue, minSamples: 100}

var perfDefault = measureDefault{comparison: LessThan, warning: 0.8, critical: 0.7, resolve: resolvePerf, minSupport: 50}

var measureDefaults = map[string]measureDefault{
	"psi":                driftDefault(0.1, 0.2),
	"js":                 driftDefault(0.1, 0.2),
	"kl":                 driftDefault(0.1, 0.2),
	"hellinger":          driftDefault(0.1, 0.2),
	"linf":               driftDefault(0.1, 0.2),
	"ks.statistic":       driftDefault(0.1, 0.2),
	"wasserstein_normed": driftDefault(0.1, 0.2),
	"ks.p_value":         pValueDefault,
	"chi2.p_value":       pValueDefault,
	"missing_rate":       {comparison: GreaterThan, warning: 0.1, critical: 0.3, resolve: resolveRate, minSamples: 100},
	"out_of_range_rate":  {comparison: GreaterThan, warning: 0.05, critical: 0.1, resolve: resolveRate, minSamples: 100},
	"new_categories":     {comparison: GreaterThan, warning: 0, critical: 10, resolve: func(th float64) float64 { return th }, minSamples: 100},
	"accuracy":           perfDefault,
	"precision":          perfDefault,
	"recall":             perfDefault,
	"f1":                 perfDefault,
	"macro_f1":           perfDefault,
	"micro_f1":           perfDefault,
	"weighted_f1":        perfDefault,
	"roc_auc":            {comparison: LessThan, warning: 0.75, critical: 0.65, resolve: resolvePerf, minSupport: 50},
}

// performanceMetrics are the measures computed on labelled rows; their
// sample size is the labelled support.
var performanceMetrics = map[string]bool{
	"accuracy": true, "precision": true, "recall": true, "f1": true, "roc_auc": true,
	"macro_f1": true, "micro_f1": true, "weighted_f1": true,
	"mae": true, "rmse": true, "mean_error": true,
}

// knownMetrics are the names processor.WindowResult.Metrics emits; a rule
// naming anything else is a typo.
var knownMetrics = map[string]bool{
	"missing_rate": true, "psi": true, "kl": true, "js": true, "hellinger": true, "linf": true,
	"ks.statistic": true, "ks.p_value": true, "wasserstein": true, "wasserstein_normed": true,
	"chi2.statistic": true, "chi2.p_value": true, "out_of_range_rate": true, "new_categories": true,
	"accuracy": true, "precision": true, "recall": true, "f1": true, "roc_auc": true,
	"macro_f1": true, "micro_f1": true, "weighted_f1": true, "mae": true, "rmse": true,
	"mean_error": true, "label_coverage": true,
	"latency_p50_ms": true, "latency_p95_ms": true, "latency_p99_ms": true,
}

// breached reports whether value is on the alerting side of threshold.
func breached(cmp string, value, threshold float64) bool {
	switch cmp {
	case GreaterThan:
		return value > threshold
	case GreaterOrEqual:
		return value >= threshold
	case LessThan:
		return value < threshold
	case LessOrEqual:
		return value <= threshold
	}
	return false
}

// recovered reports whether a firing alert's value is back past the
// resolve threshold, strictly on the healthy side.
func recovered(cmp string, value, resolve float64) bool {
	switch cmp {
	case GreaterThan:
		return value <= resolve
	case GreaterOrEqual:
		return value < resolve
	case LessThan:
		return value >= resolve
	default:
		return value > resolve
	}
}
