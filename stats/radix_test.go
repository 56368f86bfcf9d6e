package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// sortInputs are levels of the shapes compaction sees (continuous data
// of various spreads) and shapes meant to break a radix sort's
// assumptions: ties, ±0, extremes, denormals, far-apart clusters.
func sortInputs(n int, seed uint64) map[string][]float64 {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	gen := func(f func(i int) float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = f(i)
		}
		return xs
	}
	return map[string][]float64{
		"normal":    gen(func(int) float64 { return r.NormFloat64() }),
		"shifted":   gen(func(int) float64 { return 7 + r.NormFloat64()*1.7 }),
		"lognormal": gen(func(int) float64 { return math.Exp(r.NormFloat64() * 2) }),
		"uniform":   gen(func(int) float64 { return r.Float64() }),
		"latency":   gen(func(int) float64 { return 0.002 + r.ExpFloat64()*0.01 + float64(r.IntN(50)/49)*r.Float64()*2 }),
		"ties":      gen(func(int) float64 { return math.Round(r.NormFloat64()*100) / 10 }),
		"zeros":     gen(func(i int) float64 { return []float64{0, math.Copysign(0, -1), 1, -1}[r.IntN(4)] }),
		"extremes": gen(func(i int) float64 {
			return []float64{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), 0, r.NormFloat64()}[r.IntN(8)]
		}),
		"denormals": gen(func(int) float64 { return math.Float64frombits(r.Uint64()&(1<<52-1)) * float64(1-2*r.IntN(2)) }),
		"allequal":  gen(func(int) float64 { return 3.25 }),
		"clusters": gen(func(int) float64 {
			if r.IntN(2) == 0 {
				return -1e200 + r.Float64()*1e190
			}
			return 1e-200 * (1 + r.Float64())
		}),
		"lowbits": gen(func(int) float64 { return math.Float64frombits(0x4000000000000000 | r.Uint64()&0xffff) }),
		"randbits": gen(func(int) float64 {
			x := math.Float64frombits(r.Uint64())
			if math.IsNaN(x) {
				return 1
			}
			return x
		}),
		// Two values in each sorted byte, the rest random below them:
		// long runs that overrun the insertion pass's budget.
		"longruns": gen(func(i int) float64 {
			return math.Float64frombits(0x4000000000000000 | uint64(i%2)*0x0001010100000000 | r.Uint64()&0xffffffff)
		}),
		"sorted":   gen(func(i int) float64 { return float64(i) }),
		"reversed": gen(func(i int) float64 { return float64(-i) }),
	}
}

// TestSortKeysMatchesReference: the radix sort orders keys as a plain
// stable sort of the floats by floatKey does, so ±0 and ties land where
// they always did and sketch bytes do not change.
func TestSortKeysMatchesReference(t *testing.T) {
	var s floatSorter
	for _, n := range []int{1, 63, 64, 65, 1000, 4095, 4096, 10000} {
		for seed := uint64(1); seed <= 3; seed++ {
			for name, xs := range sortInputs(n, seed) {
				want := slices.Clone(xs)
				sort.SliceStable(want, func(i, j int) bool { return floatKey(want[i]) < floatKey(want[j]) })
				in := slices.Clone(xs)
				keys := s.sortKeys(in)
				if !slices.Equal(in, xs) {
					t.Fatalf("%s n=%d: input changed", name, n)
				}
				for i, k := range keys {
					if k != floatKey(want[i]) {
						t.Fatalf("%s n=%d seed %d: key %d is %#x, want %#x", name, n, seed, i, k, floatKey(want[i]))
					}
				}
			}
		}
	}
}

func BenchmarkSortKeys(b *testing.B) {
	inputs := sortInputs(sketchLevelCapacity, 11)
	for _, name := range []string{"normal", "shifted", "lognormal", "uniform", "latency", "ties"} {
		xs := inputs[name]
		b.Run(name, func(b *testing.B) {
			var s floatSorter
			for i := 0; i < b.N; i++ {
				s.sortKeys(xs)
			}
		})
	}
}
