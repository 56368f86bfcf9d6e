package processor

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchOutcome is the outcome of benchPrediction(i).
func benchOutcome(i int) []byte {
	return fmt.Appendf(nil, `{"event_id":"evt-%08d","model":"fraud","ts":"2026-11-23T11:00:00Z","label":"%d"}`, i, i%2)
}

// BenchmarkPipeline measures decode + join + window per event on one
// goroutine (run with -cpu 1 for the one-core figure): each op is one
// prediction and, 20 events later, its outcome.
func BenchmarkPipeline(b *testing.B) {
	cfg := testEngineConfig()
	cfg.Window.Size = time.Hour
	const n = 4096
	preds := make([][]byte, n)
	outs := make([][]byte, n)
	for i := range n {
		preds[i], outs[i] = benchPrediction(i), benchOutcome(i)
	}
	d := NewDecoder(cfg.Limits, nil)
	e := newPartitionEngine(paramsFrom(&cfg), cfg.Join, engineFactory(&cfg), 0)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; b.Loop(); i++ {
		ev, err := d.Decode(Prediction, preds[i%n])
		if err != nil {
			b.Fatal(err)
		}
		e.prediction(ev, 0)
		if i >= 20 {
			ev, err := d.Decode(Outcome, outs[(i-20)%n])
			if err != nil {
				b.Fatal(err)
			}
			e.outcome(ev, 0)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "predictions/s")
	// CPU time, not wall time: on a shared box this is the per-core rate.
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "predictions/cpu-s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkJoinEntryBytes measures the heap held per pending prediction
// (36-byte event ids), to keep pendingEntryOverhead honest.
func BenchmarkJoinEntryBytes(b *testing.B) {
	const n = 200_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		j := newJoinStore(n+1, 1<<40)
		for i, id := range ids {
			j.addPrediction(id, pendingPrediction{ts: int64(i), model: "fraud", version: "v3",
				pred: Value{Kind: String, Str: "1"}, score: 0.5, hasScore: true})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/entry")
		b.ReportMetric(float64(j.stats.Bytes)/n, "estimated-bytes/entry")
		runtime.KeepAlive(j)
	}
}

// BenchmarkPeakRSS100Models50Features runs one hour-long window for each
// of 100 models with 50 features (a third categorical) plus pending joins,
// and reports the process's peak RSS (VmHWM).
func BenchmarkPeakRSS100Models50Features(b *testing.B) {
	cfg := testEngineConfig()
	cfg.Window.Size = time.Hour
	cfg.Window.RollingWindows = 24
	const events = 200_000
	for b.Loop() {
		d := NewDecoder(cfg.Limits, nil)
		e := newPartitionEngine(paramsFrom(&cfg), cfg.Join, engineFactory(&cfg), 0)
		var sb strings.Builder
		for i := range events {
			sb.Reset()
			fmt.Fprintf(&sb, `{"event_id":"e%d","model":"model-%03d","model_version":"v1","ts":%d,"features":{`, i, i%100, t0+int64(i)*18)
			for f := range 50 {
				if f > 0 {
					sb.WriteByte(',')
				}
				if f%3 == 0 {
					fmt.Fprintf(&sb, `"f%02d":"c%d"`, f, (i*7+f)%40)
				} else {
					fmt.Fprintf(&sb, `"f%02d":%d.5`, f, (i*31+f*17)%1000)
				}
			}
			sb.WriteString(`},"prediction":{"label":"1","score":0.5},"latency_ms":3}`)
			ev, err := d.Decode(Prediction, []byte(sb.String()))
			if err != nil {
				b.Fatal(err)
			}
			e.prediction(ev, 0)
		}
		b.ReportMetric(float64(len(e.windows)), "windows")
		runtime.KeepAlive(e)
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
