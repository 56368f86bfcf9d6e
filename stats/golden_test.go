package stats

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// goldenStreams are value streams that exercise compaction: ties, ±0,
// sorted runs, values that vary only in low bytes and wide ranges.
var goldenStreams = []struct {
	name string
	gen  func(r *rand.Rand, i int) float64
}{
	{"normal", func(r *rand.Rand, _ int) float64 { return r.NormFloat64() }},
	{"ties and signed zeros", func(r *rand.Rand, i int) float64 {
		x := math.Round(r.NormFloat64()*3) / 4
		if x == 0 && i%2 == 0 {
			return math.Copysign(0, -1)
		}
		return x
	}},
	{"sorted", func(_ *rand.Rand, i int) float64 { return float64(i) * 0.25 }},
	{"descending", func(_ *rand.Rand, i int) float64 { return -float64(i) }},
	{"low bytes only", func(r *rand.Rand, _ int) float64 { return 1.7e9 + r.Float64()*1000 }},
	{"wide range", func(r *rand.Rand, _ int) float64 { return r.NormFloat64() * math.Pow(10, float64(r.IntN(600)-300)) }},
	{"lognormal", func(r *rand.Rand, _ int) float64 { return math.Exp(3 * r.NormFloat64()) }},
	{"constant", func(*rand.Rand, int) float64 { return 42 }},
	{"phase change", func(r *rand.Rand, i int) float64 {
		if (i/20_000)%2 == 0 {
			return r.NormFloat64()
		}
		return float64(r.IntN(5)) + 1e6
	}},
}

// goldenSketchDigest hashes the encodings and points of sketches fed the
// golden streams, some merged and encoded midway.
func goldenSketchDigest() string {
	h := sha256.New()
	for si, st := range goldenStreams {
		for _, limit := range []int{0, 300} {
			r := rand.New(rand.NewPCG(uint64(si), 99))
			a, b := NewSketch(limit), NewSketch(limit)
			for i := range 150_000 {
				x := st.gen(r, i)
				if i%3 == 0 {
					b.Add(x)
				} else {
					a.Add(x)
				}
				if i%40_000 == 39_999 {
					e := &encoder{}
					a.encode(e)
					h.Write(e.b)
				}
			}
			for _, s := range []*Sketch{a, b} {
				e := &encoder{}
				s.encode(e)
				h.Write(e.b)
			}
			a.Merge(b)
			e := &encoder{}
			a.encode(e)
			h.Write(e.b)
			for _, p := range a.Points() {
				h.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(p.V)))
				h.Write(binary.LittleEndian.AppendUint64(nil, uint64(p.W)))
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// goldenWindowDigest hashes the checkpoint bytes of a window fed events
// through every observe path, with outcomes and latencies.
func goldenWindowDigest() string {
	h := sha256.New()
	nums, cats := benchEvents()
	p := benchProfile(nil)
	w := NewWindowAccumulator(p, AccumulatorOptions{MaxCategories: 9})
	var numSlot, catSlot [benchFeatures]int
	for j := range numSlot {
		numSlot[j], catSlot[j] = w.FeatureSlot(benchNumNames[j]), w.FeatureSlot(benchCatNames[j])
	}
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 60_000 {
		num, cat := nums[i%len(nums)], cats[(i/3)%len(cats)]
		w.AddEvent()
		for j := 0; j < benchFeatures; j++ {
			x, c := num[j]+float64(i%7), cat[j]
			switch i % 5 {
			case 0:
				w.ObserveFeature(benchNumNames[j], NumberValue(x))
				w.ObserveFeature(benchCatNames[j], StringValue(c))
			case 1:
				w.ObserveAt(numSlot[j], NumberValue(x))
				w.ObserveAt(catSlot[j], StringValue(c))
			case 2:
				if j%4 == 0 {
					x, c = math.NaN(), ""
				}
				fallthrough
			default:
				w.ObserveNumericAt(numSlot[j], x)
				w.ObserveCategoryAt(catSlot[j], c)
			}
		}
		w.ObservePrediction(StringValue(cat[0]))
		w.ObserveLatency(3 + r.ExpFloat64())
		if i%2 == 0 {
			w.ObserveOutcome(StringValue(cat[1]), r.Float64(), true, StringValue(cat[2]))
		}
		if i%25_000 == 24_999 {
			b, err := w.MarshalBinary()
			if err != nil {
				panic(err)
			}
			h.Write(b)
		}
	}
	b, err := w.MarshalBinary()
	if err != nil {
		panic(err)
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// The digests pin the bytes the code produced before its per-event path
// was optimised: a faster sort, merge or lookup must keep what the sketch
// and the counts hold, so that a replay gives the same checkpoints.
const (
	goldenSketchSHA = "4ef3c4872906058e9f4763e37c0017942e7ed4090b5a75fb4196ccb31a86bfaf"
	goldenWindowSHA = "46f4b61332a6cc9e4dc531a50f6ca774573e74da119fbcbb3b33d8111952a425"
)

func TestGoldenSketchBytes(t *testing.T) {
	if got := goldenSketchDigest(); got != goldenSketchSHA || os.Getenv("DRIFTD_PRINT_GOLDEN") != "" {
		t.Errorf("sketch digest %s, want %s", got, goldenSketchSHA)
	}
}

func TestGoldenWindowBytes(t *testing.T) {
	if got := goldenWindowDigest(); got != goldenWindowSHA || os.Getenv("DRIFTD_PRINT_GOLDEN") != "" {
		t.Errorf("window digest %s, want %s", got, goldenWindowSHA)
	}
}
