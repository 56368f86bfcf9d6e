package processor

import (
	"fmt"
	"maps"

	"github.com/driftd/driftd/stats"
)

// statsState adapts stats.WindowAccumulator to windowState.
type statsState struct {
	acc *stats.WindowAccumulator
	// profiled: the accumulator has a profile, so a feature it does not
	// know now (slot -1) it never will, and is ignored.
	profiled bool
	// names[i] and slots[i] are the name and slot of the i-th feature of
	// the last event that resolved it. A model's events carry the same
	// keys in the same order, and the decoder interns names, so checking
	// the name is comparing two pointers, and the accumulator's name
	// lookup is skipped.
	names []string
	slots []int32
}

func newStatsState(p *stats.Profile, opts stats.AccumulatorOptions) windowState {
	return &statsState{acc: stats.NewWindowAccumulator(p, opts), profiled: p != nil}
}

// maxSlotCache bounds the features per event whose slots are cached; the
// rest go by name.
const maxSlotCache = 1024

func (s *statsState) ObserveFeatures(fs []Feature) {
	for i := range fs {
		f := &fs[i]
		if i >= len(s.names) || s.names[i] != f.Name {
			if !s.resolve(i, f) {
				s.acc.ObserveFeature(f.Name, f.Value)
				continue
			}
		}
		slot := int(s.slots[i])
		if slot < 0 {
			continue // not in the profile
		}
		switch v := &f.Value; v.Kind {
		case Number:
			s.acc.ObserveNumericAt(slot, v.Num)
		case String:
			s.acc.ObserveCategoryAt(slot, v.Str)
		default:
			s.acc.ObserveAt(slot, *v)
		}
	}
}

// resolve caches the slot of feature i, f, and reports whether it did; a
// slot of -1 (cached only with a profile) means the feature is ignored.
func (s *statsState) resolve(i int, f *Feature) bool {
	slot := s.acc.FeatureSlot(f.Name)
	if i >= maxSlotCache || (slot < 0 && !s.profiled) {
		// Without a profile a feature gets its slot once observed.
		return false
	}
	for len(s.names) <= i {
		s.names, s.slots = append(s.names, ""), append(s.slots, -1)
	}
	s.names[i], s.slots[i] = f.Name, int32(slot)
	return true
}

func (s *statsState) AddEvent()                           { s.acc.AddEvent() }
func (s *statsState) ObserveFeature(name string, v Value) { s.acc.ObserveFeature(name, v) }
func (s *statsState) ObservePrediction(v Value)           { s.acc.ObservePrediction(v) }
func (s *statsState) ObserveLatency(ms float64)           { s.acc.ObserveLatency(ms) }
func (s *statsState) Events() int64                       { return s.acc.Events() }
func (s *statsState) Labelled() int64                     { return s.acc.Labelled() }
func (s *statsState) ObserveOutcome(p Value, score float64, hasScore bool, target Value) {
	s.acc.ObserveOutcome(p, score, hasScore, target)
}

func (s *statsState) Merge(o windowState) error {
	other, ok := o.(*statsState)
	if !ok {
		return fmt.Errorf("merging %T into a stats window", o)
	}
	return s.acc.Merge(other.acc)
}

func (s *statsState) Clone() windowState {
	return &statsState{acc: s.acc.Clone(), profiled: s.profiled}
}

func (s *statsState) MarshalBinary() ([]byte, error) {
	return s.acc.MarshalBinary()
}

func (s *statsState) UnmarshalBinary(b []byte) error {
	return s.acc.UnmarshalBinary(b)
}

func (s *statsState) ReportOutcomes(prev windowReport) windowReport {
	perf, target, ok := s.acc.ReportOutcomes()
	r := prev
	r.Performance = perf
	r.Features = maps.Clone(prev.Features)
	if ok {
		r.Features[stats.TargetFeature] = target
	}
	return r
}

func (s *statsState) Report() windowReport { return s.acc.Report() }
