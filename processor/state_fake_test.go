package processor

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"slices"

	"github.com/driftd/driftd/stats"
)

// countState is a small windowState for unit tests of the engine's own
// logic (windows, joins, checkpoints) without the statistics.

// countState is a baseline-free accumulator: counts, missing rates and
// accuracy. It stands in until stats.WindowAccumulator is wired and keeps
// the engine testable with exact expected numbers.
type countState struct {
	N        int64
	Feat     map[string]*featCount
	Pred     featCount
	Lat      []float64
	Labels   int64
	Correct  int64
	features []string // sorted view cache, rebuilt on demand
}

type featCount struct {
	Present int64
	Sum     float64
	Cats    map[string]int64
}

func newCountState() windowState { return &countState{Feat: map[string]*featCount{}} }

func (s *countState) AddEvent() { s.N++ }

func (s *countState) ObserveFeature(name string, v Value) {
	f := s.Feat[name]
	if f == nil {
		f = &featCount{}
		s.Feat[name] = f
	}
	f.observe(v)
}

func (s *countState) ObserveFeatures(fs []Feature) {
	for _, f := range fs {
		s.ObserveFeature(f.Name, f.Value)
	}
}

func (f *featCount) observe(v Value) {
	switch v.Kind {
	case Number:
		f.Present++
		f.Sum += v.Num
	case String:
		if v.Str == "" {
			return
		}
		f.Present++
		if f.Cats == nil {
			f.Cats = map[string]int64{}
		}
		f.Cats[v.Str]++
	}
}

func (s *countState) ObservePrediction(v Value) { s.Pred.observe(v) }
func (s *countState) ObserveLatency(ms float64) { s.Lat = append(s.Lat, ms) }

func (s *countState) ObserveOutcome(pred Value, _ float64, _ bool, target Value) {
	s.Labels++
	if pred == target {
		s.Correct++
	}
}

func (s *countState) Merge(o windowState) error {
	c, ok := o.(*countState)
	if !ok {
		return fmt.Errorf("merging %T into countState", o)
	}
	s.N += c.N
	s.Labels += c.Labels
	s.Correct += c.Correct
	s.Lat = append(s.Lat, c.Lat...)
	for name, f := range c.Feat {
		mine := s.Feat[name]
		if mine == nil {
			mine = &featCount{}
			s.Feat[name] = mine
		}
		mine.merge(f)
	}
	s.Pred.merge(&c.Pred)
	return nil
}

func (f *featCount) merge(o *featCount) {
	f.Present += o.Present
	f.Sum += o.Sum
	for k, n := range o.Cats {
		if f.Cats == nil {
			f.Cats = map[string]int64{}
		}
		f.Cats[k] += n
	}
}

func (s *countState) Clone() windowState {
	c := newCountState().(*countState)
	if err := c.Merge(s); err != nil {
		panic(err)
	}
	return c
}

func (s *countState) MarshalBinary() ([]byte, error) {
	// countWire has no methods, so gob does not call back into MarshalBinary.
	type countWire countState
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode((*countWire)(s))
	return buf.Bytes(), err
}

func (s *countState) UnmarshalBinary(b []byte) error {
	type countWire countState
	*s = countState{}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode((*countWire)(s)); err != nil {
		return fmt.Errorf("decoding window state: %w", err)
	}
	if s.Feat == nil {
		s.Feat = map[string]*featCount{}
	}
	return nil
}

func (s *countState) Events() int64   { return s.N }
func (s *countState) Labelled() int64 { return s.Labels }

// ReportOutcomes has no shortcut here: the fake is small.
func (s *countState) ReportOutcomes(windowReport) windowReport { return s.Report() }

func (s *countState) Report() windowReport {
	r := windowReport{Features: make(map[string]stats.FeatureReport, len(s.Feat))}
	for name, f := range s.Feat {
		r.Features[name] = f.report(s.N)
	}
	if s.Pred.Present > 0 {
		p := s.Pred.report(s.N)
		r.Prediction = &p
	}
	if s.Labels > 0 {
		acc := float64(s.Correct) / float64(s.Labels)
		r.Performance = &stats.PerformanceReport{Support: s.Labels, Accuracy: &acc}
	}
	if len(s.Lat) > 0 {
		l := slices.Clone(s.Lat)
		slices.Sort(l)
		q := func(p float64) float64 { return l[min(len(l)-1, int(p*float64(len(l))))] }
		r.Latency = &LatencySummary{Count: int64(len(l)), P50: q(0.5), P95: q(0.95), P99: q(0.99)}
	}
	return r
}

func (f *featCount) report(n int64) stats.FeatureReport {
	typ := stats.Numeric
	if len(f.Cats) > 0 {
		typ = stats.Categorical
	}
	r := stats.FeatureReport{Type: typ, Count: stats.Pair[int64]{Current: f.Present}}
	if n > 0 {
		miss := float64(n-f.Present) / float64(n)
		r.MissingRate.Current = &miss
	}
	return r
}
