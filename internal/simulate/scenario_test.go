package simulate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
duration: 1m
models:
  - name: m
    features:
      - {name: x, type: numeric, mean: 0, std: 1, coef: 1}
      - name: c
        type: categorical
        categories: [{value: a, weight: 1}, {value: b, weight: 2}]
`

func TestParseScenarioAppliesDefaults(t *testing.T) {
	sc, err := ParseScenario("minimal.yaml", strings.NewReader(minimal))
	if err != nil {
		t.Fatal(err)
	}
	m := sc.Models[0]
	switch {
	case !sc.Start.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)):
		t.Errorf("start %v", sc.Start)
	case m.EventRate != 50 || *sc.LabelFraction != 1:
		t.Errorf("rate %v, label fraction %v", m.EventRate, *sc.LabelFraction)
	case len(m.Versions) != 1 || m.Versions[0].Name != "v1" || *m.Versions[0].CoefScale != 1 || *m.Versions[0].Noise != 0.3:
		t.Errorf("versions %+v", m.Versions)
	case m.Features[0].Dist != Normal || *m.Features[0].Decimals != 4:
		t.Errorf("feature %+v", m.Features[0])
	case m.Latency.MedianMS != 12 || m.Latency.Sigma != 0.35:
		t.Errorf("latency %+v", m.Latency)
	}
}

func TestParseScenarioReportsEveryProblemWithItsPath(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", minimal + "colour: blue\n", []string{"line", "colour"}},
		{"bad duration", "duration: soon\n", []string{"line 1", "soon"}},
		{"empty", "", []string{"empty document"}},
		{"no models", "duration: 1m\n", []string{"models: at least one model"}},
		{"several problems", `
duration: 1m
label_fraction: 2
models:
  - name: m
    event_rate: -1
    features:
      - {name: target, type: numeric, std: 1}
      - {name: y, type: numeric, dist: gamma, std: 0}
      - {name: c, type: categorical, categories: [{value: "", weight: 0}]}
      - {name: d, type: text}
`, []string{
			"label_fraction: must be in [0, 1]",
			"models[0].event_rate: must be in (0, 1e9]",
			`models[0].features[0].name: "target" is reserved`,
			`models[0].features[1].dist: must be "normal" or "lognormal", got "gamma"`,
			"models[0].features[1].std: must be positive",
			"models[0].features[2].categories[0].value: must not be empty",
			"models[0].features[2].categories[0].weight: must be positive",
			`models[0].features[3].type: must be "numeric" or "categorical", got "text"`,
		}},
		{"bad injections", minimal + `
window: 30s
scenarios:
  - {kind: covariate_shift, model: m, feature: c, at: 10s}
  - {kind: new_category, model: m, feature: c, at: 30s, value: a, weight: 1}
  - {kind: missing_spike, model: nope, at: 0s}
  - {kind: latency_regression, model: m, version: v9, at: -30s, factor: 0}
  - {kind: prior_shift, model: m, at: 30s, until: 30s}
  - {kind: teleport, model: m}
  - {kind: concept_drift, model: m, features: [x, z]}
`, []string{
			`scenarios[0].feature: "c" is categorical; covariate_shift needs a numeric feature`,
			"scenarios[0].at: 10s does not start on a 30s window boundary",
			`scenarios[1].value: "a" is already a category of "c"`,
			`scenarios[2].model: unknown model "nope"`,
			`scenarios[3].version: model "m" has no version "v9"`,
			"scenarios[3].at: must not be negative",
			"scenarios[3].factor: must be positive",
			"scenarios[4].until: must be after at",
			"scenarios[4].shift: must not be 0",
			`scenarios[5].kind: unknown kind "teleport"`,
			`scenarios[6].features[1]: model "m" has no feature "z"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario("s.yaml", strings.NewReader(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "scenario s.yaml: ") {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadScenarioNamesTheMissingFile(t *testing.T) {
	_, err := LoadScenario(filepath.Join(t.TempDir(), "absent.yaml"))
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("got %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func FuzzParseScenario(f *testing.F) {
	demo, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", "demo.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(demo))
	f.Add(minimal)
	f.Add(minimal + "scenarios:\n  - {kind: new_category, model: m, feature: c, at: 0s, value: z, weight: 1}\n")
	f.Add(minimal + "scenarios:\n  - {kind: concept_drift, model: m, at: 30s, until: 40s}\n")
	f.Add("duration: 1m\nmodels: [{name: m, features: [{name: x, type: numeric, std: 1e308, mean: 1e308, dist: lognormal}]}]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		sc, err := ParseScenario("fuzz.yaml", strings.NewReader(doc))
		if err != nil {
			return
		}
		// Whatever validates must generate well-formed events.
		g := NewGenerator(sc, 1)
		var buf []byte
		for range 50 {
			ev, ok := g.Next(buf)
			if !ok {
				break
			}
			if !json.Valid(ev.Value) {
				t.Fatalf("invalid JSON %s", ev.Value)
			}
			buf = ev.Value[:0]
		}
	})
}
