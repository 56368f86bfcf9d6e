package stats

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestCatCountsRecentEqualsLookup feeds one stream of categories through
// add (recent addresses first) and through the table alone: names, order
// and counts must agree. The stream repeats the same strings (as interned
// values are), equal strings at other addresses, prefixes sharing an
// address, and enough names to grow the table and reach the cap.
func TestCatCountsRecentEqualsLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	base := strings.Repeat("abcdefghijklmnopqrstuvwxyz", 2)
	var pool []string
	for i := 0; i < 40; i++ {
		pool = append(pool, base[:1+i%30]) // prefixes: one address, many lengths
		pool = append(pool, strings.Clone(base[i%10:i%10+3]))
	}
	for _, maxCats := range []int{-1, 25, 3} {
		fast, slow := newCatCounts(), newCatCounts()
		for i := range 20_000 {
			s := pool[r.IntN(len(pool))]
			if r.IntN(10) == 0 {
				s = strings.Clone(s) // equal bytes, another address
			}
			n := int64(1 + r.IntN(3))
			fast.add(s, n, maxCats)
			slow.table[slow.lookupAdd(s, maxCats)].count += n
			if i == 12_000 {
				fast.reset()
				slow.reset()
			}
		}
		if !slices.Equal(fast.names, slow.names) {
			t.Fatalf("maxCats %d: names %q, want %q", maxCats, fast.names, slow.names)
		}
		for i := range fast.names {
			if fast.count(i) != slow.count(i) {
				t.Fatalf("maxCats %d: count of %q is %d, want %d", maxCats, fast.names[i], fast.count(i), slow.count(i))
			}
		}
	}
}

// TestLabelIDRecentEqualsMap: labelID through its recent labels gives
// every label the index the map holds, as labels come and go from recent.
func TestLabelIDRecentEqualsMap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a := newPerfAccumulator("", "", 0)
	labels := []string{"0", "1", "yes", "no", "10", "1.0", "cat", "dog", "", "7"}
	for range 5000 {
		s := labels[r.IntN(len(labels))]
		if r.IntN(3) == 0 {
			s = strings.Clone(s)
		}
		id := a.labelID(s)
		if want, ok := a.labelIdx[s]; !ok || id != want || a.labels[id] != s {
			t.Fatalf("labelID(%q) = %d, map has %d (%v)", s, id, want, ok)
		}
	}
}
