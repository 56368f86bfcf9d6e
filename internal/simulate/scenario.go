// Package simulate generates deterministic prediction and outcome traffic
// for driftd demos, tests and benchmarks: models with numeric and
// categorical features, a scoring function, true labels, and drift
// scenarios injected at chosen event times.
//
// Event time is simulated and independent of wall time: a scenario spans
// Duration of event time starting at Start, each model emitting EventRate
// rows per second of event time, however fast they are written.
package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is a traffic plan: the models, their inputs and how they score,
// and the drift injected at given event times. Zero fields take the
// defaults applied by Validate.
type Scenario struct {
	Start    time.Time     `yaml:"start"`
	Duration time.Duration `yaml:"duration"`
	// Window documents the tumbling window the scenario is designed for;
	// Validate checks that every injection starts on a window boundary so
	// each one is first visible in a whole window.
	Window time.Duration `yaml:"window"`
	// EventRate is the default rows per second of event time per model.
	EventRate float64 `yaml:"event_rate"`
	// LabelDelay is the event-time gap between a prediction and its outcome.
	LabelDelay time.Duration `yaml:"label_delay"`
	// LabelFraction is the share of rows that get an outcome (default 1).
	LabelFraction *float64    `yaml:"label_fraction"`
	Models        []Model     `yaml:"models"`
	Injections    []Injection `yaml:"scenarios"`
}

// Model is one model: its input features, the true relation between the
// inputs and the label, and the versions that score the same rows.
type Model struct {
	Name string `yaml:"name"`
	// EventRate overrides Scenario.EventRate for this model (rows per
	// second of event time; each row is scored by every version).
	EventRate float64 `yaml:"event_rate"`
	// Intercept of the true logit; the model versions start from it too.
	Intercept float64 `yaml:"intercept"`
	// Noise is the standard deviation of the Gaussian noise each version
	// adds to its logit (default 0.3).
	Noise    *float64  `yaml:"noise"`
	Latency  Latency   `yaml:"latency"`
	Versions []Version `yaml:"versions"`
	Features []Feature `yaml:"features"`
}

// Version is one model version scoring every row of its model. The first
// version is the champion; the others are challengers scored on the same
// inputs with their own event ids.
type Version struct {
	Name string `yaml:"name"`
	// CoefScale multiplies the learned coefficients (default 1): below 1 a
	// weaker model, above 1 an over-confident one.
	CoefScale *float64 `yaml:"coef_scale"`
	// InterceptShift is added to the version's logit.
	InterceptShift float64 `yaml:"intercept_shift"`
	// Noise overrides Model.Noise.
	Noise *float64 `yaml:"noise"`
}

// Latency is a log-normal distribution of the serving latency.
type Latency struct {
	MedianMS float64 `yaml:"median_ms"` // default 12
	Sigma    float64 `yaml:"sigma"`     // of ln(latency), default 0.35
}

// Feature types and numeric distributions.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
	Normal      = "normal"
	LogNormal   = "lognormal"
)

// Feature is one model input.
type Feature struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // numeric | categorical
	// Dist is the numeric distribution: normal (Mean, Std of the value) or
	// lognormal (Mean, Std of its natural log).
	Dist string  `yaml:"dist"`
	Mean float64 `yaml:"mean"`
	Std  float64 `yaml:"std"`
	// Coef is the weight of the standardised value in the true logit.
	Coef float64 `yaml:"coef"`
	// Missing is the baseline probability that the value is null.
	Missing float64 `yaml:"missing"`
	// Decimals to which numeric values are rounded (default 4).
	Decimals   *int       `yaml:"decimals"`
	Categories []Category `yaml:"categories"`
}

// Category is one value of a categorical feature.
type Category struct {
	Value  string  `yaml:"value"`
	Weight float64 `yaml:"weight"` // relative frequency
	Effect float64 `yaml:"effect"` // added to the true logit
}

// Injection kinds.
const (
	CovariateShift    = "covariate_shift"
	NewCategory       = "new_category"
	MissingSpike      = "missing_spike"
	PriorShift        = "prior_shift"
	ConceptDrift      = "concept_drift"
	LatencyRegression = "latency_regression"
)

// Injection is a change applied to one model from At until Until (offsets
// from Scenario.Start in event time; Until 0 means to the end).
type Injection struct {
	Kind    string        `yaml:"kind"`
	Model   string        `yaml:"model"`
	Version string        `yaml:"version"` // latency_regression only; empty = every version
	Feature string        `yaml:"feature"`
	At      time.Duration `yaml:"at"`
	Until   time.Duration `yaml:"until"`
	// covariate_shift: Shift is added to the feature's Mean and Std is
	// multiplied by Scale (default 1). prior_shift: Shift is added to the
	// true logit's intercept.
	Shift float64 `yaml:"shift"`
	Scale float64 `yaml:"scale"`
	// new_category: Value appears with Weight (relative to the existing
	// categories' weights) and Effect on the true logit; the models never
	// learned it, so it adds nothing to their scores.
	Value  string  `yaml:"value"`
	Weight float64 `yaml:"weight"`
	Effect float64 `yaml:"effect"`
	// missing_spike: the feature is null with probability Rate.
	Rate float64 `yaml:"rate"`
	// latency_regression: the median latency is multiplied by Factor.
	Factor float64 `yaml:"factor"`
	// concept_drift: the features whose relation to the true label flips
	// sign (empty = all), leaving the inputs untouched.
	Features []string `yaml:"features"`
}

// Columns of the training CSV written beside the features.
const (
	TargetColumn     = "target"
	PredictionColumn = "prediction"
	ScoreColumn      = "score"
)

// ParseScenario reads a YAML scenario strictly (unknown keys are errors),
// applies defaults and validates it. name is used in error messages.
func ParseScenario(name string, r io.Reader) (Scenario, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Scenario{}, fmt.Errorf("reading scenario %s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		if errors.Is(err, io.EOF) {
			return Scenario{}, fmt.Errorf("scenario %s: empty document", name)
		}
		return Scenario{}, fmt.Errorf("scenario %s: %w", name, err)
	}
	if err := sc.Validate(); err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", name, err)
	}
	return sc, nil
}

// LoadScenario reads and validates a scenario file.
func LoadScenario(path string) (Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("opening scenario: %w", err)
	}
	defer f.Close()
	return ParseScenario(path, f)
}

// Validate applies defaults and reports every problem with its key path.
func (sc *Scenario) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if sc.Start.IsZero() {
		sc.Start = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	}
	sc.Start = sc.Start.UTC()
	// Event times are Unix nanoseconds, which cover 1678 to 2262.
	if y := sc.Start.Year(); y < 1900 || y > 2200 {
		bad("start", "must be between the years 1900 and 2200, got %v", sc.Start)
	}
	if sc.Duration <= 0 || sc.Duration > maxDuration {
		bad("duration", "must be positive and at most %v, got %v", maxDuration, sc.Duration)
	}
	if sc.EventRate == 0 {
		sc.EventRate = 50
	}
	if sc.LabelDelay < 0 {
		bad("label_delay", "must not be negative, got %v", sc.LabelDelay)
	}
	if sc.LabelFraction == nil {
		sc.LabelFraction = ptr(1.0)
	} else if f := *sc.LabelFraction; !(f >= 0 && f <= 1) {
		bad("label_fraction", "must be in [0, 1], got %v", f)
	}
	if sc.Window < 0 {
		bad("window", "must not be negative, got %v", sc.Window)
	}
	if len(sc.Models) == 0 {
		bad("models", "at least one model is required")
	}
	names := map[string]bool{}
	for i := range sc.Models {
		m := &sc.Models[i]
		path := fmt.Sprintf("models[%d]", i)
		if names[m.Name] {
			bad(path+".name", "duplicate model %q", m.Name)
		}
		names[m.Name] = true
		m.validate(path, sc.EventRate, bad)
	}
	for i := range sc.Injections {
		sc.validateInjection(i, bad)
	}
	return errors.Join(errs...)
}

const maxDuration = 50 * 365 * 24 * time.Hour

type reporter func(path, format string, args ...any)

func (m *Model) validate(path string, defaultRate float64, bad reporter) {
	if m.Name == "" {
		bad(path+".name", "is required")
	}
	if m.EventRate == 0 {
		m.EventRate = defaultRate
	}
	if !(m.EventRate > 0 && m.EventRate <= 1e9) {
		bad(path+".event_rate", "must be in (0, 1e9] rows per second of event time, got %v", m.EventRate)
	}
	if m.Noise == nil {
		m.Noise = ptr(0.3)
	} else if *m.Noise < 0 {
		bad(path+".noise", "must not be negative, got %v", *m.Noise)
	}
	if m.Latency.MedianMS == 0 {
		m.Latency.MedianMS = 12
	}
	if m.Latency.Sigma == 0 {
		m.Latency.Sigma = 0.35
	}
	if m.Latency.MedianMS < 0 || m.Latency.Sigma < 0 {
		bad(path+".latency", "median_ms and sigma must not be negative")
	}
	if len(m.Versions) == 0 {
		m.Versions = []Version{{Name: "v1"}}
	}
	seen := map[string]bool{}
	for j := range m.Versions {
		v := &m.Versions[j]
		vp := fmt.Sprintf("%s.versions[%d]", path, j)
		if v.Name == "" {
			bad(vp+".name", "is required")
		}
		if seen[v.Name] {
			bad(vp+".name", "duplicate version %q", v.Name)
		}
		seen[v.Name] = true
		if v.CoefScale == nil {
			v.CoefScale = ptr(1.0)
		}
		if v.Noise == nil {
			v.Noise = m.Noise
		} else if *v.Noise < 0 {
			bad(vp+".noise", "must not be negative, got %v", *v.Noise)
		}
	}
	if len(m.Features) == 0 {
		bad(path+".features", "at least one feature is required")
	}
	fseen := map[string]bool{}
	for j := range m.Features {
		f := &m.Features[j]
		fp := fmt.Sprintf("%s.features[%d]", path, j)
		if fseen[f.Name] {
			bad(fp+".name", "duplicate feature %q", f.Name)
		}
		fseen[f.Name] = true
		f.validate(fp, bad)
	}
}

func (f *Feature) validate(path string, bad reporter) {
	switch f.Name {
	case "":
		bad(path+".name", "is required")
	case TargetColumn, PredictionColumn, ScoreColumn:
		bad(path+".name", "%q is reserved for the training CSV's columns", f.Name)
	}
	if !(f.Missing >= 0 && f.Missing <= 1) {
		bad(path+".missing", "must be in [0, 1], got %v", f.Missing)
	}
	switch f.Type {
	case Numeric:
		if f.Dist == "" {
			f.Dist = Normal
		}
		if f.Dist != Normal && f.Dist != LogNormal {
			bad(path+".dist", "must be %q or %q, got %q", Normal, LogNormal, f.Dist)
		}
		if !(f.Std > 0) || math.IsInf(f.Std, 0) || math.IsNaN(f.Mean) || math.IsInf(f.Mean, 0) {
			bad(path+".std", "must be positive and finite with a finite mean, got mean %v std %v", f.Mean, f.Std)
		}
		if f.Decimals == nil {
			f.Decimals = ptr(4)
		} else if *f.Decimals < 0 || *f.Decimals > 15 {
			bad(path+".decimals", "must be in [0, 15], got %d", *f.Decimals)
		}
		if len(f.Categories) > 0 {
			bad(path+".categories", "only categorical features have categories")
		}
	case Categorical:
		if len(f.Categories) == 0 {
			bad(path+".categories", "a categorical feature needs at least one category")
		}
		seen := map[string]bool{}
		for k, c := range f.Categories {
			cp := fmt.Sprintf("%s.categories[%d]", path, k)
			if c.Value == "" {
				bad(cp+".value", "must not be empty (empty means missing)")
			}
			if seen[c.Value] {
				bad(cp+".value", "duplicate category %q", c.Value)
			}
			seen[c.Value] = true
			if !(c.Weight > 0) || math.IsInf(c.Weight, 0) {
				bad(cp+".weight", "must be positive and finite, got %v", c.Weight)
			}
		}
	default:
		bad(path+".type", "must be %q or %q, got %q", Numeric, Categorical, f.Type)
	}
}

func (sc *Scenario) validateInjection(i int, bad reporter) {
	in := &sc.Injections[i]
	path := fmt.Sprintf("scenarios[%d]", i)
	m := sc.model(in.Model)
	if m == nil {
		bad(path+".model", "unknown model %q", in.Model)
		return
	}
	// An injection at or after the end is allowed and never fires, so a
	// scenario file can be run shortened with --duration.
	if in.At < 0 {
		bad(path+".at", "must not be negative, got %v", in.At)
	}
	if in.Until != 0 && in.Until <= in.At {
		bad(path+".until", "must be after at (%v), got %v", in.At, in.Until)
	}
	if sc.Window > 0 && in.At%sc.Window != 0 {
		bad(path+".at", "%v does not start on a %v window boundary", in.At, sc.Window)
	}
	if in.Version != "" && in.Kind != LatencyRegression {
		bad(path+".version", "only latency_regression applies to one version")
	}
	if in.Version != "" && m.version(in.Version) < 0 {
		bad(path+".version", "model %q has no version %q", in.Model, in.Version)
	}
	feature := func(want string) *Feature {
		f := m.feature(in.Feature)
		switch {
		case f == nil:
			bad(path+".feature", "model %q has no feature %q", in.Model, in.Feature)
		case want != "" && f.Type != want:
			bad(path+".feature", "%q is %s; %s needs a %s feature", in.Feature, f.Type, in.Kind, want)
			return nil
		}
		return f
	}
	switch in.Kind {
	case CovariateShift:
		feature(Numeric)
		if in.Scale == 0 {
			in.Scale = 1
		}
		if !(in.Scale > 0) {
			bad(path+".scale", "must be positive, got %v", in.Scale)
		}
	case NewCategory:
		if f := feature(Categorical); f != nil {
			for _, c := range f.Categories {
				if c.Value == in.Value {
					bad(path+".value", "%q is already a category of %q", in.Value, in.Feature)
				}
			}
		}
		if in.Value == "" {
			bad(path+".value", "is required")
		}
		if !(in.Weight > 0) {
			bad(path+".weight", "must be positive, got %v", in.Weight)
		}
	case MissingSpike:
		feature("")
		if !(in.Rate >= 0 && in.Rate <= 1) {
			bad(path+".rate", "must be in [0, 1], got %v", in.Rate)
		}
	case PriorShift:
		if in.Shift == 0 {
			bad(path+".shift", "must not be 0 (it is added to the true logit's intercept)")
		}
	case ConceptDrift:
		for k, name := range in.Features {
			if m.feature(name) == nil {
				bad(fmt.Sprintf("%s.features[%d]", path, k), "model %q has no feature %q", in.Model, name)
			}
		}
	case LatencyRegression:
		if !(in.Factor > 0) {
			bad(path+".factor", "must be positive, got %v", in.Factor)
		}
	default:
		bad(path+".kind", "unknown kind %q (want one of %s, %s, %s, %s, %s, %s)", in.Kind,
			CovariateShift, NewCategory, MissingSpike, PriorShift, ConceptDrift, LatencyRegression)
	}
}

func (sc *Scenario) model(name string) *Model {
	for i := range sc.Models {
		if sc.Models[i].Name == name {
			return &sc.Models[i]
		}
	}
	return nil
}

func (m *Model) feature(name string) *Feature {
	for i := range m.Features {
		if m.Features[i].Name == name {
			return &m.Features[i]
		}
	}
	return nil
}

func (m *Model) version(name string) int {
	for i := range m.Versions {
		if m.Versions[i].Name == name {
			return i
		}
	}
	return -1
}

func ptr[T any](v T) *T { return &v }
