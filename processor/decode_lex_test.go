package processor

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// firstSpecial is special8's contract spelled out byte by byte: the index
// of the first byte of w that is not plain, or 8.
func firstSpecial(w []byte) int {
	for j, c := range w {
		if !strPlain[c] {
			return j
		}
	}
	return 8
}

func TestSpecial8(t *testing.T) {
	check := func(w []byte) {
		t.Helper()
		got := 8
		if m := special8(binary.LittleEndian.Uint64(w)); m != 0 {
			got = bits.TrailingZeros64(m) / 8
		}
		if want := firstSpecial(w); got != want {
			t.Fatalf("% x: first special byte %d, want %d", w, got, want)
		}
	}
	// Every byte value at every position among plain bytes, and after a
	// special byte, where borrows may flag it.
	for pos := range 8 {
		for c := range 256 {
			for _, fill := range []byte{'a', ' ', '~', 0x1f, 0x80, '"'} {
				w := []byte("abcdefgh")
				for j := pos + 1; j < 8; j++ {
					w[j] = fill
				}
				w[pos] = byte(c)
				check(w)
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	w := make([]byte, 8)
	for range 1_000_000 {
		for j := range w {
			// Mostly plain bytes, some around the class boundaries.
			switch r.IntN(8) {
			case 0:
				w[j] = byte(r.IntN(256))
			case 1:
				w[j] = []byte{0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xff, 0}[r.IntN(12)]
			default:
				w[j] = byte(0x20 + r.IntN(0x60))
			}
		}
		check(w)
	}
}
