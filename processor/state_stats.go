package processor

import (
	"fmt"

	"github.com/driftd/driftd/stats"
)

// statsState adapts stats.WindowAccumulator to windowState.
type statsState struct {
	acc *stats.WindowAccumulator
}

func newStatsState(p *stats.Profile, opts stats.AccumulatorOptions) windowState {
	return &statsState{acc: stats.NewWindowAccumulator(p, opts)}
}

func sv(v Value) stats.Value {
	return stats.Value{Kind: stats.ValueKind(v.Kind), Num: v.Num, Str: v.Str}
}

func (s *statsState) AddEvent()                           { s.acc.AddEvent() }
func (s *statsState) ObserveFeature(name string, v Value) { s.acc.ObserveFeature(name, sv(v)) }
func (s *statsState) ObservePrediction(v Value)           { s.acc.ObservePrediction(sv(v)) }
func (s *statsState) ObserveLatency(ms float64)           { s.acc.ObserveLatency(ms) }
func (s *statsState) Events() int64                       { return s.acc.Events() }
func (s *statsState) Labelled() int64                     { return s.acc.Labelled() }
func (s *statsState) ObserveOutcome(p Value, score float64, hasScore bool, target Value) {
	s.acc.ObserveOutcome(sv(p), score, hasScore, sv(target))
}

func (s *statsState) Merge(o windowState) error {
	other, ok := o.(*statsState)
	if !ok {
		return fmt.Errorf("merging %T into a stats window", o)
	}
	return s.acc.Merge(other.acc)
}

func (s *statsState) MarshalBinary() ([]byte, error) {
	return s.acc.MarshalBinary()
}

func (s *statsState) UnmarshalBinary(b []byte) error {
	return s.acc.UnmarshalBinary(b)
}

func (s *statsState) Report() windowReport {
	r := s.acc.Report()
	out := windowReport{Features: r.Features, Prediction: r.Prediction, Performance: r.Performance}
	if r.Latency != nil {
		out.Latency = &LatencySummary{Count: r.Latency.Count, P50: r.Latency.P50, P95: r.Latency.P95, P99: r.Latency.P99}
	}
	return out
}
