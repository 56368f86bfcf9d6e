package stats

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

type sketchJSON struct {
	ExactLimit int64       `json:"exact_limit"`
	Count      int64       `json:"count"`
	Levels     [][]float64 `json:"levels"`
	Flips      []bool      `json:"flips,omitempty"`
}

// MarshalJSON writes the sketch's levels; level 0 is sorted so equal
// sketches give equal bytes.
func (s *Sketch) MarshalJSON() ([]byte, error) {
	lv := make([][]float64, len(s.levels))
	for h := range s.levels {
		lv[h] = slices.Clone(s.level(h))
		if lv[h] == nil {
			lv[h] = []float64{}
		}
		slices.Sort(lv[h])
	}
	return json.Marshal(sketchJSON{ExactLimit: s.limit, Count: s.n, Levels: lv, Flips: s.flips})
}

// UnmarshalJSON reads a sketch and checks its weights add up.
func (s *Sketch) UnmarshalJSON(b []byte) error {
	var j sketchJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if len(j.Levels) == 0 {
		j.Levels = [][]float64{nil}
	}
	if len(j.Levels) > 62 {
		return errors.New("sketch: too many levels")
	}
	var n int64
	for h, lv := range j.Levels {
		for _, v := range lv {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("sketch: level %d holds a non-finite value", h)
			}
		}
		n += int64(len(lv)) << h
	}
	if n != j.Count {
		return fmt.Errorf("sketch: levels hold %d values, count is %d", n, j.Count)
	}
	for h := 1; h < len(j.Levels); h++ {
		slices.Sort(j.Levels[h]) // levels above 0 are kept sorted
	}
	flips := make([]bool, len(j.Levels))
	copy(flips, j.Flips)
	if j.ExactLimit <= 0 {
		j.ExactLimit = DefaultSketchExactLimit
	}
	*s = Sketch{limit: j.ExactLimit, n: j.Count, base: j.Levels[0], levels: j.Levels, flips: flips}
	j.Levels[0] = nil
	return nil
}
