package alerts

import (
	"context"
	"fmt"
	"testing"

	"github.com/driftd/driftd/processor"
)

// BenchmarkWriteWindows measures one window of 50 features against three
// rules, half of them breaching, including the fsync'd state and outbox
// writes.
func BenchmarkWriteWindows(b *testing.B) {
	cfg := Config{
		Rules:   []Rule{{Metric: "psi"}, {Metric: "js"}, {Metric: "f1", Threshold: Num(0.8)}},
		Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")},
	}
	e, err := NewEngine(cfg, Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var opts []func(*processor.WindowResult)
		for f := range 50 {
			v := 0.01
			if (f+i)%2 == 0 {
				v = 0.5
			}
			opts = append(opts, psi(fmt.Sprintf("f%02d", f), v, 1000))
		}
		w := window(i, opts...)
		for name, fr := range w.Features {
			fr.JS = fr.PSI
			w.Features[name] = fr
		}
		if err := e.WriteWindows(context.Background(), []processor.WindowResult{w}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
