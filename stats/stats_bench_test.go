package stats

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
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

// BenchmarkObserveEvent is the per-event hot path: one event with 10
// numeric and 10 categorical features and a prediction.
func BenchmarkObserveEvent(b *testing.B) {
	p := benchProfile(b)
	r := rand.New(rand.NewPCG(3, 4))
	const pool = 4096
	nums := make([][]float64, pool)
	cats := make([][]string, pool)
	for i := range nums {
		nums[i], cats[i] = make([]float64, benchFeatures), make([]string, benchFeatures)
		benchRow(r, nums[i], cats[i], 0.3)
	}
	w := NewWindowAccumulator(p, AccumulatorOptions{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		num, cat := nums[i%pool], cats[i%pool]
		w.AddEvent()
		for j := 0; j < benchFeatures; j++ {
			w.ObserveFeature(benchNumNames[j], Value{Kind: Number, Num: num[j]})
			w.ObserveFeature(benchCatNames[j], Value{Kind: String, Str: cat[j]})
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
