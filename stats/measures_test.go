package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// almostEqual is the one relative-epsilon float comparison of the tests;
// NaN equals NaN.
func almostEqual(a, b, rel float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

func TestKolmogorovSF(t *testing.T) {
	// Reference values of scipy.stats.kstwobign.sf (scipy 1.10).
	for _, c := range []struct{ x, want float64 }{
		{0, 1},
		{0.3, 0.9999906941986655},
		{0.5, 0.9639452436648751},
		{1, 0.26999967167735456},
		{1.5, 0.0222179626165251},
		{3, 3.045996e-08},
	} {
		got := KolmogorovSF(c.x)
		if !almostEqual(got, c.want, 1e-6) {
			t.Errorf("KolmogorovSF(%v) = %.17g, want %.17g", c.x, got, c.want)
		}
	}
	// Both series are valid near the cutover and must agree there.
	for _, x := range []float64{0.7, 0.8, 0.82, 0.9, 1.0} {
		w := -math.Pi * math.Pi / (8 * x * x)
		var theta, alt float64
		for k := 1; k < 60; k++ {
			o := float64(2*k - 1)
			theta += math.Exp(o * o * w)
			alt += math.Pow(-1, float64(k-1)) * math.Exp(-2*float64(k*k)*x*x)
		}
		a, b := 1-math.Sqrt(2*math.Pi)/x*theta, 2*alt
		if !almostEqual(a, b, 1e-12) || !almostEqual(KolmogorovSF(x), a, 1e-12) {
			t.Errorf("x=%v: theta series %.17g, alternating %.17g, KolmogorovSF %.17g", x, a, b, KolmogorovSF(x))
		}
	}
}

func TestQuantileEdges(t *testing.T) {
	for _, c := range []struct {
		name   string
		sample []float64
		bins   int
		want   []float64
	}{
		// numpy.unique(numpy.quantile([1..10], [.25,.5,.75])) = [3.25, 5.5, 7.75]
		{"interpolated", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 4, []float64{3.25, 5.5, 7.75}},
		{"ties collapse", []float64{0, 0, 0, 0, 1, 1, 1, 1, 1, 2}, 4, []float64{0, 1}},
		{"constant", []float64{0.1, 0.1, 0.1}, 10, []float64{0.1}},
		{"single", []float64{5}, 10, []float64{5}},
	} {
		got := QuantileEdges(c.sample, c.bins)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: edges %v, want %v", c.name, got, c.want)
		}
		pts := compress(nil, c.sample)
		if w := weightedEdges(pts, c.bins); !slices.Equal(w, got) {
			t.Errorf("%s: weighted edges %v differ from exact %v", c.name, w, got)
		}
	}
	// x_j == x_{j+1} must return x_j itself, not (1-g)x_j + g x_{j+1}.
	if q := quantile7([]float64{0.1, 0.1, 0.1, 0.1}, 0.3); q != 0.1 {
		t.Errorf("quantile of a constant 0.1 = %.17g", q)
	}
}

func TestBinIndex(t *testing.T) {
	edges := []float64{1, 2, 3}
	for x, want := range map[float64]int{0: 0, 1: 0, 1.5: 1, 2: 1, 3: 2, 3.1: 3, math.Inf(1): 3} {
		if got := BinIndex(edges, x); got != want {
			t.Errorf("BinIndex(%v) = %d, want %d", x, got, want)
		}
	}
	// Both the counting and the binary-search paths match searchsorted.
	for _, n := range []int{5, 16, 17, 100} {
		edges := make([]float64, n)
		for i := range edges {
			edges[i] = float64(2 * i)
		}
		for x := -1.0; x <= float64(2*n); x += 0.5 {
			want := sort.SearchFloat64s(edges, x)
			if got := BinIndex(edges, x); got != want {
				t.Fatalf("%d edges: BinIndex(%v) = %d, want %d", n, x, got, want)
			}
		}
	}
}

func TestHistogramMeasures(t *testing.T) {
	m, ok := compareHistograms([]int64{5, 3, 0, 2}, []int64{10, 6, 0, 4})
	if !ok || m.PSI != 0 || m.KL != 0 || m.JS != 0 || m.Hellinger != 0 || m.LInf != 0 {
		t.Errorf("proportional histograms: %+v, want all 0", m)
	}
	if _, ok := compareHistograms([]int64{1, 2}, []int64{0, 0}); ok {
		t.Error("empty current side must give null measures")
	}
	// Disjoint supports: Hellinger 1, L∞ 1, PSI with eps smoothing.
	m, _ = compareHistograms([]int64{4, 0}, []int64{0, 4})
	wantPSI := 2 * (1 - 1e-4) * math.Log(1/1e-4)
	if m.Hellinger != 1 || m.LInf != 1 || !almostEqual(m.PSI, wantPSI, 1e-12) {
		t.Errorf("disjoint: %+v, want hellinger 1, linf 1, psi %v", m, wantPSI)
	}
}

func TestChiSquare(t *testing.T) {
	// 2x2 table [[10,20],[20,10]]: chi2 = 6.666..., dof 1, p = 0.009823
	r := chiSquareHomogeneity([]int64{10, 20, 0}, []int64{20, 10, 0})
	if r.DoF != 1 || !almostEqual(r.Statistic, 20.0/3, 1e-12) || !almostEqual(r.PValue, 0.009823274507519247, 1e-9) {
		t.Errorf("got %+v", r)
	}
	if r := chiSquareHomogeneity([]int64{5}, []int64{7}); r != (ChiSquareResult{0, 1, 0}) {
		t.Errorf("one category: %+v, want 0/1/0", r)
	}
}

// TestKSAndWassersteinBruteForce checks the merge walks against the
// definitions evaluated at every sample point.
func TestKSAndWassersteinBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 200; trial++ {
		b := make([]float64, 1+r.IntN(40))
		c := make([]float64, 1+r.IntN(40))
		for i := range b {
			b[i] = float64(r.IntN(15))
		}
		for i := range c {
			c[i] = float64(r.IntN(18)) - 2
		}
		cdf := func(s []float64, x float64) float64 {
			n := 0
			for _, v := range s {
				if v <= x {
					n++
				}
			}
			return float64(n) / float64(len(s))
		}
		all := slices.Sorted(slices.Values(append(slices.Clone(b), c...)))
		var d, w float64
		for i, x := range all {
			diff := math.Abs(cdf(b, x) - cdf(c, x))
			d = math.Max(d, diff)
			if i+1 < len(all) {
				w += diff * (all[i+1] - x)
			}
		}
		eb, ec := exactPoints(b), exactPoints(c)
		if got := ksStatistic(eb, ec); !almostEqual(got, d, 1e-12) {
			t.Fatalf("trial %d: KS %v, brute force %v", trial, got, d)
		}
		if got := wasserstein1(eb, ec); !almostEqual(got, w, 1e-12) {
			t.Fatalf("trial %d: W %v, brute force %v", trial, got, w)
		}
	}
}

func TestROCAUCBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a := newPerfAccumulator(Binary, "1", 0)
	type row struct {
		s   float64
		pos bool
	}
	var rows []row
	for i := 0; i < 500; i++ {
		pos := r.IntN(3) == 0
		s := float64(r.IntN(30)) / 10
		if pos {
			s += 0.5
		}
		rows = append(rows, row{s, pos})
		lab := "0"
		if pos {
			lab = "1"
		}
		a.observe(lab, "1", 0, 0, false, s, true)
	}
	a.scoreGiven = true
	var num, den float64
	for _, p := range rows {
		for _, n := range rows {
			if !p.pos || n.pos {
				continue
			}
			den++
			switch {
			case p.s > n.s:
				num++
			case p.s == n.s:
				num += 0.5
			}
		}
	}
	rep := a.report()
	if rep.ROCAUC == nil || !almostEqual(*rep.ROCAUC, num/den, 1e-12) {
		t.Fatalf("AUC %v, brute force %v", rep.ROCAUC, num/den)
	}
}

func TestMeanStdConstant(t *testing.T) {
	_, s := meanStd(compress(nil, []float64{0.1, 0.1, 0.1}))
	if s != 0 {
		t.Errorf("std of a constant = %g, want exactly 0", s)
	}
}
