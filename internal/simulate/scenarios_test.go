package simulate

import (
	"math"
	"sort"
	"testing"
	"time"
)

// TestDemoScenariosMoveTheirStatistic checks, on the demo scenario, that
// each injection visibly changes the statistic it targets from the window
// it starts in (docs/simulate.md lists them), and leaves the windows before
// it alone.
func TestDemoScenariosMoveTheirStatistic(t *testing.T) {
	sc := demoScenario(t, 3) // 900 rows per model per 5-minute window
	s := decodeStream(t, sc, 11)
	width := sc.Window
	at := func(kind string) int {
		for _, in := range sc.Injections {
			if in.Kind == kind {
				return int(in.At / width)
			}
		}
		t.Fatalf("demo has no %s", kind)
		return 0
	}
	model := func(m, v string) func(*prediction) bool {
		return func(p *prediction) bool { return p.Model == m && (v == "" || p.ModelVersion == v) }
	}
	// before/after check a statistic on every window before and from w.
	check := func(t *testing.T, name string, w int, stat []float64, before, after func(float64) bool) {
		t.Helper()
		for i, v := range stat {
			cond := before
			if i >= w {
				cond = after
			}
			ok := cond(v)
			if !ok {
				t.Errorf("%s in window %d (from %v): %.4f; all windows: %.3f", name, i, time.Duration(i)*width, v, stat)
			}
		}
	}
	near := func(want, tol float64) func(float64) bool {
		return func(v float64) bool { return approx(v, want, tol) }
	}
	below := func(x float64) func(float64) bool { return func(v float64) bool { return v < x } }
	above := func(x float64) func(float64) bool { return func(v float64) bool { return v > x } }

	t.Run(CovariateShift, func(t *testing.T) {
		stat := means(perWindow(sc, s, width, model("fraud", "v1"), func(p *prediction) (float64, bool) {
			v, ok := num(p, "amount")
			return math.Log(v), ok
		}))
		// amount is log-normal: the shift moves the mean of ln(amount).
		check(t, "mean ln(amount)", at(CovariateShift), stat, near(4.0, 0.12), near(5.0, 0.12))
	})
	t.Run(NewCategory, func(t *testing.T) {
		stat := means(perWindow(sc, s, width, model("fraud", "v1"), func(p *prediction) (float64, bool) {
			c, ok := p.Features["merchant_category"].(string)
			return b2f(c == "crypto"), ok
		}))
		// Weight 25 beside the baseline's 100: a share of 0.2.
		check(t, "share of crypto", at(NewCategory), stat, near(0, 0), near(0.2, 0.05))
	})
	t.Run(MissingSpike, func(t *testing.T) {
		stat := missing(perWindow(sc, s, width, model("churn", "v1"), func(p *prediction) (float64, bool) {
			return num(p, "usage_hours")
		}))
		w := at(MissingSpike)
		check(t, "missing rate of usage_hours", w, stat[:w+2], below(0.03), near(0.4, 0.05))
		check(t, "missing rate of usage_hours after the spike", 0, stat[w+2:], nil, below(0.03))
	})
	t.Run(PriorShift, func(t *testing.T) {
		rate := positiveRate(sc, s, width, "churn", "v1")
		check(t, "churn label rate", at(PriorShift), rate, near(mean(rate[:at(PriorShift)]), 0.06), above(mean(rate[:at(PriorShift)])+0.12))
		// The inputs are untouched.
		tenure := means(perWindow(sc, s, width, model("churn", "v1"), func(p *prediction) (float64, bool) { return num(p, "tenure_months") }))
		check(t, "mean tenure_months", 0, tenure, nil, near(24, 1))
	})
	t.Run(ConceptDrift, func(t *testing.T) {
		w := at(ConceptDrift)
		for _, v := range []string{"v1", "v2"} {
			f1 := f1PerWindow(sc, s, width, "fraud", v)
			check(t, "fraud "+v+" F1", w, f1, above(0.7), below(0.4))
		}
		// Without input drift: neither the inputs nor the scores move at w.
		for _, name := range []string{"amount", "device_score"} {
			before, after := meanAround(sc, s, width, w, model("fraud", "v1"), func(p *prediction) (float64, bool) { return num(p, name) })
			if !approx(before, after, 0.08*math.Abs(before)) {
				t.Errorf("mean %s moved from %.3f to %.3f at the concept drift", name, before, after)
			}
		}
		before, after := meanAround(sc, s, width, w, model("fraud", "v1"), func(p *prediction) (float64, bool) { return p.Prediction.Score, true })
		if !approx(before, after, 0.02) {
			t.Errorf("mean score moved from %.3f to %.3f at the concept drift", before, after)
		}
	})
	t.Run(LatencyRegression, func(t *testing.T) {
		churn := medians(sc, s, width, model("churn", "v1"), func(p *prediction) float64 { return p.LatencyMS })
		check(t, "churn median latency", at(LatencyRegression), churn, near(25, 1.5), near(75, 4.5))
		fraud := medians(sc, s, width, model("fraud", ""), func(p *prediction) float64 { return p.LatencyMS })
		check(t, "fraud median latency", 0, fraud, nil, near(12, 1))
	})
}

func means(ws []meanVar) []float64 {
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = w.mean()
	}
	return out
}

func missing(ws []meanVar) []float64 {
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = w.missing()
	}
	return out
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// positiveRate is the share of "1" outcomes per window of the prediction.
func positiveRate(sc Scenario, s stream, width time.Duration, model, version string) []float64 {
	n := int(sc.Duration / width)
	pos, all := make([]float64, n), make([]float64, n)
	for _, o := range s.outcomes {
		p := s.byID[o.EventID]
		if p.Model != model || p.ModelVersion != version {
			continue
		}
		w := window(sc, p.time, width)
		all[w]++
		pos[w] += b2f(o.Label == "1")
	}
	for i := range pos {
		pos[i] /= all[i]
	}
	return pos
}

// meanAround is the mean over the window before w and the window w.
func meanAround(sc Scenario, s stream, width time.Duration, w int, keep func(*prediction) bool, value func(*prediction) (float64, bool)) (before, after float64) {
	ws := perWindow(sc, s, width, keep, value)
	return ws[w-1].mean(), ws[w].mean()
}

func medians(sc Scenario, s stream, width time.Duration, keep func(*prediction) bool, value func(*prediction) float64) []float64 {
	vals := make([][]float64, int(sc.Duration/width))
	for i := range s.preds {
		p := &s.preds[i]
		if keep(p) {
			w := window(sc, p.time, width)
			vals[w] = append(vals[w], value(p))
		}
	}
	out := make([]float64, len(vals))
	for i, v := range vals {
		sort.Float64s(v)
		out[i] = v[len(v)/2]
	}
	return out
}
