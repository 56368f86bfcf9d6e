package stats

import (
	"math"
	"sort"
)

// smoothingEps replaces an exact zero proportion before logarithms are
// taken (Evidently's convention; the smoothed vector is not renormalised).
const smoothingEps = 1e-4

// QuantileEdges returns the de-duplicated interior bin edges of a sorted
// baseline for bins bins: the type-7 quantiles at k/bins, k = 1..bins-1,
// exactly as stats-contract.md writes them. It returns nil for an empty
// sample or bins < 2.
func QuantileEdges(sorted []float64, bins int) []float64 {
	n := len(sorted)
	if n == 0 || bins < 2 {
		return nil
	}
	edges := make([]float64, 0, bins-1)
	for k := 1; k < bins; k++ {
		q := quantile7(sorted, float64(k)/float64(bins))
		if len(edges) == 0 || q != edges[len(edges)-1] {
			edges = append(edges, q)
		}
	}
	return edges
}

// quantile7 is the Hyndman–Fan type 7 quantile. It returns x_j itself when
// x_j == x_{j+1}, which (1-g)*a + g*b would not.
func quantile7(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	j := int(math.Floor(h))
	g := h - float64(j)
	if j >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	a, b := sorted[j], sorted[j+1]
	if g == 0 || a == b {
		return a
	}
	return a + g*(b-a)
}

// BinIndex is the bin of x for interior edges: the number of edges
// strictly less than x (numpy searchsorted side="left").
func BinIndex(edges []float64, x float64) int {
	// A branch-free lower bound: the halving steps compile to conditional
	// moves, so random values cost no mispredicted branches.
	base, n := 0, len(edges)
	if n == 0 {
		return 0
	}
	for n > 1 {
		half := n >> 1
		if edges[base+half-1] < x {
			base += half
		}
		n -= half
	}
	if edges[base] < x {
		base++
	}
	return base
}

// histMeasures are the histogram-based drift measures of one feature.
type histMeasures struct {
	PSI, KL, JS, Hellinger, LInf float64
}

// compareHistograms computes the histogram measures of stats-contract.md
// from baseline and current counts over the same bins. ok is false when
// either side has no values (the measures are then null).
func compareHistograms(base, cur []int64) (m histMeasures, ok bool) {
	var nb, nc int64
	for i := range base {
		nb += base[i]
		nc += cur[i]
	}
	if nb == 0 || nc == 0 {
		return m, false
	}
	k := len(base)
	p := make([]float64, k)
	q := make([]float64, k)
	ps := make([]float64, k)
	qs := make([]float64, k)
	var sumPS, sumQS neumaier
	for i := range base {
		p[i] = float64(base[i]) / float64(nb)
		q[i] = float64(cur[i]) / float64(nc)
		ps[i], qs[i] = p[i], q[i]
		if ps[i] == 0 {
			ps[i] = smoothingEps
		}
		if qs[i] == 0 {
			qs[i] = smoothingEps
		}
		sumPS.Add(ps[i])
		sumQS.Add(qs[i])
	}
	var psi, kl, jsL, jsR, hel neumaier
	tp, tq := sumPS.Value(), sumQS.Value()
	for i := range base {
		psi.Add((qs[i] - ps[i]) * math.Log(qs[i]/ps[i]))
		P, Q := ps[i]/tp, qs[i]/tq
		kl.Add(relEntr(P, Q))
		M := (P + Q) / 2
		jsL.Add(relEntr(P, M))
		jsR.Add(relEntr(Q, M))
		d := math.Sqrt(p[i]) - math.Sqrt(q[i])
		hel.Add(d * d)
		if a := math.Abs(p[i] - q[i]); a > m.LInf {
			m.LInf = a
		}
	}
	m.PSI = psi.Value()
	m.KL = kl.Value()
	js := (jsL.Value() + jsR.Value()) / 2
	if js < 0 { // rounding residue of two equal distributions
		js = 0
	}
	m.JS = math.Sqrt(js)
	m.Hellinger = math.Sqrt(0.5 * hel.Value())
	return m, true
}

// relEntr is scipy.special.rel_entr: x ln(x/y), 0 at x == 0.
func relEntr(x, y float64) float64 {
	switch {
	case x == 0 && y >= 0:
		return 0
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	default:
		return math.Inf(1)
	}
}

// sortedCategories returns the union of both maps' keys in byte order.
func sortedCategories(a, b map[string]int64) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, dup := a[k]; !dup {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
