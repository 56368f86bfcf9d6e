package processor

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/stats"
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
// (36-byte event ids, handed over as bytes, as the decoder does, so the
// store's copy of each id is counted), to keep pendingEntryOverhead
// honest.
func BenchmarkJoinEntryBytes(b *testing.B) {
	const n = 200_000
	ids := make([][]byte, n)
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "%08x-0000-4000-8000-%012x", i, i)
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		j := newJoinStore(n+1, 1<<40)
		for i, id := range ids {
			j.addPrediction(j.id(id), pendingPrediction{ts: int64(i), model: "fraud", version: "v3",
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

// flushBench is a partition engine with one model of 10 numeric and 10
// categorical features against a baseline, as in the end-to-end benchmark.
type flushBench struct {
	e    *partitionEngine
	evs  []Event
	outs []Event
	n    int
}

func newFlushBench(b *testing.B) *flushBench {
	r := rand.New(rand.NewPCG(7, 8))
	names := make([]string, 20)
	for i := range 10 {
		names[i], names[10+i] = fmt.Sprintf("num_%02d", i), fmt.Sprintf("cat_%02d", i)
	}
	row := func(shift float64) []Feature {
		fs := make([]Feature, 20)
		for i := range 10 {
			fs[i] = Feature{names[i], Value{Kind: Number, Num: float64(i) + shift + r.NormFloat64()}}
			fs[10+i] = Feature{names[10+i], Value{Kind: String, Str: fmt.Sprintf("c%d", r.IntN(8+i))}}
		}
		return fs
	}
	base := stats.NewWindowAccumulator(nil, stats.AccumulatorOptions{SketchExactLimit: -1})
	for range 20_000 {
		base.AddEvent()
		for _, f := range row(0) {
			base.ObserveFeature(f.Name, stats.Value{Kind: stats.ValueKind(f.Value.Kind), Num: f.Value.Num, Str: f.Value.Str})
		}
		base.ObservePrediction(stats.StringValue("1"))
	}
	p0 := base.Profile(stats.DefaultBins)
	p0.Model, p0.Version, p0.Task, p0.PositiveLabel = "bench", "v1", stats.Binary, "1"
	// Through its file format, as driftd loads it.
	var buf bytes.Buffer
	if err := p0.Write(&buf); err != nil {
		b.Fatal(err)
	}
	p, err := stats.ReadProfile(&buf)
	if err != nil {
		b.Fatal(err)
	}
	cfg := testEngineConfig()
	cfg.Window.Size = time.Hour
	cfg.Window.RollingWindows = 0
	f := func(string, string) (windowState, string) {
		return newStatsState(p, stats.AccumulatorOptions{MaxCategories: cfg.Limits.MaxCategories}), "bench@1"
	}
	fb := &flushBench{e: newPartitionEngine(paramsFrom(&cfg), cfg.Join, f, 0)}
	for i := range 4096 {
		id := fmt.Appendf(nil, "evt-%08d", i)
		fb.evs = append(fb.evs, Event{Kind: Prediction, EventID: id, Model: "bench", Version: "v1",
			TS: t0, Features: row(0.2), Prediction: Value{Kind: String, Str: fmt.Sprint(i % 2)},
			Score: r.Float64(), HasScore: true, LatencyMS: 3 + r.ExpFloat64(), HasLatency: true})
		fb.outs = append(fb.outs, Event{Kind: Outcome, EventID: id, Model: "bench", TS: t0, Label: Value{Kind: String, Str: fmt.Sprint(r.IntN(2))}})
	}
	return fb
}

// feed applies n predictions, each followed 20 events later by its outcome.
func (fb *flushBench) feed(n int) {
	for range n {
		i := fb.n
		ev := fb.evs[i%len(fb.evs)]
		ev.TS = t0 + int64(i/1000) // 1,000 events a millisecond: all in one window
		fb.e.prediction(&ev, 0)
		if i >= 20 {
			fb.e.outcome(&fb.outs[(i-20)%len(fb.outs)], 0)
		}
		fb.n++
	}
}

// BenchmarkFlush measures a checkpoint of a partition whose open window
// holds events events: "worker" is what the partition's goroutine spends
// (freeze), "encode" what the flush goroutine then spends. Each op first
// applies 100 events, so the open window has changed, as it always has.
func BenchmarkFlush(b *testing.B) {
	for _, events := range []int{20_000, 400_000} {
		fb := newFlushBench(b)
		fb.feed(events)
		b.Run(fmt.Sprintf("events=%d/worker", events), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				fb.feed(100)
				b.StartTimer()
				if _, err := fb.e.freeze(1, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("events=%d/encode", events), func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				b.StopTimer()
				fb.feed(100)
				s, err := fb.e.freeze(1, 1)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				enc, err := s.encode()
				if err != nil {
					b.Fatal(err)
				}
				size = len(enc)
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// BenchmarkResults measures emitting a closed window of 400,000 events
// that took a late label: "worker" is takePendingResults on the
// partition's goroutine, "complete" the reports then computed on the
// flush goroutine (completeResults).
func BenchmarkResults(b *testing.B) {
	fb := newFlushBench(b)
	fb.feed(400_000)
	fb.e.advance(t0+2*time.Hour.Milliseconds(), 0) // closes the window
	fb.e.takeResults()
	late := 0
	pending := func(b *testing.B) []WindowResult {
		o := fb.outs[late%len(fb.outs)]
		o.HasPrediction, o.PredictionTS, o.Version, o.Prediction = true, t0, "v1", Value{Kind: String, Str: "1"}
		o.EventID = fmt.Appendf(nil, "late-%d", late)
		late++
		fb.e.outcome(&o, 0)
		rs := fb.e.takePendingResults()
		if len(rs) != 1 {
			b.Fatalf("%d results", len(rs))
		}
		return rs
	}
	b.Run("worker", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pending(b)
		}
	})
	b.Run("complete", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			rs := pending(b)
			b.StartTimer()
			completeResults(rs)
			if rs[0].Features == nil {
				b.Fatal("no report")
			}
		}
	})
}

// BenchmarkEngineEvent is the engine's part of an event, decoding aside:
// one prediction of 10 numeric and 10 categorical features against a
// baseline, and the outcome of the prediction 20 events earlier.
func BenchmarkEngineEvent(b *testing.B) {
	fb := newFlushBench(b)
	fb.feed(2 * stats.DefaultSketchExactLimit)
	b.ReportAllocs()
	for b.Loop() {
		fb.feed(1)
	}
}

// joinBenchPending is how many predictions wait for their outcome in the
// join-store benchmarks, as under the end-to-end benchmark's hot partition.
const joinBenchPending = 50_000

// joinBenchIDs are 36-byte event ids, as strings and as bytes (as the
// store gets them from the decoder).
func joinBenchIDs(n int) ([]string, [][]byte) {
	ids, raw := make([]string, n), make([][]byte, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i*7919, i)
		raw[i] = []byte(ids[i])
	}
	return ids, raw
}

// BenchmarkJoinStore measures the join store with joinBenchPending
// predictions pending: each op adds a prediction and takes the one added
// joinBenchPending ops earlier; every 1,024 ops an expiry pass (which
// expires nothing) compacts the queue, as the engine's watermark advances.
func BenchmarkJoinStore(b *testing.B) {
	const n = 4 * joinBenchPending
	_, raw := joinBenchIDs(n)
	j := newJoinStore(10*joinBenchPending, 1<<40)
	add := func(i int) {
		j.addPrediction(j.id(raw[i%n]), pendingPrediction{ts: int64(i), model: "fraud", version: "v3",
			winStart: int64(i / 1000), pred: Value{Kind: String, Str: "1"}, score: 0.5, hasScore: true})
	}
	for i := range joinBenchPending {
		add(i)
	}
	b.ReportAllocs()
	i := joinBenchPending
	for b.Loop() {
		add(i)
		if _, ok := j.takePrediction(j.id(raw[(i-joinBenchPending)%n])); !ok {
			b.Fatal("pending prediction not found")
		}
		if i%1024 == 0 {
			j.expire(int64(i-2*joinBenchPending), 0)
		}
		i++
	}
	if j.stats.Entries != joinBenchPending || j.stats.Expired != 0 || j.stats.Evicted != 0 {
		b.Fatalf("stats %+v", j.stats)
	}
}

// BenchmarkJoinFreeze measures the join store's part of a checkpoint on
// the partition's goroutine: freeze with joinBenchPending predictions
// pending, half of the queued entries already joined.
func BenchmarkJoinFreeze(b *testing.B) {
	fb := newFlushBench(b)
	fb.feed(1000)
	_, raw := joinBenchIDs(2 * joinBenchPending)
	for i := range raw {
		fb.e.join.addPrediction(fb.e.join.id(raw[i]), pendingPrediction{ts: t0, model: "bench", version: "v1",
			winStart: t0, pred: Value{Kind: String, Str: "1"}, score: 0.5, hasScore: true})
		if i%2 == 1 {
			fb.e.join.takePrediction(fb.e.join.id(raw[i-1]))
		}
	}
	if _, err := fb.e.freeze(1, 1); err != nil { // encodes the window once
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := fb.e.freeze(1, 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Preds) < joinBenchPending {
			b.Fatalf("%d pending in the snapshot", len(s.Preds))
		}
	}
}

// BenchmarkEngineEventPending is BenchmarkEngineEvent with
// joinBenchPending predictions waiting for their outcomes, as on the
// end-to-end benchmark's hot partition: each op is one prediction and the
// outcome of the prediction joinBenchPending events earlier.
func BenchmarkEngineEventPending(b *testing.B) {
	fb := newFlushBench(b)
	const n = 4 * joinBenchPending
	_, raw := joinBenchIDs(n)
	feed := func(i int) {
		ev := fb.evs[i%len(fb.evs)]
		ev.EventID, ev.TS = raw[i%n], t0+int64(i/1000)
		fb.e.prediction(&ev, 0)
		if i >= joinBenchPending {
			o := fb.outs[i%len(fb.outs)]
			o.EventID = raw[(i-joinBenchPending)%n]
			fb.e.outcome(&o, 0)
		}
	}
	i := 0
	for ; i < 2*joinBenchPending; i++ {
		feed(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		feed(i)
		i++
	}
	if js := fb.e.join.stats; js.Entries != joinBenchPending || js.Misses != 0 {
		b.Fatalf("join stats %+v", js)
	}
}

// BenchmarkEngineEventModels is BenchmarkEngineEvent with the events of
// eight models interleaved, as on a partition several models share: the
// window of an event is rarely the previous event's.
func BenchmarkEngineEventModels(b *testing.B) {
	fb := newFlushBench(b)
	models := make([]string, 8)
	for m := range models {
		models[m] = fmt.Sprint("model-", m)
	}
	for i := range fb.evs {
		fb.evs[i].Model = models[(i*5+i/3)%len(models)]
		fb.outs[i].Model = fb.evs[i].Model
	}
	fb.feed(2 * stats.DefaultSketchExactLimit * len(models))
	b.ReportAllocs()
	for b.Loop() {
		fb.feed(1)
	}
}
