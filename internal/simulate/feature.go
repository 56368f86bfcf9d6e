package simulate

import "slices"

// featureGen is one feature's generation state. Baseline parameters never
// change; effective ones are rebuilt by reset, inject/flip and finish
// whenever the set of active injections changes.
type featureGen struct {
	name      string
	key       []byte // `"name":`
	numeric   bool
	logNormal bool
	decimals  int

	// Numeric: values are drawn from N(mean, std), exponentiated when
	// log-normal; the standardised value uses the baseline parameters, as
	// a model trained on the baseline would.
	baseMean, baseStd float64
	mean, std         float64

	baseMissing, missing float64
	coef, trueCoef       float64

	// Categorical: the baseline categories, then those injected later
	// (baseline weight 0, learned effect 0: the models never saw them).
	raw            []string
	values         [][]byte // JSON-quoted
	baseWeight     []float64
	weight         []float64
	cum            []float64
	effect         []float64 // learned by the models
	baseTrueEffect []float64
	trueEffect     []float64
}

func newFeatureGen(spec *Feature, injections []Injection, model string) featureGen {
	f := featureGen{
		name:        spec.Name,
		key:         []byte(jsonString(spec.Name) + ":"),
		numeric:     spec.Type == Numeric,
		logNormal:   spec.Dist == LogNormal,
		baseMean:    spec.Mean,
		baseStd:     spec.Std,
		baseMissing: spec.Missing,
		coef:        spec.Coef,
	}
	if spec.Decimals != nil {
		f.decimals = *spec.Decimals
	}
	for _, c := range spec.Categories {
		f.addCategory(c.Value, c.Weight, c.Effect, c.Effect)
	}
	for _, in := range injections {
		if in.Kind == NewCategory && in.Model == model && in.Feature == spec.Name && !slices.Contains(f.raw, in.Value) {
			f.addCategory(in.Value, 0, 0, in.Effect)
		}
	}
	n := len(f.raw)
	f.weight, f.cum, f.trueEffect = make([]float64, n), make([]float64, n), make([]float64, n)
	return f
}

func (f *featureGen) addCategory(value string, weight, effect, trueEffect float64) {
	f.raw = append(f.raw, value)
	f.values = append(f.values, []byte(jsonString(value)))
	f.baseWeight = append(f.baseWeight, weight)
	f.effect = append(f.effect, effect)
	f.baseTrueEffect = append(f.baseTrueEffect, trueEffect)
}

func (f *featureGen) reset() {
	f.mean, f.std = f.baseMean, f.baseStd
	f.missing = f.baseMissing
	f.trueCoef = f.coef
	copy(f.weight, f.baseWeight)
	copy(f.trueEffect, f.baseTrueEffect)
}

func (f *featureGen) inject(in Injection) {
	switch in.Kind {
	case CovariateShift:
		f.mean += in.Shift
		f.std *= in.Scale
	case NewCategory:
		for k, v := range f.raw {
			if v == in.Value {
				f.weight[k] += in.Weight
			}
		}
	case MissingSpike:
		f.missing = in.Rate
	}
}

// flip reverses the feature's relation to the true label.
func (f *featureGen) flip() {
	f.trueCoef = -f.trueCoef
	for k := range f.trueEffect {
		f.trueEffect[k] = -f.trueEffect[k]
	}
}

func (f *featureGen) finish() {
	total := 0.0
	for k, w := range f.weight {
		total += w
		f.cum[k] = total
	}
}

// pick maps u in [0, 1) to a category index by the effective weights.
func (f *featureGen) pick(u float64) int {
	x := u * f.cum[len(f.cum)-1]
	for k, c := range f.cum {
		if x < c {
			return k
		}
	}
	// Rounding can leave x == total; the last category with weight wins.
	for k := len(f.cum) - 1; k > 0; k-- {
		if f.weight[k] > 0 {
			return k
		}
	}
	return 0
}
