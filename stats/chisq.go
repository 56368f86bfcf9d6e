package stats

import "gonum.org/v1/gonum/stat/distuv"

// chiSquareHomogeneity is Pearson's test on the 2×k table of baseline and
// current counts, over the columns with a positive total, without
// continuity correction (scipy chi2_contingency(correction=False)).
// Fewer than two such columns give statistic 0, p-value 1, dof 0.
func chiSquareHomogeneity(base, cur []int64) ChiSquareResult {
	var nb, nc int64
	k := 0
	for i := range base {
		nb += base[i]
		nc += cur[i]
		if base[i]+cur[i] > 0 {
			k++
		}
	}
	if k < 2 || nb == 0 || nc == 0 {
		return ChiSquareResult{Statistic: 0, PValue: 1, DoF: 0}
	}
	n := float64(nb + nc)
	var stat neumaier
	for i := range base {
		col := float64(base[i] + cur[i])
		if col == 0 {
			continue
		}
		eb := float64(nb) * col / n
		ec := float64(nc) * col / n
		db := float64(base[i]) - eb
		dc := float64(cur[i]) - ec
		stat.Add(db * db / eb)
		stat.Add(dc * dc / ec)
	}
	s := stat.Value()
	dof := k - 1
	p := distuv.ChiSquared{K: float64(dof)}.Survival(s)
	return ChiSquareResult{Statistic: s, PValue: p, DoF: dof}
}
