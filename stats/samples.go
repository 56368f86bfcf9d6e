package stats

import "math"

// WeightedValue is one distinct value of a sorted sample and how many
// observations it stands for. An exact sample has the true multiplicity; a
// compacted sketch item stands for 2^level observations.
type WeightedValue struct {
	V float64
	W int64
}

// ksStatistic is sup_x |F_b(x) - F_c(x)| over two sorted weighted samples
// with distinct values, the two-sample Kolmogorov–Smirnov statistic. Both
// CDFs are evaluated after every tie, as scipy's ks_2samp does.
func ksStatistic(b, c []WeightedValue) float64 {
	nb, nc := totalWeight(b), totalWeight(c)
	var cb, cc int64
	var d float64
	i, j := 0, 0
	for i < len(b) || j < len(c) {
		var x float64
		switch {
		case j >= len(c) || (i < len(b) && b[i].V <= c[j].V):
			x = b[i].V
		default:
			x = c[j].V
		}
		for i < len(b) && b[i].V == x {
			cb += b[i].W
			i++
		}
		for j < len(c) && c[j].V == x {
			cc += c[j].W
			j++
		}
		diff := math.Abs(float64(cb)/float64(nb) - float64(cc)/float64(nc))
		if diff > d {
			d = diff
		}
	}
	return d
}

// wasserstein1 is integral |F_b - F_c| dx over two sorted weighted samples
// with distinct values (scipy's wasserstein_distance with unit weights).
func wasserstein1(b, c []WeightedValue) float64 {
	nb, nc := totalWeight(b), totalWeight(c)
	var cb, cc int64
	var sum neumaier
	i, j := 0, 0
	prev, started := 0.0, false
	var prevDiff float64
	for i < len(b) || j < len(c) {
		var x float64
		switch {
		case j >= len(c) || (i < len(b) && b[i].V <= c[j].V):
			x = b[i].V
		default:
			x = c[j].V
		}
		if started {
			sum.Add(prevDiff * (x - prev))
		}
		for i < len(b) && b[i].V == x {
			cb += b[i].W
			i++
		}
		for j < len(c) && c[j].V == x {
			cc += c[j].W
			j++
		}
		prevDiff = math.Abs(float64(cb)/float64(nb) - float64(cc)/float64(nc))
		prev, started = x, true
	}
	return sum.Value()
}

func totalWeight(s []WeightedValue) int64 {
	var n int64
	for _, v := range s {
		n += v.W
	}
	return n
}

// kolmogorovCutover is where the two series for the Kolmogorov
// distribution trade accuracy (the same point cephes uses).
const kolmogorovCutover = 0.82

// KolmogorovSF is the survival function of the limiting Kolmogorov
// distribution, P(K > x) (scipy.stats.kstwobign.sf). Below the cutover it
// uses the Jacobi theta form of the CDF, above it the alternating series,
// each of which converges fast on its side.
func KolmogorovSF(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return math.NaN()
	case x <= 0:
		return 1
	case x < kolmogorovCutover:
		// CDF = sqrt(2 pi)/x * sum_k exp(-(2k-1)^2 pi^2 / (8 x^2))
		w := -math.Pi * math.Pi / (8 * x * x)
		var s float64
		for k := 1; k < 100; k++ {
			o := float64(2*k - 1)
			t := math.Exp(o * o * w)
			s += t
			if t <= s*1e-17 {
				break
			}
		}
		return 1 - math.Sqrt(2*math.Pi)/x*s
	default:
		var s float64
		sign := 1.0
		for k := 1; k < 100; k++ {
			kf := float64(k)
			t := math.Exp(-2 * kf * kf * x * x)
			s += sign * t
			if t <= math.Abs(s)*1e-17 {
				break
			}
			sign = -sign
		}
		p := 2 * s
		if p > 1 {
			p = 1
		}
		if p < 0 {
			p = 0
		}
		return p
	}
}

// ksPValue is the asymptotic two-sided p-value of a KS statistic d for
// sample sizes n and m.
func ksPValue(d float64, n, m int64) float64 {
	en := float64(n) * float64(m) / float64(n+m)
	return KolmogorovSF(math.Sqrt(en) * d)
}

// meanStd returns the mean and population standard deviation (ddof 0) of
// a weighted sample, two-pass with compensated sums. A constant sample has
// a standard deviation of exactly 0.
func meanStd(s []WeightedValue) (mean, std float64) {
	n := totalWeight(s)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	var sum neumaier
	for _, v := range s {
		sum.Add(v.V * float64(v.W))
	}
	mean = sum.Value() / float64(n)
	if len(s) == 1 {
		return s[0].V, 0
	}
	var ss neumaier
	for _, v := range s {
		d := v.V - mean
		ss.Add(d * d * float64(v.W))
	}
	return mean, math.Sqrt(ss.Value() / float64(n))
}

// compress turns a sorted sample into distinct weighted values, reusing dst.
func compress(dst []WeightedValue, sorted []float64) []WeightedValue {
	dst = dst[:0]
	for _, x := range sorted {
		if n := len(dst); n > 0 && dst[n-1].V == x {
			dst[n-1].W++
			continue
		}
		dst = append(dst, WeightedValue{V: x, W: 1})
	}
	return dst
}
