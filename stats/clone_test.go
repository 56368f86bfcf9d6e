package stats

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestCloneIsIndependentCopy: a clone encodes and reports like the
// original at the time of cloning, whatever is observed into either
// afterwards, with exact and with compacted sketches, with and without a
// profile.
func TestCloneIsIndependentCopy(t *testing.T) {
	p := testProfile(t)
	for _, tc := range []struct {
		name    string
		profile *Profile
		events  int
	}{
		{"exact", p, 2000},
		{"compacted", p, 3 * DefaultSketchExactLimit},
		{"no profile", nil, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(31, uint64(tc.events)))
			w := NewWindowAccumulator(tc.profile, AccumulatorOptions{})
			feedEvents(w, randomEvents(r, tc.events, 0.3))
			wantBytes, wantReport := stateBytes(t, w), reportJSON(t, w)
			c := w.Clone()
			if got := stateBytes(t, c); !bytes.Equal(got, wantBytes) {
				t.Fatal("clone encodes differently from the original")
			}
			if reportJSON(t, c) != wantReport {
				t.Fatal("clone reports differently from the original")
			}
			// Both go on, differently: neither may see the other's events.
			more := randomEvents(r, 5000, 1)
			feedEvents(w, more[:2500])
			feedEvents(c, more[2500:])
			twin := NewWindowAccumulator(tc.profile, AccumulatorOptions{})
			if err := twin.UnmarshalBinary(wantBytes); err != nil {
				t.Fatal(err)
			}
			feedEvents(twin, more[2500:])
			if !bytes.Equal(stateBytes(t, c), stateBytes(t, twin)) || reportJSON(t, c) != reportJSON(t, twin) {
				t.Error("the clone's later state depends on the original's events")
			}
			c2 := NewWindowAccumulator(tc.profile, AccumulatorOptions{})
			if err := c2.UnmarshalBinary(wantBytes); err != nil {
				t.Fatal(err)
			}
			feedEvents(c2, more[:2500])
			if !bytes.Equal(stateBytes(t, w), stateBytes(t, c2)) {
				t.Error("the original's later state depends on the clone's events")
			}
		})
	}
}
