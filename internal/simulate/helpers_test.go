package simulate

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// demoScenario loads the repository's demo scenario, with the event rate
// lowered so tests stay fast (rate 0 keeps the file's).
func demoScenario(t testing.TB, rate float64) Scenario {
	t.Helper()
	sc, err := LoadScenario(filepath.Join("..", "..", "testdata", "scenarios", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if rate > 0 {
		for i := range sc.Models {
			sc.Models[i].EventRate = rate
		}
	}
	return sc
}

// shortDemo is the demo scenario cut to duration of event time.
func shortDemo(t testing.TB, rate float64, duration time.Duration) Scenario {
	t.Helper()
	sc := demoScenario(t, rate)
	sc.Duration = duration
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	return sc
}

// prediction and outcome are schema v1 decoded with encoding/json.
type prediction struct {
	EventID      string         `json:"event_id"`
	Model        string         `json:"model"`
	ModelVersion string         `json:"model_version"`
	TS           string         `json:"ts"`
	Features     map[string]any `json:"features"`
	Prediction   struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	} `json:"prediction"`
	LatencyMS float64 `json:"latency_ms"`

	time  time.Time
	index int // position in the stream
	raw   []byte
}

type outcome struct {
	EventID string `json:"event_id"`
	Model   string `json:"model"`
	TS      string `json:"ts"`
	Label   string `json:"label"`

	time  time.Time
	index int
}

type stream struct {
	preds    []prediction
	outcomes []outcome
	byID     map[string]*prediction
}

var tsPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// decodeStream generates every event of the scenario and decodes each with
// encoding/json, failing on unknown keys or a malformed timestamp.
func decodeStream(t testing.TB, sc Scenario, seed int64) stream {
	t.Helper()
	g := NewGenerator(sc, seed)
	s := stream{byID: map[string]*prediction{}}
	var buf []byte
	for i := 0; ; i++ {
		ev, ok := g.Next(buf)
		if !ok {
			break
		}
		buf = ev.Value[:0]
		dec := json.NewDecoder(bytes.NewReader(ev.Value))
		dec.DisallowUnknownFields()
		switch ev.Kind {
		case Prediction:
			var p prediction
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("event %d %s: %v", i, ev.Value, err)
			}
			p.time, p.index, p.raw = parseTS(t, p.TS), i, bytes.Clone(ev.Value)
			if p.Model != ev.Model || p.ModelVersion != ev.Version || !p.time.Equal(ev.Time().Truncate(time.Millisecond)) {
				t.Fatalf("event %d: Event metadata %s/%s@%v disagrees with JSON %s", i, ev.Model, ev.Version, ev.Time(), ev.Value)
			}
			s.preds = append(s.preds, p)
		case Outcome:
			var o outcome
			if err := dec.Decode(&o); err != nil {
				t.Fatalf("event %d %s: %v", i, ev.Value, err)
			}
			o.time, o.index = parseTS(t, o.TS), i
			s.outcomes = append(s.outcomes, o)
		default:
			t.Fatalf("event %d: kind %v", i, ev.Kind)
		}
	}
	for i := range s.preds {
		if _, dup := s.byID[s.preds[i].EventID]; dup {
			t.Fatalf("duplicate event id %s", s.preds[i].EventID)
		}
		s.byID[s.preds[i].EventID] = &s.preds[i]
	}
	return s
}

func parseTS(t testing.TB, s string) time.Time {
	t.Helper()
	if !tsPattern.MatchString(s) {
		t.Fatalf("ts %q is not RFC 3339 UTC with milliseconds", s)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parsing ts %q: %v", s, err)
	}
	return ts
}

// window returns the index of the window holding ts.
func window(sc Scenario, ts time.Time, width time.Duration) int {
	return int(ts.Sub(sc.Start) / width)
}

// perWindow groups a value per window for the predictions matching keep.
func perWindow(sc Scenario, s stream, width time.Duration, keep func(*prediction) bool, value func(*prediction) (float64, bool)) []meanVar {
	out := make([]meanVar, int(sc.Duration/width))
	for i := range s.preds {
		p := &s.preds[i]
		if !keep(p) {
			continue
		}
		w := window(sc, p.time, width)
		out[w].n++
		if v, ok := value(p); ok {
			out[w].add(v)
		}
	}
	return out
}

// meanVar counts rows (n) and the values observed among them.
type meanVar struct {
	n, k      int
	sum, sum2 float64
}

func (m *meanVar) add(v float64) { m.k++; m.sum += v; m.sum2 += v * v }
func (m meanVar) mean() float64  { return m.sum / float64(m.k) }
func (m meanVar) missing() float64 {
	return float64(m.n-m.k) / float64(m.n)
}

// f1PerWindow computes binary F1 (positive label "1") per window of the
// predictions' time, joining outcomes by event id.
func f1PerWindow(sc Scenario, s stream, width time.Duration, model, version string) []float64 {
	n := int(sc.Duration / width)
	tp, fp, fn := make([]int, n), make([]int, n), make([]int, n)
	for _, o := range s.outcomes {
		p := s.byID[o.EventID]
		if p == nil || p.Model != model || p.ModelVersion != version {
			continue
		}
		w := window(sc, p.time, width)
		switch {
		case p.Prediction.Label == "1" && o.Label == "1":
			tp[w]++
		case p.Prediction.Label == "1":
			fp[w]++
		case o.Label == "1":
			fn[w]++
		}
	}
	f1 := make([]float64, n)
	for w := range n {
		f1[w] = 2 * float64(tp[w]) / float64(2*tp[w]+fp[w]+fn[w])
	}
	return f1
}

func num(p *prediction, name string) (float64, bool) {
	v, ok := p.Features[name].(float64)
	return v, ok
}

func approx(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func writeTemp(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
