package stats

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
)

func exactPoints(xs []float64) []WeightedValue {
	s := slices.Clone(xs)
	slices.Sort(s)
	return compress(nil, s)
}

// sketchErrors returns |D_sketch - D_exact| and |Wn_sketch - Wn_exact| for
// two samples, sketching both sides as the engine does.
func sketchErrors(b, c []float64) (dErr, wErr float64) {
	sb, sc := NewSketch(0), NewSketch(0)
	for _, x := range b {
		sb.Add(x)
	}
	for _, x := range c {
		sc.Add(x)
	}
	eb, ec := exactPoints(b), exactPoints(c)
	pb, pc := sb.Points(), sc.Points()
	_, std := meanStd(eb)
	dErr = math.Abs(ksStatistic(pb, pc) - ksStatistic(eb, ec))
	wErr = math.Abs(wasserstein1(pb, pc)-wasserstein1(eb, ec)) / std
	return dErr, wErr
}

type sampleGen func(r *rand.Rand) float64

var sketchScenarios = []struct {
	name string
	b, c sampleGen
}{
	{"normal vs shifted normal", func(r *rand.Rand) float64 { return r.NormFloat64() },
		func(r *rand.Rand) float64 { return 0.1 + 1.1*r.NormFloat64() }},
	{"same normal", func(r *rand.Rand) float64 { return r.NormFloat64() },
		func(r *rand.Rand) float64 { return r.NormFloat64() }},
	{"lognormal vs exponential", func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()) },
		func(r *rand.Rand) float64 { return r.ExpFloat64() }},
	{"integers with ties", func(r *rand.Rand) float64 { return float64(r.IntN(20)) },
		func(r *rand.Rand) float64 { return float64(r.IntN(22)) }},
	{"sorted input", nil, nil}, // filled in by the test: adversarial order
}

func checkSketchBound(t *testing.T, n int) (worstD, worstW float64) {
	for i, sc := range sketchScenarios {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		b := make([]float64, n)
		c := make([]float64, n)
		bg, cg := sc.b, sc.c
		if bg == nil {
			bg = func(r *rand.Rand) float64 { return r.Float64() }
			cg = func(r *rand.Rand) float64 { return r.Float64() * 1.05 }
		}
		for j := range b {
			b[j] = bg(r)
			c[j] = cg(r)
		}
		if sc.b == nil {
			slices.Sort(b)
			slices.Sort(c)
			slices.Reverse(c)
		}
		d, w := sketchErrors(b, c)
		t.Logf("%s, n=%d: |ΔD| = %.2e, |ΔW_normed| = %.2e", sc.name, n, d, w)
		if d > 0.01 || w > 0.01 {
			t.Errorf("%s, n=%d: sketch error D %.4f, W_normed %.4f, want <= 0.01", sc.name, n, d, w)
		}
		worstD, worstW = max(worstD, d), max(worstW, w)
	}
	return worstD, worstW
}

func TestSketchErrorBound(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	d, w := checkSketchBound(t, n)
	t.Logf("worst over scenarios at n=%d: D %.2e, W_normed %.2e", n, d, w)
}

// TestSketchErrorBoundLong checks 10^7-value windows; it takes minutes,
// so it runs only with DRIFTD_LONG_TESTS=1.
func TestSketchErrorBoundLong(t *testing.T) {
	if v, _ := strconv.ParseBool(os.Getenv("DRIFTD_LONG_TESTS")); !v {
		t.Skip("set DRIFTD_LONG_TESTS=1 to run the 10^7-value sketch check")
	}
	d, w := checkSketchBound(t, 10_000_000)
	t.Logf("worst over scenarios at n=10^7: D %.2e, W_normed %.2e", d, w)
}

func TestSketchExactUpToLimit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := NewSketch(0)
	xs := make([]float64, DefaultSketchExactLimit)
	for i := range xs {
		xs[i] = math.Round(r.NormFloat64()*100) / 10
		s.Add(xs[i])
	}
	if !s.Exact() {
		t.Fatal("sketch not exact at its limit")
	}
	if got, want := s.Points(), exactPoints(xs); !slices.Equal(got, want) {
		t.Fatalf("points differ from the exact sample")
	}
	s.Add(1)
	if s.Exact() {
		t.Fatal("sketch still claims exactness past its limit")
	}
	if w := totalWeight(s.Points()); w != s.Count() {
		t.Fatalf("weights sum to %d, count %d", w, s.Count())
	}
}

func TestSketchMergeWithinBound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 300_000
	all := make([]float64, n)
	parts := make([]*Sketch, 7)
	for i := range parts {
		parts[i] = NewSketch(0)
	}
	for i := range all {
		all[i] = r.NormFloat64()
		parts[r.IntN(len(parts))].Add(all[i])
	}
	m := NewSketch(0)
	for _, p := range parts {
		m.Merge(p)
	}
	if m.Count() != n || totalWeight(m.Points()) != n {
		t.Fatalf("merged count %d, weights %d, want %d", m.Count(), totalWeight(m.Points()), n)
	}
	ex := exactPoints(all)
	if d := ksStatistic(m.Points(), ex); d > 0.005 {
		t.Errorf("merged sketch's CDF is %.4f from the exact one, want <= 0.005", d)
	}
}

func TestSortFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	var scratch []uint64
	for _, n := range []int{0, 1, 5, 63, 64, 65, 100, 4095, 4096} {
		xs := make([]float64, n)
		for i := range xs {
			switch r.IntN(4) {
			case 0:
				xs[i] = r.NormFloat64() * 1e300
			case 1:
				xs[i] = float64(r.IntN(5) - 2)
			case 2:
				xs[i] = math.Copysign(0, -1)
			default:
				xs[i] = r.NormFloat64() * 1e-300
			}
		}
		want := slices.Clone(xs)
		slices.Sort(want)
		scratch = sortFloats(xs, scratch)
		for i := range xs {
			if xs[i] != want[i] {
				t.Fatalf("n=%d: element %d is %v, want %v", n, i, xs[i], want[i])
			}
		}
	}
}

// TestFloatSorterAdapts reuses one sorter across inputs that vary in
// different bytes (its digit guess goes stale) and inputs whose values
// agree on their 32 most significant varying bits (long runs to finish).
func TestFloatSorterAdapts(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	gens := []func(i int) float64{
		func(int) float64 { return r.NormFloat64() },
		func(int) float64 { return 1.7e9 + r.Float64()*1000 },                                           // varies in low bytes only
		func(int) float64 { return float64(r.IntN(7)) },                                                 // few distinct values
		func(i int) float64 { return math.Float64frombits(0x3ff0000000000000 | uint64(r.IntN(1<<12))) }, // one run of 4096
		func(i int) float64 {
			return math.Float64frombits(0x4000000000000000 | uint64(i%3)<<40 | uint64(r.IntN(1<<20)))
		},
		func(int) float64 { return -r.ExpFloat64() * 1e-300 },
	}
	var s floatSorter
	for round := 0; round < 3; round++ {
		for g, gen := range gens {
			for _, n := range []int{65, 1000, 4096} {
				xs := make([]float64, n)
				for i := range xs {
					xs[i] = gen(i)
				}
				want := slices.Clone(xs)
				slices.Sort(want)
				s.sort(xs)
				if !slices.Equal(xs, want) {
					t.Fatalf("round %d, input %d, n=%d: not sorted", round, g, n)
				}
			}
		}
	}
}

// TestSketchEncodeBetweenAdds: a sketch encoded again and again while
// values keep coming (level 0 sorted in place, then sorted only in its new
// tail) encodes and reports like one fed the same values and encoded once.
func TestSketchEncodeBetweenAdds(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, limit := range []int{0, 500} {
		live, once := NewSketch(limit), NewSketch(limit)
		for i := range 30_000 {
			x := math.Round(r.NormFloat64()*1000) / 100 // ties, and ±0
			if i%7 == 0 {
				x = float64(i) // runs longer than the tail
			}
			live.Add(x)
			once.Add(x)
			if r.IntN(300) == 0 {
				live.encode(&encoder{})
			}
			if i%5000 == 4999 {
				a, b := &encoder{}, &encoder{}
				live.encode(a)
				once.encode(b)
				if !slices.Equal(a.b, b.b) {
					t.Fatalf("limit %d, after %d values: encodings differ", limit, i+1)
				}
				if !slices.Equal(live.Points(), once.Points()) {
					t.Fatalf("limit %d, after %d values: points differ", limit, i+1)
				}
			}
		}
	}
}
