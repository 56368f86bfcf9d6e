package stats

import (
	"math"
	"slices"
)

// floatSorter sorts finite float64s (no NaN) ascending. Compaction sorts
// a full sketch level on the per-event path, so this is an LSD radix sort
// on the values' order-preserving bit patterns that spends passes only
// where keys differ: it radix-sorts the four most significant bytes that
// vary among the keys and finishes runs that agree on them with a small
// sort. A level of continuous values is then ordered after four scatter
// passes with almost no runs left; discrete values vary in fewer bytes.
//
// It keeps its buffer and the bytes it sorted on last time: a sketch's
// levels come from one distribution, so the guess lets the pass that maps
// the keys also count their digits.
type floatSorter struct {
	scratch []uint64
	shifts  [radixDigits]uint8 // bit shifts of the digits sorted on, most significant first
	guessed bool
}

// radixDigits is how many bytes of the keys are radix-sorted; 32 bits
// separate all but a handful of a level's continuous values.
const radixDigits = 4

// sortFloats sorts xs with a one-off sorter, using scratch (grown as
// needed) as its buffer, and returns the buffer for reuse.
func sortFloats(xs []float64, scratch []uint64) []uint64 {
	s := floatSorter{scratch: scratch}
	s.sort(xs)
	return s.scratch
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
	n := len(xs)
	if n < 64 {
		insertionSort(xs)
		return
	}
	if cap(s.scratch) < 2*n {
		s.scratch = make([]uint64, 2*n)
	}
	a, b := s.scratch[:n], s.scratch[n:2*n]
	if !s.guessed {
		s.shifts, s.guessed = [radixDigits]uint8{56, 48, 40, 32}, true
	}
	var count [radixDigits][256]uint32
	var or, and uint64 = 0, ^uint64(0)
	g0, g1, g2, g3 := s.shifts[0], s.shifts[1], s.shifts[2], s.shifts[3]
	for i, x := range xs {
		u := floatKey(x)
		a[i] = u
		or |= u
		and &= u
		count[0][byte(u>>g0)]++
		count[1][byte(u>>g1)]++
		count[2][byte(u>>g2)]++
		count[3][byte(u>>g3)]++
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
	for k := use - 1; k >= 0; k-- {
		shift, c := shifts[k], &count[k]
		var pos uint32
		for i, m := range c {
			c[i] = pos
			pos += m
		}
		for _, u := range a {
			d := byte(u >> shift)
			b[c[d]] = u
			c[d]++
		}
		a, b = b, a
	}
	if rest {
		sortRuns(a, shifts[use-1])
	}
	for i, u := range a {
		xs[i] = keyFloat(u)
	}
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

// sortRuns sorts every run of keys that agree above bit shift: keys
// sorted on their high bits are then fully sorted.
func sortRuns(a []uint64, shift uint8) {
	for i := 0; i < len(a); {
		hi := a[i] >> shift
		j := i + 1
		for j < len(a) && a[j]>>shift == hi {
			j++
		}
		switch run := a[i:j]; {
		case len(run) < 2:
		case len(run) <= 32:
			for p := 1; p < len(run); p++ {
				for q := p; q > 0 && run[q] < run[q-1]; q-- {
					run[q], run[q-1] = run[q-1], run[q]
				}
			}
		default:
			// Values that agree on 32 significant bits in bulk (a
			// contrived input): a comparison sort bounds the cost.
			slices.Sort(run)
		}
		i = j
	}
}

func insertionSort(xs []float64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
