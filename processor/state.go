package processor

import (
	"github.com/driftd/driftd/stats"
)

// windowState is all mergeable state of one (model, version, window): the
// part of stats.WindowAccumulator the engine drives. Calls come from one
// goroutine (the partition's); Merge reads o and leaves it unchanged.
type windowState interface {
	AddEvent()
	// ObserveFeatures records the features of the current event, as
	// ObserveFeature of each in order would. fs is read during the call
	// only.
	ObserveFeatures(fs []Feature)
	ObserveFeature(name string, v Value)
	ObservePrediction(v Value)
	ObserveLatency(ms float64)
	ObserveOutcome(prediction Value, score float64, hasScore bool, target Value)
	Merge(o windowState) error
	// Clone returns a copy that shares nothing mutable with the state,
	// for use on another goroutine.
	Clone() windowState
	MarshalBinary() ([]byte, error)
	UnmarshalBinary(b []byte) error
	Events() int64
	Labelled() int64
	Report() windowReport
	// ReportOutcomes is Report for a state that has only observed
	// outcomes since prev was its Report (Events is the same): prev with
	// what outcomes change recomputed, much cheaper than Report.
	ReportOutcomes(prev windowReport) windowReport
}

// windowReport is what a window state reports.
type windowReport = stats.WindowReport

// stateFactory returns an empty state for a model version and the ID of the
// baseline it compares against ("" when there is none).
type stateFactory func(model, version string) (windowState, string)
