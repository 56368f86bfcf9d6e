package simulate

import (
	"fmt"
	"time"
)

// SyntheticModel builds a model with the given numbers of numeric and
// categorical features, for runs configured by flags alone. The features
// are fixed functions of their index (no randomness), so two runs with the
// same arguments describe the same model.
func SyntheticModel(name string, versions []string, numeric, categorical int) Model {
	m := Model{Name: name}
	for _, v := range versions {
		m.Versions = append(m.Versions, Version{Name: v})
	}
	// Coefficients shrink and alternate in sign so that a few features
	// dominate, as in real models, and the positive rate stays moderate.
	coef := func(i int) float64 {
		c := 1.2 / float64(1+i/2)
		if i%2 == 1 {
			c = -c
		}
		return c
	}
	for i := range numeric {
		f := Feature{Name: fmt.Sprintf("num_%02d", i), Type: Numeric, Coef: coef(i), Missing: 0.01}
		if i%2 == 0 {
			f.Dist, f.Mean, f.Std = Normal, float64(10*(i+1)), float64(2+i)
		} else {
			f.Dist, f.Mean, f.Std = LogNormal, 3+0.25*float64(i), 0.5
		}
		m.Features = append(m.Features, f)
	}
	for i := range categorical {
		f := Feature{Name: fmt.Sprintf("cat_%02d", i), Type: Categorical, Missing: 0.005}
		n := 3 + i%6
		for k := range n {
			f.Categories = append(f.Categories, Category{
				Value:  fmt.Sprintf("c%d", k),
				Weight: float64(n - k),
				Effect: coef(i) * (float64(k) - float64(n-1)/2) / float64(n),
			})
		}
		m.Features = append(m.Features, f)
	}
	return m
}

// SyntheticScenario is a scenario of synthetic models without injections.
func SyntheticScenario(start time.Time, duration time.Duration, rate float64, models ...Model) Scenario {
	return Scenario{Start: start, Duration: duration, EventRate: rate, Models: models}
}
