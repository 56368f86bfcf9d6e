package simulate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/driftd/driftd/processor"
)

// EventKind tells a prediction from an outcome: the processor's own kinds,
// since the generator writes exactly what the processor reads.
type EventKind = processor.EventKind

// Event kinds.
const (
	Prediction = processor.Prediction
	Outcome    = processor.Outcome
)

// Event is one generated record. Value is the JSON document (schema v1)
// appended to the buffer passed to Next; Model is also the Kafka key.
type Event struct {
	Kind    EventKind
	Model   string
	Version string // empty for outcomes
	// TS is the event time in Unix nanoseconds (rounded to milliseconds as
	// written in Value).
	TS    int64
	Value []byte
}

// Generator produces a scenario's events in stream order: predictions in
// event-time order, merged across models, the versions of a row one after
// the other; each outcome just before the first prediction whose time is
// not earlier than the outcome's, and always after its own prediction. A
// Generator is not safe for concurrent use.
type Generator struct {
	seed     uint64
	rng      *rand.Rand
	models   []*modelGen
	startNS  int64
	endNS    int64 // predictions strictly before this time
	delayNS  int64
	labelled float64
	seq      uint64
	outcomes outcomeQueue
	ts       tsFormatter

	cur    *modelGen // row being scored by its versions
	curVer int

	predictions, outcomeCount int64
}

// NewGenerator returns a generator for a validated scenario; the same
// scenario and seed give the same bytes.
func NewGenerator(sc Scenario, seed int64) *Generator {
	g := &Generator{
		seed:     uint64(seed),
		rng:      rand.New(rand.NewPCG(uint64(seed), 0x5eed_d41f_7d00_0001)),
		startNS:  sc.Start.UnixNano(),
		endNS:    sc.Start.Add(sc.Duration).UnixNano(),
		delayNS:  int64(sc.LabelDelay),
		labelled: 1,
	}
	if sc.LabelFraction != nil {
		g.labelled = *sc.LabelFraction
	}
	for i := range sc.Models {
		m := newModelGen(&sc.Models[i], int32(i), sc.Injections)
		m.nextTS = g.startNS
		m.applyAt(0)
		g.models = append(g.models, m)
	}
	return g
}

// Counts returns the number of predictions and outcomes generated so far.
func (g *Generator) Counts() (predictions, outcomes int64) {
	return g.predictions, g.outcomeCount
}

// Next appends the next event's JSON to buf[:0] and returns it; ok is
// false when the scenario is exhausted. The returned Value aliases buf.
func (g *Generator) Next(buf []byte) (ev Event, ok bool) {
	if g.cur != nil && g.curVer < len(g.cur.versions) {
		return g.emitPrediction(buf), true
	}
	g.cur = nil
	m := g.nextModel()
	if g.outcomes.len() > 0 && (m == nil || g.outcomes.peek().ts <= m.nextTS) {
		return g.emitOutcome(buf), true
	}
	if m == nil {
		return Event{}, false
	}
	m.advance(g.rng, g.startNS)
	m.row.labelled = g.labelled >= 1 || g.rng.Float64() < g.labelled
	m.encodeFeatures()
	g.cur, g.curVer = m, 0
	return g.emitPrediction(buf), true
}

// nextModel returns the model whose next row comes first, or nil when every
// model has reached the end of the scenario. Ties go to the earlier model.
func (g *Generator) nextModel() *modelGen {
	var best *modelGen
	for _, m := range g.models {
		if m.nextTS < g.endNS && (best == nil || m.nextTS < best.nextTS) {
			best = m
		}
	}
	return best
}

func (g *Generator) emitPrediction(buf []byte) Event {
	m, v := g.cur, &g.cur.versions[g.curVer]
	g.curVer++
	ts := m.rowTS
	hi, lo := eventID(g.seed, g.seq)
	g.seq++
	score, latency := m.score(g.rng, v)
	label := score > 0.5

	b := append(buf[:0], `{"event_id":"`...)
	b = appendID(b, hi, lo)
	b = append(b, v.prefix...)
	b = g.ts.append(b, ts)
	b = append(b, `",`...)
	b = append(b, m.featBuf...)
	if label {
		b = append(b, `,"prediction":{"label":"1","score":`...)
	} else {
		b = append(b, `,"prediction":{"label":"0","score":`...)
	}
	b = appendFixed(b, score, 6)
	b = append(b, `},"latency_ms":`...)
	b = appendFixed(b, latency, 2)
	b = append(b, '}')

	if m.row.labelled {
		g.outcomes.push(pendingOutcome{ts: ts + g.delayNS, hi: hi, lo: lo, model: m.index, label: m.row.label})
	}
	g.predictions++
	return Event{Kind: Prediction, Model: m.name, Version: v.name, TS: ts, Value: b}
}

func (g *Generator) emitOutcome(buf []byte) Event {
	o := g.outcomes.pop()
	m := g.models[o.model]
	b := append(buf[:0], `{"event_id":"`...)
	b = appendID(b, o.hi, o.lo)
	b = append(b, m.outcomePrefix...)
	b = g.ts.append(b, o.ts)
	if o.label {
		b = append(b, `","label":"1"}`...)
	} else {
		b = append(b, `","label":"0"}`...)
	}
	g.outcomeCount++
	return Event{Kind: Outcome, Model: m.name, TS: o.ts, Value: b}
}

// modelGen is one model's generation state: its features with the
// parameters in force at the current event time, and the current row.
type modelGen struct {
	name          string
	index         int32
	features      []featureGen
	versions      []versionGen
	outcomePrefix []byte

	baseIntercept float64
	trueIntercept float64 // base plus active prior shifts
	latencyMedian float64
	latencySigma  float64

	injections []Injection
	changes    []int64 // offsets (ns) where the active injections change, ascending
	nextChange int

	rows     int64
	interval float64 // ns of event time between rows
	nextTS   int64
	rowTS    int64
	row      row
	featBuf  []byte
}

type versionGen struct {
	name           string
	prefix         []byte // `","model":"m","model_version":"v","ts":"`
	coefScale      float64
	interceptShift float64
	noise          float64
	latencyFactor  float64 // product of active latency regressions
}

// row is one drawn input with its true label and the part of the logit
// every version shares.
type row struct {
	num        []float64
	cat        []int
	missing    []bool
	modelLogit float64 // sum of learned coefficient × standardised value
	label      bool
	labelled   bool
}

func newModelGen(spec *Model, index int32, injections []Injection) *modelGen {
	m := &modelGen{
		name:          spec.Name,
		index:         index,
		baseIntercept: spec.Intercept,
		interval:      1e9 / spec.EventRate,
		outcomePrefix: []byte(`","model":` + jsonString(spec.Name) + `,"ts":"`),
	}
	for _, v := range spec.Versions {
		m.versions = append(m.versions, versionGen{
			name:           v.Name,
			prefix:         []byte(`","model":` + jsonString(spec.Name) + `,"model_version":` + jsonString(v.Name) + `,"ts":"`),
			coefScale:      *v.CoefScale,
			interceptShift: v.InterceptShift,
			noise:          *v.Noise,
		})
	}
	for i := range spec.Features {
		m.features = append(m.features, newFeatureGen(&spec.Features[i], injections, spec.Name))
	}
	n := len(m.features)
	m.row = row{num: make([]float64, n), cat: make([]int, n), missing: make([]bool, n)}
	m.latencyMedian, m.latencySigma = spec.Latency.MedianMS, spec.Latency.Sigma
	for _, in := range injections {
		if in.Model != spec.Name {
			continue
		}
		m.injections = append(m.injections, in)
		m.changes = append(m.changes, int64(in.At))
		if in.Until > 0 {
			m.changes = append(m.changes, int64(in.Until))
		}
	}
	slices.Sort(m.changes)
	m.changes = slices.Compact(m.changes)
	return m
}

// advance draws the model's next row and moves its clock.
func (m *modelGen) advance(rng *rand.Rand, startNS int64) {
	m.rowTS = m.nextTS
	offset := m.rowTS - startNS
	if m.nextChange < len(m.changes) && offset >= m.changes[m.nextChange] {
		for m.nextChange < len(m.changes) && offset >= m.changes[m.nextChange] {
			m.nextChange++
		}
		m.applyAt(offset)
	}
	m.draw(rng)
	m.rows++
	m.nextTS = startNS + int64(float64(m.rows)*m.interval)
}

// applyAt recomputes every effective parameter from the baseline and the
// injections active at offset; it runs only when that set changes.
func (m *modelGen) applyAt(offset int64) {
	m.trueIntercept = m.baseIntercept
	for i := range m.versions {
		m.versions[i].latencyFactor = 1
	}
	for i := range m.features {
		m.features[i].reset()
	}
	for _, in := range m.injections {
		if offset < int64(in.At) || (in.Until > 0 && offset >= int64(in.Until)) {
			continue
		}
		switch in.Kind {
		case PriorShift:
			m.trueIntercept += in.Shift
		case LatencyRegression:
			for i := range m.versions {
				if in.Version == "" || in.Version == m.versions[i].name {
					m.versions[i].latencyFactor *= in.Factor
				}
			}
		case ConceptDrift:
			for i := range m.features {
				if len(in.Features) == 0 || slices.Contains(in.Features, m.features[i].name) {
					m.features[i].flip()
				}
			}
		default:
			for i := range m.features {
				if m.features[i].name == in.Feature {
					m.features[i].inject(in)
				}
			}
		}
	}
	for i := range m.features {
		m.features[i].finish()
	}
}

// draw fills m.row: each feature's value and missingness, the shared model
// logit, and the true label. The truth sees every value, even those the
// model receives as null: a missing input hurts the model, not the world.
func (m *modelGen) draw(rng *rand.Rand) {
	truth, model := m.trueIntercept, 0.0
	for i := range m.features {
		f := &m.features[i]
		m.row.missing[i] = f.missing > 0 && rng.Float64() < f.missing
		if f.numeric {
			x := f.mean + f.std*rng.NormFloat64()
			z := (x - f.baseMean) / f.baseStd
			if f.logNormal {
				x = math.Exp(x)
			}
			m.row.num[i] = x
			truth += f.trueCoef * z
			if !m.row.missing[i] {
				model += f.coef * z
			}
			continue
		}
		k := f.pick(rng.Float64())
		m.row.cat[i] = k
		truth += f.trueEffect[k]
		if !m.row.missing[i] {
			model += f.effect[k]
		}
	}
	m.row.modelLogit = model
	m.row.label = rng.Float64() < sigmoid(truth)
}

// score returns a version's score of the current row, rounded to the six
// decimals written (so label = score > 0.5 holds on the written value),
// and its latency in milliseconds.
func (m *modelGen) score(rng *rand.Rand, v *versionGen) (score, latency float64) {
	logit := m.baseIntercept + v.interceptShift + v.coefScale*m.row.modelLogit
	if v.noise > 0 {
		logit += v.noise * rng.NormFloat64()
	}
	score = math.Round(sigmoid(logit)*1e6) / 1e6
	latency = m.latencyMedian * v.latencyFactor * math.Exp(m.latencySigma*rng.NormFloat64())
	return score, latency
}

// encodeFeatures writes `"features":{...}` of the current row to featBuf,
// shared by every version's event.
func (m *modelGen) encodeFeatures() {
	b := append(m.featBuf[:0], `"features":{`...)
	for i := range m.features {
		f := &m.features[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		switch {
		case m.row.missing[i]:
			b = append(b, "null"...)
		case f.numeric:
			b = appendFixed(b, m.row.num[i], f.decimals)
		default:
			b = append(b, f.values[m.row.cat[i]]...)
		}
	}
	m.featBuf = append(b, '}')
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// Time converts an event's TS to a time.Time in UTC.
func (e Event) Time() time.Time { return time.Unix(0, e.TS).UTC() }
