package simulate

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func digest(t *testing.T, sc Scenario, seed int64) (sum [32]byte, events int) {
	t.Helper()
	h := sha256.New()
	g := NewGenerator(sc, seed)
	var buf []byte
	for {
		ev, ok := g.Next(buf)
		if !ok {
			break
		}
		buf = ev.Value[:0]
		h.Write([]byte{byte(ev.Kind)})
		h.Write([]byte(ev.Model))
		h.Write(ev.Value)
		events++
	}
	copy(sum[:], h.Sum(nil))
	return sum, events
}

func TestSameSeedSameBytes(t *testing.T) {
	sc := demoScenario(t, 2)
	a, n := digest(t, sc, 42)
	b, m := digest(t, sc, 42)
	if a != b || n != m {
		t.Fatalf("seed 42 twice: %d events %x, then %d events %x", n, a, m, b)
	}
	c, _ := digest(t, sc, 43)
	if a == c {
		t.Fatal("seeds 42 and 43 gave the same bytes")
	}
	// Rows are rate × duration per model; fraud's two versions double its
	// predictions, and every prediction gets one outcome.
	rows := 2 * 3600
	want := 2 * (2*rows + rows)
	if n != want {
		t.Fatalf("got %d events, want %d", n, want)
	}
}

func TestEventsMatchSchemaV1(t *testing.T) {
	sc := demoScenario(t, 0.5) // 1,800 rows per model over the hour: every injection fires
	s := decodeStream(t, sc, 7)
	if len(s.preds) == 0 || len(s.outcomes) != len(s.preds) {
		t.Fatalf("%d predictions, %d outcomes", len(s.preds), len(s.outcomes))
	}
	specs := map[string]*Model{}
	for i := range sc.Models {
		specs[sc.Models[i].Name] = &sc.Models[i]
	}
	for _, p := range s.preds {
		// Exact key sets, checked on a generic decode.
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(p.raw, &doc); err != nil {
			t.Fatal(err)
		}
		if got := keys(doc); !slices.Equal(got, []string{"event_id", "features", "latency_ms", "model", "model_version", "prediction", "ts"}) {
			t.Fatalf("prediction keys %v in %s", got, p.raw)
		}
		var pred map[string]json.RawMessage
		if err := json.Unmarshal(doc["prediction"], &pred); err != nil || !slices.Equal(keys(pred), []string{"label", "score"}) {
			t.Fatalf("prediction object %s: %v", doc["prediction"], err)
		}
		if len(p.EventID) != 32 || strings.Trim(p.EventID, "0123456789abcdef") != "" {
			t.Fatalf("event id %q is not 32 lower-case hex digits", p.EventID)
		}
		m := specs[p.Model]
		if m == nil || m.version(p.ModelVersion) < 0 {
			t.Fatalf("unknown model/version %s/%s", p.Model, p.ModelVersion)
		}
		checkFeatures(t, m, p)
		if want := map[bool]string{true: "1", false: "0"}[p.Prediction.Score > 0.5]; p.Prediction.Label != want {
			t.Fatalf("label %q with score %v", p.Prediction.Label, p.Prediction.Score)
		}
		if !(p.Prediction.Score >= 0 && p.Prediction.Score <= 1 && p.LatencyMS > 0) {
			t.Fatalf("score %v latency %v", p.Prediction.Score, p.LatencyMS)
		}
	}
	for _, o := range s.outcomes {
		if o.Label != "0" && o.Label != "1" {
			t.Fatalf("outcome label %q", o.Label)
		}
	}
}

func checkFeatures(t *testing.T, m *Model, p prediction) {
	t.Helper()
	if len(p.Features) != len(m.Features) {
		t.Fatalf("%d features, want %d: %s", len(p.Features), len(m.Features), p.raw)
	}
	for _, f := range m.Features {
		v, present := p.Features[f.Name]
		if !present {
			t.Fatalf("feature %q absent: %s", f.Name, p.raw)
		}
		switch v.(type) {
		case nil:
		case float64:
			if f.Type != Numeric {
				t.Fatalf("categorical %q is a number: %s", f.Name, p.raw)
			}
		case string:
			if f.Type != Categorical {
				t.Fatalf("numeric %q is a string: %s", f.Name, p.raw)
			}
		default:
			t.Fatalf("feature %q has type %T", f.Name, v)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOutcomesLagPredictionsByTheDelay(t *testing.T) {
	sc := shortDemo(t, 2, 10*time.Minute)
	s := decodeStream(t, sc, 3)
	seen := map[string]bool{}
	last := time.Time{}
	for _, o := range s.outcomes {
		p := s.byID[o.EventID]
		if p == nil {
			t.Fatalf("outcome for unknown event %s", o.EventID)
		}
		if seen[o.EventID] {
			t.Fatalf("two outcomes for %s", o.EventID)
		}
		seen[o.EventID] = true
		if o.Model != p.Model {
			t.Fatalf("outcome model %q, prediction model %q", o.Model, p.Model)
		}
		if got := o.time.Sub(p.time); got != sc.LabelDelay {
			t.Fatalf("outcome %s at %v, prediction at %v: lag %v, want %v", o.EventID, o.time, p.time, got, sc.LabelDelay)
		}
		if o.index <= p.index {
			t.Fatalf("outcome %s at stream position %d, before its prediction at %d", o.EventID, o.index, p.index)
		}
		if o.time.Before(last) {
			t.Fatalf("outcomes out of time order: %v after %v", o.time, last)
		}
		last = o.time
	}
	// Outcomes are interleaved in event-time order: none is emitted while
	// an earlier-or-equal prediction time is still to come.
	all := make([]struct {
		ts  time.Time
		idx int
	}, 0, len(s.preds)+len(s.outcomes))
	for _, p := range s.preds {
		all = append(all, struct {
			ts  time.Time
			idx int
		}{p.time, p.index})
	}
	for _, o := range s.outcomes {
		all = append(all, struct {
			ts  time.Time
			idx int
		}{o.time, o.index})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].idx < all[j].idx })
	for i := 1; i < len(all); i++ {
		if all[i].ts.Before(all[i-1].ts) {
			t.Fatalf("stream position %d at %v follows %v", all[i].idx, all[i].ts, all[i-1].ts)
		}
	}
}

func TestLabelFractionLabelsWholeRows(t *testing.T) {
	sc := shortDemo(t, 2, 10*time.Minute)
	sc.LabelFraction = ptr(0.5)
	s := decodeStream(t, sc, 5)
	share := float64(len(s.outcomes)) / float64(len(s.preds))
	if !approx(share, 0.5, 0.03) {
		t.Fatalf("labelled share %.3f, want about 0.5", share)
	}
	// Champion and challenger rows are labelled together.
	labelled := map[string]bool{}
	for _, o := range s.outcomes {
		labelled[o.EventID] = true
	}
	for i := 0; i+1 < len(s.preds); i++ {
		a, b := s.preds[i], s.preds[i+1]
		if a.ModelVersion == "v1" && b.ModelVersion == "v2" && labelled[a.EventID] != labelled[b.EventID] {
			t.Fatalf("row at %v labelled for one version only", a.time)
		}
	}
}

func TestChampionAndChallengerScoreTheSameInputs(t *testing.T) {
	sc := shortDemo(t, 2, 10*time.Minute)
	s := decodeStream(t, sc, 9)
	pairs, differ := 0, 0
	for i, p := range s.preds {
		if p.Model != "fraud" || p.ModelVersion != "v1" {
			continue
		}
		q := s.preds[i+1]
		if q.Model != "fraud" || q.ModelVersion != "v2" || !q.time.Equal(p.time) || q.EventID == p.EventID {
			t.Fatalf("v1 event %s not followed by its v2 twin: %s", p.raw, q.raw)
		}
		if !bytes.Equal(featuresJSON(p.raw), featuresJSON(q.raw)) {
			t.Fatalf("inputs differ:\n%s\n%s", p.raw, q.raw)
		}
		pairs++
		if p.Prediction.Score != q.Prediction.Score {
			differ++
		}
	}
	if pairs != int(sc.Models[0].EventRate*sc.Duration.Seconds()) || differ < pairs*9/10 {
		t.Fatalf("%d pairs, %d with different scores", pairs, differ)
	}
}

func featuresJSON(raw []byte) []byte {
	i := bytes.Index(raw, []byte(`"features":`))
	j := bytes.Index(raw, []byte(`,"prediction":`))
	return raw[i:j]
}

func TestEventIDsAreUniqueAcrossSequenceAndSeed(t *testing.T) {
	seen := map[[2]uint64]bool{}
	for seed := range uint64(3) {
		for seq := range uint64(100_000) {
			hi, lo := eventID(seed, seq)
			if seen[[2]uint64{hi, lo}] {
				t.Fatalf("seed %d seq %d repeats an id", seed, seq)
			}
			seen[[2]uint64{hi, lo}] = true
		}
	}
}

func TestTimestampFormatMatchesTimeFormat(t *testing.T) {
	var f tsFormatter
	base := time.Date(2026, 11, 23, 23, 59, 59, 998_000_000, time.UTC).UnixNano()
	steps := []int64{0, 1e6, 2e6, 3e6, 1e9, 86_400e9, 366 * 86_400e9, -base, -base - 1e6, 1_500_000}
	for _, d := range steps {
		ns := base + d
		got := string(f.append(nil, ns))
		want := time.Unix(0, ns).UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		if ns < 0 {
			want = time.UnixMilli(floorDiv(ns, 1e6)).UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if got != want {
			t.Errorf("ns %d: %s, want %s", ns, got, want)
		}
	}
}

func TestAppendFixedWritesNullForNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(appendFixed(nil, v, 2)); got != "null" {
			t.Errorf("%v: %s", v, got)
		}
	}
	if got := string(appendFixed(nil, 12.345678, 2)); got != "12.35" {
		t.Errorf("12.345678: %s", got)
	}
}

func TestAppendFixedAgreesWithStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []float64{0, -0.00001, -1.5, 0.5, 2.5, 1e17, -3e20, 123456789.123456789}
	for range 100_000 {
		cases = append(cases, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(12)-4)))
	}
	for _, v := range cases {
		for _, d := range []int{0, 1, 2, 4, 6, 15} {
			got := string(appendFixed(nil, v, d))
			want := strconv.FormatFloat(v, 'f', d, 64)
			if got == want || got == "0"+strings.TrimPrefix(want, "-0") && strings.Trim(want, "-0.") == "" {
				continue
			}
			// Only a half in the last digit may round the other way.
			g, _ := strconv.ParseFloat(got, 64)
			w, _ := strconv.ParseFloat(want, 64)
			unit := math.Pow(10, -float64(d))
			ulp := math.Nextafter(math.Abs(v), math.Inf(1)) - math.Abs(v)
			if math.Abs(g-w) > unit+4*ulp || math.Abs(g-v) > unit/2+4*ulp {
				t.Fatalf("appendFixed(%v, %d) = %s, strconv %s", v, d, got, want)
			}
		}
	}
}
