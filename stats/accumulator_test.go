package stats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// event is one synthetic prediction with an optional outcome.
type event struct {
	feats    map[string]Value
	pred     Value
	score    float64
	hasScore bool
	target   Value
	outcome  bool
	latency  float64
}

var testCats = []string{"DE", "FR", "US", "GB", "naïve", "a,b", "x"}

func randomEvents(r *rand.Rand, n int, shift float64) []event {
	evs := make([]event, n)
	for i := range evs {
		f := map[string]Value{}
		if r.IntN(20) > 0 {
			f["amount"] = NumberValue(math.Round((50+shift*10+20*r.NormFloat64())*100) / 100)
		}
		if r.IntN(30) == 0 {
			f["amount"] = NumberValue(math.NaN())
		}
		f["age"] = NumberValue(float64(18 + r.IntN(60)))
		f["country"] = StringValue(testCats[r.IntN(len(testCats)-int(1-shift))])
		if r.IntN(10) == 0 {
			f["country"] = StringValue("")
		}
		f["plan"] = StringValue(fmt.Sprintf("p%d", r.IntN(4+int(shift*3))))
		label := "0"
		if r.Float64() < 0.3+shift*0.2 {
			label = "1"
		}
		pl := label
		if r.IntN(5) == 0 {
			pl = map[string]string{"0": "1", "1": "0"}[label]
		}
		evs[i] = event{feats: f, pred: StringValue(pl), score: math.Round(r.Float64()*50) / 50,
			hasScore: r.IntN(10) > 0, target: StringValue(label), outcome: r.IntN(3) > 0,
			latency: 5 + r.ExpFloat64()*20}
	}
	return evs
}

func feedEvents(w *WindowAccumulator, evs []event) {
	for _, e := range evs {
		w.AddEvent()
		for _, name := range []string{"age", "amount", "country", "plan"} {
			w.ObserveFeature(name, e.feats[name])
		}
		w.ObservePrediction(e.pred)
		w.ObserveLatency(e.latency)
		if e.outcome {
			w.ObserveOutcome(e.pred, e.score, e.hasScore, e.target)
		}
	}
}

// testProfile builds a baseline profile from synthetic events.
func testProfile(t testing.TB) *Profile {
	r := rand.New(rand.NewPCG(11, 12))
	b := NewWindowAccumulator(nil, AccumulatorOptions{SketchExactLimit: -1, Task: Binary, PositiveLabel: "1"})
	feedEvents(b, randomEvents(r, 3000, 0))
	p := b.Profile(DefaultBins)
	p.Model, p.Version, p.Task, p.PositiveLabel = "fraud", "v1", Binary, "1"
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	p2, err := ReadProfile(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return p2
}

func reportJSON(t testing.TB, w *WindowAccumulator) string {
	t.Helper()
	b, err := json.Marshal(w.Report())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func stateBytes(t testing.TB, w *WindowAccumulator) []byte {
	t.Helper()
	b, err := w.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMergeEqualsSingleAccumulation is the metamorphic test of mergeable
// state: events split at random into k parts, accumulated apart and merged
// in a random order, give the same state bytes and report as one pass.
func TestMergeEqualsSingleAccumulation(t *testing.T) {
	p := testProfile(t)
	for trial := 0; trial < 30; trial++ {
		r := rand.New(rand.NewPCG(uint64(trial), 99))
		evs := randomEvents(r, 200+r.IntN(3000), r.Float64())
		opts := AccumulatorOptions{MaxCategories: 50}
		whole := NewWindowAccumulator(p, opts)
		feedEvents(whole, evs)

		k := 1 + r.IntN(5)
		parts := make([][]event, k)
		for _, e := range evs {
			i := r.IntN(k)
			parts[i] = append(parts[i], e)
		}
		accs := make([]*WindowAccumulator, k)
		for i := range parts {
			accs[i] = NewWindowAccumulator(p, opts)
			feedEvents(accs[i], parts[i])
		}
		r.Shuffle(k, func(i, j int) { accs[i], accs[j] = accs[j], accs[i] })
		merged := NewWindowAccumulator(p, opts)
		for _, a := range accs {
			if err := merged.Merge(a); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := reportJSON(t, merged), reportJSON(t, whole); got != want {
			t.Fatalf("trial %d (%d parts): merged report differs\n got %s\nwant %s", trial, k, got, want)
		}
		if !bytes.Equal(withoutMoments(stateBytes(t, merged)), withoutMoments(stateBytes(t, whole))) {
			t.Fatalf("trial %d: merged state bytes differ", trial)
		}
	}
}

// withoutMoments is a hook for state bytes comparison: running moments
// (float mean and m2) may differ in the last bits between merge orders, so
// the comparison decodes and re-encodes with them zeroed.
func withoutMoments(b []byte) []byte {
	w := NewWindowAccumulator(momentProfile, AccumulatorOptions{MaxCategories: 50})
	if err := w.UnmarshalBinary(b); err != nil {
		return append([]byte("undecodable: "+err.Error()), b...)
	}
	for _, f := range w.feats {
		f.mean, f.m2 = 0, 0
	}
	w.pred.mean, w.pred.m2 = 0, 0
	out, _ := w.MarshalBinary()
	return out
}

var momentProfile *Profile

func TestMain(m *testing.M) {
	momentProfile = testProfile(nil)
	m.Run()
}

func TestBinaryRoundTrip(t *testing.T) {
	p := momentProfile
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 500, 25_000} {
		for _, prof := range []*Profile{p, nil} {
			w := NewWindowAccumulator(prof, AccumulatorOptions{})
			feedEvents(w, randomEvents(r, n, 0.5))
			b := stateBytes(t, w)
			w2 := NewWindowAccumulator(prof, AccumulatorOptions{})
			if err := w2.UnmarshalBinary(b); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			if !bytes.Equal(stateBytes(t, w2), b) {
				t.Fatalf("n=%d: re-encoded state differs", n)
			}
			if reportJSON(t, w2) != reportJSON(t, w) {
				t.Fatalf("n=%d: restored report differs", n)
			}
			// A restored window keeps accumulating like the original.
			more := randomEvents(r, 100, 0)
			feedEvents(w, more)
			feedEvents(w2, more)
			if reportJSON(t, w2) != reportJSON(t, w) {
				t.Fatalf("n=%d: reports differ after more events", n)
			}
		}
	}
}

func TestUnmarshalBinaryRejects(t *testing.T) {
	w := NewWindowAccumulator(momentProfile, AccumulatorOptions{})
	feedEvents(w, randomEvents(rand.New(rand.NewPCG(2, 2)), 50, 0))
	good := stateBytes(t, w)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     []byte("XXXX\x01"),
		"version":   append([]byte("DDWA"), 9),
		"truncated": good[:len(good)-3],
		"trailing":  append(append([]byte(nil), good...), 0),
	} {
		if err := NewWindowAccumulator(momentProfile, AccumulatorOptions{}).UnmarshalBinary(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A state of a profile-less window names features the profile lacks.
	nw := NewWindowAccumulator(nil, AccumulatorOptions{})
	nw.AddEvent()
	nw.ObserveFeature("unknown", NumberValue(1))
	if err := NewWindowAccumulator(momentProfile, AccumulatorOptions{}).UnmarshalBinary(stateBytes(t, nw)); err == nil {
		t.Error("state with a feature outside the profile accepted")
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 3, 200} {
		w := NewWindowAccumulator(momentProfile, AccumulatorOptions{})
		feedEvents(w, randomEvents(r, n, 0.3))
		b, _ := w.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w := NewWindowAccumulator(momentProfile, AccumulatorOptions{})
		if err := w.UnmarshalBinary(b); err != nil {
			return
		}
		// Whatever decodes must report and re-encode stably.
		_ = w.Report()
		b2, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		w2 := NewWindowAccumulator(momentProfile, AccumulatorOptions{})
		if err := w2.UnmarshalBinary(b2); err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if b3, _ := w2.MarshalBinary(); !bytes.Equal(b2, b3) {
			t.Fatal("encoding is not stable")
		}
	})
}

func TestObserveAllocatesNothing(t *testing.T) {
	w := NewWindowAccumulator(momentProfile, AccumulatorOptions{})
	evs := randomEvents(rand.New(rand.NewPCG(4, 4)), 64, 0)
	feedEvents(w, evs) // first sight of every category and label
	e := evs[0]
	allocs := testing.AllocsPerRun(1000, func() {
		w.AddEvent()
		w.ObserveFeature("age", e.feats["age"])
		w.ObserveFeature("amount", NumberValue(42.5))
		w.ObserveFeature("country", e.feats["country"])
		w.ObserveFeature("plan", e.feats["plan"])
		w.ObservePrediction(e.pred)
		w.ObserveLatency(12.5)
		w.ObserveOutcome(e.pred, 0.7, true, e.target)
	})
	// Sketch buffers grow by doubling, so the average rounds to zero.
	if allocs > 0.05 {
		t.Errorf("%.2f allocations per event, want 0", allocs)
	}
}

func TestCategoryCap(t *testing.T) {
	w := NewWindowAccumulator(nil, AccumulatorOptions{MaxCategories: 3})
	for i := 0; i < 10; i++ {
		w.AddEvent()
		w.ObserveFeature("c", StringValue(fmt.Sprint("k", i)))
	}
	f := w.feats["c"]
	if f.cats.len() != 4 || f.cats.get(OtherCategory) != 7 || f.count != 10 {
		t.Errorf("categories %v, want 3 kept and 7 in %s", f.cats.toMap(), OtherCategory)
	}
}

func TestMissingRates(t *testing.T) {
	w := NewWindowAccumulator(momentProfile, AccumulatorOptions{})
	for i := 0; i < 4; i++ {
		w.AddEvent()
	}
	w.ObserveFeature("amount", NumberValue(math.Inf(1)))
	w.ObserveFeature("amount", NumberValue(3))
	w.ObserveFeature("country", StringValue(""))
	rep := w.Report()
	if mr := rep.Features["amount"].MissingRate.Current; mr == nil || *mr != 0.75 {
		t.Errorf("amount missing rate %v, want 0.75", mr)
	}
	if mr := rep.Features["country"].MissingRate.Current; mr == nil || *mr != 1 {
		t.Errorf("country missing rate %v, want 1", mr)
	}
	if rep.Features["country"].ChiSquare != nil || rep.Features["country"].PSI != nil {
		t.Error("a feature without current values must have null measures")
	}
}
