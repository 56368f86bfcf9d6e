package simulate

import (
	"context"
	"io"
	"testing"
	"time"
)

// BenchmarkNext measures generation alone: one op is one event (prediction
// or outcome) of the demo scenario, encoded into a reused buffer.
func BenchmarkNext(b *testing.B) {
	sc := demoScenario(b, 0)
	g := NewGenerator(sc, 1)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	var bytes int64
	for b.Loop() {
		ev, ok := g.Next(buf)
		if !ok {
			g = NewGenerator(sc, 1)
			continue
		}
		bytes += int64(len(ev.Value))
		buf = ev.Value[:0]
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkWriteFiles measures the file mode end to end (generation and
// buffered newline-delimited writes) on the synthetic 20-feature model the
// peer benchmarks use; one op is one event, half predictions and half
// outcomes.
func BenchmarkWriteFiles(b *testing.B) {
	const rate = 1000
	rows := max(1, b.N/2)
	sc := SyntheticScenario(demoScenario(b, 0).Start, time.Duration(rows)*time.Second/rate, rate,
		SyntheticModel("bench", []string{"v1"}, 10, 10))
	if err := sc.Validate(); err != nil {
		b.Fatal(err)
	}
	g := NewGenerator(sc, 1)
	b.ReportAllocs()
	b.ResetTimer()
	st, err := WriteFiles(context.Background(), g, io.Discard, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if st.Predictions != int64(rows) || st.Outcomes != int64(rows) {
		b.Fatalf("wrote %d predictions and %d outcomes, want %d each", st.Predictions, st.Outcomes, rows)
	}
	b.SetBytes(st.Bytes / int64(b.N))
	b.ReportMetric(float64(st.Predictions+st.Outcomes)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(st.Predictions)/b.Elapsed().Seconds(), "predictions/s")
}
