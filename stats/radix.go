package stats

import (
	"math"
	"slices"
)

// floatSorter sorts finite float64s (no NaN) ascending. Compaction sorts
// a full sketch level on the per-event path, so this is an LSD radix sort
// on the values' order-preserving bit patterns that spends passes only
// where keys differ: it radix-sorts the radixDigits most significant
// bytes that vary among the keys and finishes the few keys that agree on
// them with an insertion pass, instead of a scatter pass per byte.
//
// It keeps the bytes it sorted on last time: a sketch's levels come from
// one distribution, so the guess lets the pass that maps the keys also
// count their digits. Its buffer may be shared (see shareScratch).
type floatSorter struct {
	scratch *[]uint64
	shifts  [radixDigits]uint8 // bit shifts of the digits sorted on, most significant first
	guessed bool
}

// radixDigits is how many bytes of the keys are radix-sorted. Three
// bytes hold the sign, the exponent and at least 12 bits of mantissa when
// the exponent varies, so a level of continuous values has only a few
// short runs of keys left to finish: cheaper than a fourth scatter pass.
const radixDigits = 3

// sortFloats sorts xs with a one-off sorter, using scratch (grown as
// needed) as its buffer, and returns the buffer for reuse.
func sortFloats(xs []float64, scratch []uint64) []uint64 {
	s := floatSorter{scratch: &scratch}
	s.sort(xs)
	return scratch
}

// floatKey maps a float64 to a uint64 of the same order: all bits of a
// negative flipped, only the sign bit of the rest (branch-free: the order
// of compaction input is random).
func floatKey(x float64) uint64 {
	u := math.Float64bits(x)
	return u ^ (uint64(int64(u)>>63) | 1<<63)
}

func keyFloat(k uint64) float64 {
	m := uint64(int64(k) >> 63)
	return math.Float64frombits(k ^ (^m | 1<<63))
}

func (s *floatSorter) sort(xs []float64) {
	for i, u := range s.sortKeys(xs) {
		xs[i] = keyFloat(u)
	}
}

// sortKeys returns the floatKeys of xs in ascending order, leaving xs as
// it is. The keys are in the sorter's buffer, valid until its next use:
// compaction reads back only the half it keeps.
func (s *floatSorter) sortKeys(xs []float64) []uint64 {
	n := len(xs)
	if s.scratch == nil {
		s.scratch = new([]uint64)
	}
	if cap(*s.scratch) < 2*n {
		*s.scratch = make([]uint64, 2*n)
	}
	a, b := (*s.scratch)[:n], (*s.scratch)[n:2*n]
	if n < 64 {
		for i, x := range xs {
			a[i] = floatKey(x)
		}
		insertionSortKeys(a)
		return a
	}
	if !s.guessed {
		s.shifts, s.guessed = [radixDigits]uint8{56, 48, 40}, true
	}
	var count [radixDigits][256]uint32
	var or, and uint64 = 0, ^uint64(0)
	g0, g1, g2 := s.shifts[0], s.shifts[1], s.shifts[2]
	for i, x := range xs {
		u := floatKey(x)
		a[i] = u
		or |= u
		and &= u
		count[0][byte(u>>g0)]++
		count[1][byte(u>>g1)]++
		count[2][byte(u>>g2)]++
	}
	shifts, use, rest := varyingDigits(or ^ and)
	if shifts != s.shifts {
		s.shifts = shifts
		count = [radixDigits][256]uint32{}
		for _, u := range a {
			for k := 0; k < use; k++ {
				count[k][byte(u>>shifts[k])]++
			}
		}
	}
	// Each pass fills every bucket from both ends at once: the first half
	// of the keys forward from the bucket's start, the second half
	// backward from its end, which keeps the sort stable. Keys that share
	// a digit (most, in the top digit) make a chain of dependent
	// increments of one counter; two counters per bucket make two
	// independent chains.
	half := n / 2
	for k := use - 1; k >= 0; k-- {
		shift, c := shifts[k], &count[k]
		var end [256]uint32
		var pos uint32
		for i, m := range c {
			c[i] = pos
			pos += m
			end[i] = pos
		}
		for i, j := 0, n-1; i < half; i, j = i+1, j-1 {
			u, v := a[i], a[j]
			d, e := byte(u>>shift), byte(v>>shift)
			b[c[d]] = u
			c[d]++
			end[e]--
			b[end[e]] = v
		}
		if n%2 == 1 {
			u := a[half]
			b[c[byte(u>>shift)]] = u
		}
		a, b = b, a
	}
	if rest {
		// Keys that agree on the sorted digits may still be out of
		// order. Ties are few and short, so an insertion pass finishes
		// them, with a comparison sort for inputs that make it slow.
		budget := 4 * n
		for i := 1; i < n; i++ {
			u := a[i]
			j := i
			for j > 0 && a[j-1] > u {
				a[j] = a[j-1]
				j--
			}
			a[j] = u
			if budget -= i - j; budget < 0 {
				slices.Sort(a)
				break
			}
		}
	}
	return a
}

// varyingDigits returns the shifts of the (at most radixDigits) most
// significant bytes that are not 0 in diff, how many there are, and
// whether a less significant byte of diff is not 0 too.
func varyingDigits(diff uint64) (shifts [radixDigits]uint8, use int, rest bool) {
	for d := 7; d >= 0; d-- {
		if byte(diff>>(8*d)) == 0 {
			continue
		}
		if use == radixDigits {
			return shifts, use, true
		}
		shifts[use] = uint8(8 * d)
		use++
	}
	return shifts, use, false
}

func insertionSortKeys(keys []uint64) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}
