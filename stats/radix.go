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
	var count [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		clear(count[:])
		for _, u := range a {
			count[byte(u>>shift)]++
		}
		if count[byte(a[0]>>shift)] == n {
			continue // every key has this byte: the pass would not move anything
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for _, u := range a {
			d := byte(u >> shift)
			b[count[d]] = u
			count[d]++
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
