package stats

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

const benchFeatures = 10 // numeric and as many categorical

var (
	benchNumNames = func() []string {
		s := make([]string, benchFeatures)
		for i := range s {
			s[i] = fmt.Sprintf("num_%02d", i)
		}
		return s
	}()
	benchCatNames = func() []string {
		s := make([]string, benchFeatures)
		for i := range s {
			s[i] = fmt.Sprintf("cat_%02d", i)
		}
		return s
	}()
	benchCats = []string{"DE", "FR", "US", "GB", "IT", "ES", "NL", "PL", "SE", "AT", "CH", "BE"}
)

// benchRow fills one synthetic 20-feature row.
func benchRow(r *rand.Rand, num []float64, cat []string, shift float64) {
	for i := range num {
		num[i] = float64(i) + shift + r.NormFloat64()*(1+float64(i)/10)
	}
	for i := range cat {
		cat[i] = benchCats[min(r.IntN(8+i/3)+int(shift), len(benchCats)-1)]
	}
}

// benchProfile is a 20-feature baseline built from 50,000 rows.
func benchProfile(b *testing.B) *Profile {
	r := rand.New(rand.NewPCG(1, 2))
	w := NewWindowAccumulator(nil, AccumulatorOptions{SketchExactLimit: -1})
	num, cat := make([]float64, benchFeatures), make([]string, benchFeatures)
	for i := 0; i < 50_000; i++ {
		benchRow(r, num, cat, 0)
		w.AddEvent()
		for j := range num {
			w.ObserveFeature(benchNumNames[j], NumberValue(num[j]))
			w.ObserveFeature(benchCatNames[j], StringValue(cat[j]))
		}
	}
	p := w.Profile(DefaultBins)
	// A profile's sketch is bounded like a window's.
	for i := range p.Features {
		if sk := p.Features[i].Sketch; sk != nil {
			b := NewSketch(0)
			b.Merge(sk)
			p.Features[i].Sketch = b
		}
	}
	return p
}

// benchEvents is a pool of events drifted from benchProfile's rows.
func benchEvents() (nums [][]float64, cats [][]string) {
	r := rand.New(rand.NewPCG(3, 4))
	const pool = 4096
	nums = make([][]float64, pool)
	cats = make([][]string, pool)
	for i := range nums {
		nums[i], cats[i] = make([]float64, benchFeatures), make([]string, benchFeatures)
		benchRow(r, nums[i], cats[i], 0.3)
	}
	return nums, cats
}

// warmWindow returns a window whose sketches are past their exact phase,
// as most of a busy window's events find them.
func warmWindow(p *Profile, nums [][]float64, cats [][]string) *WindowAccumulator {
	w := NewWindowAccumulator(p, AccumulatorOptions{})
	for i := 0; i < 2*DefaultSketchExactLimit; i++ {
		num, cat := nums[i%len(nums)], cats[i%len(cats)]
		w.AddEvent()
		for j := 0; j < benchFeatures; j++ {
			w.ObserveFeature(benchNumNames[j], NumberValue(num[j]))
			w.ObserveFeature(benchCatNames[j], StringValue(cat[j]))
		}
		w.ObservePrediction(StringValue(cat[0]))
	}
	return w
}

// cpuTimer reports the benchmark's CPU time per op (see threadCPU).
func cpuTimer(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		if cpu := threadCPU() - start; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
		runtime.UnlockOSThread()
	}
}

// BenchmarkObserveEvent is the per-event hot path by feature name: one
// event with 10 numeric and 10 categorical features and a prediction.
func BenchmarkObserveEvent(b *testing.B) {
	nums, cats := benchEvents()
	w := warmWindow(benchProfile(b), nums, cats)
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuTimer(b)()
	for i := 0; i < b.N; i++ {
		num, cat := nums[i%len(nums)], cats[i%len(cats)]
		w.AddEvent()
		for j := 0; j < benchFeatures; j++ {
			w.ObserveFeature(benchNumNames[j], Value{Kind: Number, Num: num[j]})
			w.ObserveFeature(benchCatNames[j], Value{Kind: String, Str: cat[j]})
		}
		w.ObservePrediction(Value{Kind: String, Str: cat[0]})
	}
}

// BenchmarkObserveEventSlots is BenchmarkObserveEvent through feature
// slots resolved once per profile, as the engine can do.
func BenchmarkObserveEventSlots(b *testing.B) {
	nums, cats := benchEvents()
	p := benchProfile(b)
	w := warmWindow(p, nums, cats)
	var numSlot, catSlot [benchFeatures]int
	for j := range numSlot {
		numSlot[j], catSlot[j] = w.FeatureSlot(benchNumNames[j]), w.FeatureSlot(benchCatNames[j])
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuTimer(b)()
	for i := 0; i < b.N; i++ {
		num, cat := nums[i%len(nums)], cats[i%len(cats)]
		w.AddEvent()
		for j := 0; j < benchFeatures; j++ {
			w.ObserveNumericAt(numSlot[j], num[j])
			w.ObserveCategoryAt(catSlot[j], cat[j])
		}
		w.ObservePrediction(Value{Kind: String, Str: cat[0]})
	}
}

// BenchmarkWindowReport computes every measure of a closed window of
// 100,000 events (sketches compacted) against a 20-feature profile.
func BenchmarkWindowReport(b *testing.B) {
	p := benchProfile(b)
	r := rand.New(rand.NewPCG(5, 6))
	w := NewWindowAccumulator(p, AccumulatorOptions{})
	num, cat := make([]float64, benchFeatures), make([]string, benchFeatures)
	for i := 0; i < 100_000; i++ {
		benchRow(r, num, cat, 0.2)
		w.AddEvent()
		for j := range num {
			w.ObserveFeature(benchNumNames[j], NumberValue(num[j]))
			w.ObserveFeature(benchCatNames[j], StringValue(cat[j]))
		}
		w.ObserveOutcome(StringValue(cat[0]), num[0], true, StringValue(cat[1]))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rep := w.Report(); len(rep.Features) != 2*benchFeatures {
			b.Fatal("missing features")
		}
	}
}

func writeBenchCSV(b *testing.B, path string, rows int, shift float64, seed uint64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	for j := 0; j < benchFeatures; j++ {
		fmt.Fprintf(bw, "%s,%s", benchNumNames[j], benchCatNames[j])
		if j+1 < benchFeatures {
			bw.WriteByte(',')
		}
	}
	bw.WriteByte('\n')
	r := rand.New(rand.NewPCG(seed, 1))
	num, cat := make([]float64, benchFeatures), make([]string, benchFeatures)
	var buf []byte
	for i := 0; i < rows; i++ {
		benchRow(r, num, cat, shift)
		buf = buf[:0]
		for j := range num {
			buf = strconv.AppendFloat(buf, num[j], 'f', 4, 64)
			buf = append(buf, ',')
			buf = append(buf, cat[j]...)
			if j+1 < benchFeatures {
				buf = append(buf, ',')
			}
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// BenchmarkCompare1M is `driftd compare` of a 1,000,000-row, 20-column
// current file against a 100,000-row baseline file, with exact KS and
// Wasserstein (all values kept). Reports current rows per second.
func BenchmarkCompare1M(b *testing.B) {
	dir := b.TempDir()
	base, cur := filepath.Join(dir, "baseline.csv"), filepath.Join(dir, "current.csv")
	writeBenchCSV(b, base, 100_000, 0, 1)
	const rows = 1_000_000
	writeBenchCSV(b, cur, rows, 0.1, 2)
	opts := TableOptions{Numeric: benchNumNames, Categorical: benchCatNames}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		rep, err := Compare(base, nil, cur, opts)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Rows.Current != rows {
			b.Fatalf("read %d rows", rep.Rows.Current)
		}
	}
	b.ReportMetric(float64(rows*b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkSketchAdd is one value into a sketch past its exact phase:
// mostly the amortised cost of compaction's sort.
func BenchmarkSketchAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	xs := make([]float64, 1<<16)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	s := NewSketch(0)
	for i := 0; i < 2*DefaultSketchExactLimit; i++ {
		s.Add(xs[i%len(xs)])
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuTimer(b)()
	for i := 0; i < b.N; i++ {
		s.Add(xs[i%len(xs)])
	}
}
