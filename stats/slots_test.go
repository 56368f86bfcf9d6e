package stats

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSlotPathEqualsNamePath feeds the same events by name, in shuffled
// and in stable orders (so the order hints both miss and hit), and
// through slots: the states must be identical.
func TestSlotPathEqualsNamePath(t *testing.T) {
	p := momentProfile
	evs := randomEvents(rand.New(rand.NewPCG(21, 22)), 3000, 0.4)
	names := []string{"age", "amount", "country", "plan", "not_in_profile"}
	byName := NewWindowAccumulator(p, AccumulatorOptions{})
	shuffled := NewWindowAccumulator(p, AccumulatorOptions{})
	bySlot := NewWindowAccumulator(p, AccumulatorOptions{})
	slots := make([]int, len(names))
	for i, n := range names {
		slots[i] = bySlot.FeatureSlot(n)
		if got := byName.FeatureSlot(n); got != slots[i] {
			t.Fatalf("slot of %q differs between windows of one profile: %d, %d", n, got, slots[i])
		}
	}
	if slots[4] != -1 {
		t.Fatalf("FeatureSlot of an unknown feature = %d, want -1", slots[4])
	}
	for i, f := range p.Features {
		if got := bySlot.FeatureSlot(f.Name); got != i {
			t.Fatalf("FeatureSlot(%q) = %d, want its profile index %d", f.Name, got, i)
		}
	}
	r := rand.New(rand.NewPCG(5, 5))
	for _, e := range evs {
		byName.AddEvent()
		shuffled.AddEvent()
		bySlot.AddEvent()
		order := append([]string(nil), names...)
		if r.IntN(4) == 0 {
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for _, n := range names {
			byName.ObserveFeature(n, e.feats[n])
		}
		for _, n := range order {
			shuffled.ObserveFeature(n, e.feats[n])
		}
		for i, n := range names[:4] {
			v := e.feats[n]
			switch {
			case v.Kind == Number && r.IntN(2) == 0:
				bySlot.ObserveNumericAt(slots[i], v.Num)
			case v.Kind == String && r.IntN(2) == 0:
				bySlot.ObserveCategoryAt(slots[i], v.Str)
			default:
				bySlot.ObserveAt(slots[i], v)
			}
		}
		for _, w := range []*WindowAccumulator{byName, shuffled, bySlot} {
			w.ObservePrediction(e.pred)
		}
	}
	want := stateBytes(t, byName)
	if !bytes.Equal(stateBytes(t, shuffled), want) {
		t.Error("shuffled feature order gives a different state")
	}
	if !bytes.Equal(stateBytes(t, bySlot), want) {
		t.Error("the slot path gives a different state than the name path")
	}
}

// TestSlotsWithoutProfile: without a baseline a feature gets a slot once
// a value of it is seen, and ObserveNumericAt/ObserveCategoryAt of the
// other kind go through the general path.
func TestSlotsWithoutProfile(t *testing.T) {
	w := NewWindowAccumulator(nil, AccumulatorOptions{})
	if s := w.FeatureSlot("x"); s != -1 {
		t.Fatalf("slot before any value = %d, want -1", s)
	}
	w.AddEvent()
	w.ObserveFeature("x", Value{})
	if s := w.FeatureSlot("x"); s != -1 {
		t.Fatalf("slot after a missing value = %d, want -1", s)
	}
	w.ObserveFeature("x", NumberValue(2))
	w.ObserveFeature("c", StringValue("a"))
	sx, sc := w.FeatureSlot("x"), w.FeatureSlot("c")
	if sx < 0 || sc < 0 || sx == sc {
		t.Fatalf("slots x=%d c=%d", sx, sc)
	}
	w.AddEvent()
	w.ObserveNumericAt(sx, math.NaN()) // missing
	w.ObserveCategoryAt(sx, "3.5")     // a numeric feature parses text
	w.ObserveNumericAt(sc, 7)          // a categorical feature spells numbers
	w.ObserveCategoryAt(sc, "")        // missing
	x, c := w.slots[sx], w.slots[sc]
	if x.count != 2 || x.max != 3.5 || c.count != 2 || c.cats.get("7") != 1 {
		t.Errorf("x count %d max %v, c count %d categories %v", x.count, x.max, c.count, c.cats.toMap())
	}
}

// TestCategoryTableGrows checks the open-addressing table through growth
// against a map, with short and long names.
func TestCategoryTableGrows(t *testing.T) {
	c := newCatCounts()
	want := map[string]int64{}
	r := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 20000; i++ {
		n := r.IntN(3000)
		s := string(rune('a'+n%26)) + string(rune('A'+n/26%26)) + string(rune('0'+n/676))
		if n%3 == 0 {
			s += "-a-longer-category-name"
		}
		c.add(s, 1, -1)
		want[s]++
	}
	if c.len() != len(want) {
		t.Fatalf("%d categories, want %d", c.len(), len(want))
	}
	for s, n := range want {
		if got := c.get(s); got != n {
			t.Fatalf("count of %q = %d, want %d", s, got, n)
		}
	}
	if c.get("absent") != 0 || c.get("") != 0 {
		t.Error("absent categories must count 0")
	}
}

// TestTargetSlotEqualsNamePath: outcomes through the cached target slot
// leave the same state as outcomes that look the target up by name each
// time (the cache reset before every outcome), with a profile that has
// the target, one that lacks it, and none; across clones and decodes.
func TestTargetSlotEqualsNamePath(t *testing.T) {
	withTarget := momentProfile
	noTarget := *momentProfile
	noTarget.Features = nil
	for _, f := range momentProfile.Features {
		if f.Name != TargetFeature {
			noTarget.Features = append(noTarget.Features, f)
		}
	}
	if len(noTarget.Features) == len(withTarget.Features) {
		t.Fatal("the test profile has no target feature")
	}
	for _, tc := range []struct {
		name string
		p    *Profile
		task string
	}{{"profile with target", withTarget, ""}, {"profile without target", &noTarget, ""},
		{"no profile", nil, ""}, {"no profile, regression", nil, Regression}} {
		evs := randomEvents(rand.New(rand.NewPCG(31, 32)), 3000, 0.2)
		opts := AccumulatorOptions{Task: tc.task}
		cached, byName := NewWindowAccumulator(tc.p, opts), NewWindowAccumulator(tc.p, opts)
		for i, e := range evs {
			for _, w := range []*WindowAccumulator{cached, byName} {
				w.AddEvent()
				for _, n := range []string{"age", "amount", "country", "plan"} {
					w.ObserveFeature(n, e.feats[n])
				}
				w.ObservePrediction(e.pred)
				target := e.target
				if tc.task == Regression {
					target = NumberValue(float64(i % 50))
				}
				if w == byName {
					w.targetSlot = 0
				}
				w.ObserveOutcome(e.pred, e.score, e.hasScore, target)
			}
			if i == 1000 {
				cached = cached.Clone()
			}
			if i == 2000 {
				b, err := cached.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				if err := cached.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
			}
		}
		if want := tc.p == &noTarget; (cached.targetSlot < 0) != want || cached.targetSlot == 0 {
			t.Fatalf("%s: target slot %d never resolved as expected", tc.name, cached.targetSlot)
		}
		a, err := cached.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		b, err := byName.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: states differ", tc.name)
		}
	}
}
