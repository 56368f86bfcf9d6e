package stats

import "math"

// sortFloats sorts finite float64s (no NaN) ascending with an LSD radix
// sort on their bits, using scratch (grown as needed) as the second
// buffer. Compaction sorts a full sketch level on the per-event path, and
// this is several times faster than a comparison sort there. It returns
// the scratch buffer for reuse.
func sortFloats(xs []float64, scratch []uint64) []uint64 {
	n := len(xs)
	if n < 64 {
		insertionSort(xs)
		return scratch
	}
	if cap(scratch) < 2*n {
		scratch = make([]uint64, 2*n)
	}
	a, b := scratch[:n], scratch[n:2*n]
	for i, x := range xs {
		// Order-preserving map of IEEE 754 bits: flip all bits of
		// negatives, only the sign bit of the rest.
		u := math.Float64bits(x)
		if u>>63 == 1 {
			u = ^u
		} else {
			u |= 1 << 63
		}
		a[i] = u
	}
	// One read pass fills all eight digit histograms, then each digit
	// costs one scatter pass (skipped when every key shares that byte).
	var count [8][256]int
	for _, u := range a {
		for d := 0; d < 8; d++ {
			count[d][byte(u>>(8*d))]++
		}
	}
	for d := 0; d < 8; d++ {
		shift := uint(8 * d)
		c := &count[d]
		if c[byte(a[0]>>shift)] == n {
			continue
		}
		pos := 0
		for i, k := range c {
			c[i] = pos
			pos += k
		}
		for _, u := range a {
			k := byte(u >> shift)
			b[c[k]] = u
			c[k]++
		}
		a, b = b, a
	}
	for i, u := range a {
		if u>>63 == 1 {
			u &^= 1 << 63
		} else {
			u = ^u
		}
		xs[i] = math.Float64frombits(u)
	}
	return scratch
}

func insertionSort(xs []float64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
