package processor

import (
	"fmt"

	"github.com/driftd/driftd/stats"
)

// statsState adapts stats.WindowAccumulator to windowState.
type statsState struct {
	acc *stats.WindowAccumulator
}

// checkpointable is the part of stats.WindowAccumulator's API that lands
// separately from the measures; the engine checks for it once and falls
// back to countState without it, so checkpoints never fail half-way.
type checkpointable interface {
	Merge(o *stats.WindowAccumulator) error
	MarshalBinary() ([]byte, error)
	UnmarshalBinary(b []byte) error
}

// statsCheckpointable reports whether this build's accumulator can merge
// and checkpoint.
func statsCheckpointable() bool {
	_, ok := any(stats.NewWindowAccumulator(nil, stats.AccumulatorOptions{})).(checkpointable)
	return ok
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
	c, ok := any(s.acc).(checkpointable)
	if !ok {
		return fmt.Errorf("stats.WindowAccumulator cannot merge in this build")
	}
	return c.Merge(other.acc)
}

func (s *statsState) MarshalBinary() ([]byte, error) {
	c, ok := any(s.acc).(checkpointable)
	if !ok {
		return nil, fmt.Errorf("stats.WindowAccumulator cannot checkpoint in this build")
	}
	return c.MarshalBinary()
}

func (s *statsState) UnmarshalBinary(b []byte) error {
	c, ok := any(s.acc).(checkpointable)
	if !ok {
		return fmt.Errorf("stats.WindowAccumulator cannot restore in this build")
	}
	return c.UnmarshalBinary(b)
}

func (s *statsState) Report() windowReport {
	r := s.acc.Report()
	out := windowReport{Features: r.Features, Prediction: r.Prediction, Performance: r.Performance}
	if r.Latency != nil {
		out.Latency = &LatencySummary{Count: r.Latency.Count, P50: r.Latency.P50, P95: r.Latency.P95, P99: r.Latency.P99}
	}
	return out
}
