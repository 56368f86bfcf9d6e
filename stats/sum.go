package stats

import "math"

// neumaier is a compensated running sum: long sums of proportions and
// errors would otherwise lose digits the fixture tolerances care about.
type neumaier struct {
	sum, c float64
}

func (s *neumaier) Add(x float64) {
	t := s.sum + x
	if math.Abs(s.sum) >= math.Abs(x) {
		s.c += (s.sum - t) + x
	} else {
		s.c += (x - t) + s.sum
	}
	s.sum = t
}

func (s *neumaier) Value() float64 { return s.sum + s.c }

// merge adds another running sum's value, keeping both compensations.
func (s *neumaier) merge(o neumaier) {
	s.Add(o.sum)
	s.Add(o.c)
}

func ptr(v float64) *float64 { return &v }
