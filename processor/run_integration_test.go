package processor

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/internal/testservices"
	"github.com/driftd/driftd/stats"
)

// keyBalancer sends keys "__p<N>" to partition N and hashes the rest like
// producers keying by model would (FNV-1a, stable across runs).
type keyBalancer struct{}

func (keyBalancer) Balance(m kafka.Message, partitions ...int) int {
	if k := string(m.Key); strings.HasPrefix(k, "__p") {
		n, _ := strconv.Atoi(k[3:])
		return partitions[n%len(partitions)]
	}
	h := fnv.New32a()
	h.Write(m.Key)
	return partitions[int(h.Sum32()%uint32(len(partitions)))]
}

func produce(t testing.TB, brokers []string, topic string, msgs []streamMsg) {
	t.Helper()
	// An own transport: the shared default one caches metadata and may
	// not know a topic created a moment ago.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: keyBalancer{}, Transport: tr,
		BatchSize: 1000, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll, BatchBytes: 900 << 10}
	defer w.Close()
	const chunk = 5000
	for i := 0; i < len(msgs); i += chunk {
		batch := make([]kafka.Message, 0, chunk)
		for _, m := range msgs[i:min(len(msgs), i+chunk)] {
			batch = append(batch, kafka.Message{Key: []byte(m.key), Value: m.b})
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := w.WriteMessages(ctx, batch...)
		cancel()
		if err != nil {
			msg := err.Error()
			t.Fatalf("producing to %s: %s", topic, msg[:min(len(msg), 300)])
		}
	}
}

// endMarkers are predictions, one per partition, whose event time closes
// every window of the stream (but drops none), so a test need not wait for
// the idle timeout.
func endMarkers(partitions int, lastTS int64, cfg *Config) []streamMsg {
	ts := lastTS + cfg.Window.Size.Milliseconds() + cfg.Window.AllowedLateness.Milliseconds() + 1
	var out []streamMsg
	for p := range partitions {
		out = append(out, streamMsg{Prediction, fmt.Sprint("__p", p), fmt.Appendf(nil,
			`{"event_id":"end-%d","model":"zz-end","model_version":"v1","ts":%d,"features":{},"prediction":"0"}`, p, ts)})
	}
	return out
}

// recorder is an in-memory Sink keeping every result it accepted.
type recorder struct {
	mu      sync.Mutex
	results []WindowResult
	fail    error
}

func (r *recorder) WriteWindows(_ context.Context, rs []WindowResult) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.results = append(r.results, rs...)
	return nil
}

// final returns the highest revision of each window (zz-end left out) and
// fails on two different contents under one revision.
func (r *recorder) final(t testing.TB) map[WindowID]WindowResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[WindowID]WindowResult{}
	for _, x := range r.results {
		if x.ID.Model == "zz-end" {
			continue
		}
		old, ok := out[x.ID]
		switch {
		case !ok || x.Revision > old.Revision:
			out[x.ID] = x
		case x.Revision == old.Revision && !reflect.DeepEqual(x, old):
			t.Errorf("window %v revision %d delivered with two contents", x.ID, x.Revision)
		}
	}
	return out
}

// batch computes the expected windows by feeding every prediction and its
// outcome straight into one state per window: the "batch" side of stream
// equals batch.
func batch(t testing.TB, cfg *Config, f stateFactory, preds, outs []streamMsg) map[WindowID]WindowResult {
	d := NewDecoder(cfg.Limits, nil)
	size := cfg.Window.Size.Milliseconds()
	states := map[winKey]windowState{}
	type pinfo struct {
		k     winKey
		pred  Value
		score float64
		has   bool
	}
	info := map[string]pinfo{}
	for _, m := range preds {
		ev, err := d.Decode(Prediction, m.b)
		if err != nil {
			continue
		}
		k := winKey{ev.Model, ev.Version, floorDiv(ev.TS, size) * size}
		st := states[k]
		if st == nil {
			st, _ = f(k.model, k.version)
			states[k] = st
		}
		st.AddEvent()
		for _, ft := range ev.Features {
			st.ObserveFeature(ft.Name, ft.Value)
		}
		st.ObservePrediction(ev.Prediction)
		if ev.HasLatency {
			st.ObserveLatency(ev.LatencyMS)
		}
		info[string(ev.EventID)] = pinfo{k, ev.Prediction, ev.Score, ev.HasScore}
	}
	for _, m := range outs {
		ev, err := d.Decode(Outcome, m.b)
		if err != nil {
			continue
		}
		if p, ok := info[string(ev.EventID)]; ok {
			states[p.k].ObserveOutcome(p.pred, p.score, p.has, ev.Label)
		}
	}
	e := &partitionEngine{p: paramsFrom(cfg)}
	out := map[WindowID]WindowResult{}
	for k, st := range states {
		r := e.result(k, size, 1+uint64(st.Labelled()), "", 0, st)
		out[r.ID] = r
	}
	return out
}

func engineFactory(cfg *Config) stateFactory {
	return func(string, string) (windowState, string) {
		return newStatsState(nil, stats.AccumulatorOptions{MaxCategories: cfg.Limits.MaxCategories}), ""
	}
}

type fixture struct {
	brokers []string
	cfg     Config
}

func newFixture(t *testing.T, partitions int) *fixture {
	brokers := testservices.Kafka(t)
	cfg := testEngineConfig()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Topics = TopicConfig{
		Predictions: testservices.UniqueName(t, "pred"), Outcomes: testservices.UniqueName(t, "out"),
		DeadLetters: testservices.UniqueName(t, "dlq"), Changelog: testservices.UniqueName(t, "chg"),
	}
	cfg.Kafka.Group = testservices.UniqueName(t, "grp")
	cfg.Window.RollingWindows = 0
	cfg.Window.IdleTimeout = 0
	cfg.CommitInterval = 200 * time.Millisecond
	cfg.ShutdownTimeout = 15 * time.Second
	cfg.Admin.Listen = "127.0.0.1:0"
	testservices.CreateTopics(t, brokers, partitions, cfg.Kafka.Topics.Predictions, cfg.Kafka.Topics.Outcomes)
	return &fixture{brokers: brokers, cfg: cfg}
}

type running struct {
	cancel context.CancelFunc
	done   chan error
	admin  string
}

func (f *fixture) start(t *testing.T, name string, sinks ...Sink) *running {
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	r := &running{cancel: cancel, done: make(chan error, 1)}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Str("instance", name).Logger()
	go func() { r.done <- Run(ctx, f.cfg, Deps{Logger: log, Sinks: sinks, AdminAddr: addr}) }()
	select {
	case r.admin = <-addr:
	case err := <-r.done:
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
		r.done <- nil
	case <-time.After(30 * time.Second):
		t.Errorf("Run did not stop within 30s")
	}
}

// waitFor polls until every expected window arrived fully labelled.
func waitFor(t *testing.T, rec *recorder, want map[WindowID]WindowResult, timeout time.Duration) map[WindowID]WindowResult {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := rec.final(t)
		done := len(got) >= len(want)
		for id, w := range want {
			if g, ok := got[id]; !ok || g.Revision < w.Revision {
				done = false
				break
			}
		}
		if done || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func compareWindows(t *testing.T, got, want map[WindowID]WindowResult) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d windows, want %d", len(got), len(want))
	}
	bad := 0
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			t.Errorf("window %v missing", id)
		case g.Events != w.Events || g.Revision != w.Revision || g.LabelCoverage != w.LabelCoverage || g.LateEvents != 0:
			t.Errorf("window %v: events %d rev %d coverage %v late %d; want events %d rev %d coverage %v",
				id, g.Events, g.Revision, g.LabelCoverage, g.LateEvents, w.Events, w.Revision, w.LabelCoverage)
		case !reflect.DeepEqual(g.Features, w.Features) || !reflect.DeepEqual(g.Prediction, w.Prediction) ||
			!reflect.DeepEqual(g.Performance, w.Performance) || !reflect.DeepEqual(g.Latency, w.Latency):
			t.Errorf("window %v: measures differ from batch\n got %+v\nwant %+v", id, g, w)
		default:
			continue
		}
		if bad++; bad > 5 {
			t.Fatal("too many differences")
		}
	}
}

// TestRunStreamEqualsBatchIntegration: events through Kafka and Run give
// exactly the windows of the same events fed straight to accumulators.
func TestRunStreamEqualsBatchIntegration(t *testing.T) {
	f := newFixture(t, 3)
	preds, outs := genStream(6000, 5, 100, 7)
	// A tenth of the outcomes are produced before their predictions: they
	// wait in the join store.
	produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, outs[:600])
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, preds)
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, endMarkers(3, t0+6000*100, &f.cfg))
	want := batch(t, &f.cfg, engineFactory(&f.cfg), preds, outs)
	rec := &recorder{}
	r := f.start(t, "a", rec)
	produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, outs[600:])
	got := waitFor(t, rec, want, 60*time.Second)
	compareWindows(t, got, want)

	body := httpGet(t, "http://"+r.admin+"/metrics")
	for _, m := range []string{"driftd_events_consumed_total", "driftd_join_store_entries", "driftd_windows_closed_total",
		"driftd_watermark_lag_seconds", "driftd_consumer_lag_messages", "driftd_sink_write_seconds"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if got := httpGet(t, "http://"+r.admin+"/readyz"); !strings.Contains(got, "ready") {
		t.Errorf("/readyz: %q", got)
	}
}

// waitMetric waits until the instance's /metrics shows a positive sum
// for the metric (over its labels).
func waitMetric(t *testing.T, r *running, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var sum float64
		for _, line := range strings.Split(httpGet(t, "http://"+r.admin+"/metrics"), "\n") {
			if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
				if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
					sum += v
				}
			}
		}
		if sum > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still 0 after %s", name, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url) //nolint:noctx // test
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestRunRebalanceIntegration: a second instance joins mid-stream and
// leaves again; the final windows still equal the batch.
func TestRunRebalanceIntegration(t *testing.T) {
	f := newFixture(t, 4)
	preds, outs := genStream(8000, 8, 100, 8)
	want := batch(t, &f.cfg, engineFactory(&f.cfg), preds, outs)
	rec := &recorder{}
	f.start(t, "a", rec)
	half := len(preds) / 2
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, preds[:half])
	produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, outs[:half])
	b := f.start(t, "b", rec)
	// The test is only one of a rebalance if b takes partitions and
	// consumes some of the stream before it leaves.
	waitMetric(t, b, "driftd_assigned_partitions", time.Minute)
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, preds[half:3*half/2])
	produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, outs[half:3*half/2])
	waitMetric(t, b, "driftd_events_consumed_total", 30*time.Second)
	b.stop(t)
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, preds[3*half/2:])
	produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, outs[3*half/2:])
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, endMarkers(4, t0+8000*100, &f.cfg))
	got := waitFor(t, rec, want, 90*time.Second)
	compareWindows(t, got, want)
}

// TestRunBadInputToDLQIntegration: every corpus file lands on the
// dead-letter topic with its reason and source, and the valid events
// around them are all counted.
func TestRunBadInputToDLQIntegration(t *testing.T) {
	f := newFixture(t, 2)
	f.cfg.Models = []string{"m0", "m1", "m2", "fraud", "zz-end"}
	files, _ := filepath.Glob("../testdata/events/bad/*.json")
	wantReason := map[string]string{}
	var badPreds, badOuts []streamMsg
	for _, file := range files {
		reason, kind := corpusFile(t, filepath.Base(file))
		b, _ := os.ReadFile(file)
		wantReason[string(b)] = reason
		m := streamMsg{kind, "fraud", b}
		if kind == Prediction {
			badPreds = append(badPreds, m)
		} else {
			badOuts = append(badOuts, m)
		}
	}
	preds, outs := genStream(1200, 3, 100, 9)
	mix := func(good, bad []streamMsg) []streamMsg {
		var out []streamMsg
		for i, g := range good {
			out = append(out, g)
			if i%10 == 0 && i/10 < len(bad) {
				out = append(out, bad[i/10])
			}
		}
		return out
	}
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, mix(preds, badPreds))
	produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, mix(outs, badOuts))
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, endMarkers(2, t0+1200*100, &f.cfg))
	want := batch(t, &f.cfg, engineFactory(&f.cfg), preds, outs)
	rec := &recorder{}
	// The first sink writes fail: the engine must retry, not lose them.
	flaky := &flakySink{fails: 3, inner: rec}
	rejects := &rejectRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, f.cfg, Deps{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
			Sinks: []Sink{flaky}, RejectSinks: []RejectSink{rejects}})
	}()
	got := waitFor(t, rec, want, 60*time.Second)
	compareWindows(t, got, want)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if flaky.calls <= 3 {
		t.Errorf("sink called %d times; the failures were not retried", flaky.calls)
	}
	wantCounts := map[string]int64{}
	for _, r := range wantReason {
		wantCounts[r]++
	}
	if !reflect.DeepEqual(rejects.byReason(), wantCounts) {
		t.Errorf("reject stats %v, want %v", rejects.byReason(), wantCounts)
	}

	seen := readDLQ(t, f, len(files))
	for v, reason := range wantReason {
		h, ok := seen[v]
		if !ok {
			t.Errorf("no dead letter for a %s input", reason)
			continue
		}
		if h["driftd.reason"] != reason {
			t.Errorf("dead letter reason %q, want %q (detail %q)", h["driftd.reason"], reason, h["driftd.detail"])
		}
		if h["driftd.source.topic"] == "" || h["driftd.source.offset"] == "" || h["driftd.source.partition"] == "" {
			t.Errorf("dead letter lacks source headers: %v", h)
		}
		// Values are read without keys; a dead letter's key is read
		// again by offset, and must be the original one.
		if h[dlqKeyField] != "fraud" || h["driftd.key_unavailable"] != "" {
			t.Errorf("dead letter for a %s input has key %q (key_unavailable %q), want the original \"fraud\"",
				reason, h[dlqKeyField], h["driftd.key_unavailable"])
		}
	}
}

type flakySink struct {
	mu           sync.Mutex
	fails, calls int
	inner        Sink
}

func (f *flakySink) WriteWindows(ctx context.Context, rs []WindowResult) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.fails
	f.mu.Unlock()
	if fail {
		return errors.New("sink unavailable")
	}
	return f.inner.WriteWindows(ctx, rs)
}

type rejectRecorder struct {
	mu    sync.Mutex
	stats []RejectStat
}

func (r *rejectRecorder) WriteRejects(_ context.Context, s []RejectStat) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = append(r.stats, s...)
	return nil
}

func (r *rejectRecorder) byReason() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int64{}
	for _, s := range r.stats {
		out[s.Reason] += s.Count
	}
	return out
}

// dlqKeyField is where readDLQ puts a dead letter's key among its headers.
const dlqKeyField = "(key)"

// readDLQ reads n dead letters and maps original bytes to headers (and
// the key, as dlqKeyField).
func readDLQ(t *testing.T, f *fixture, n int) map[string]map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: f.brokers, GroupID: testservices.UniqueName(t, "dlqread"),
		Topic: f.cfg.Kafka.Topics.DeadLetters, MaxWait: 200 * time.Millisecond, StartOffset: kafka.FirstOffset})
	defer r.Close()
	out := map[string]map[string]string{}
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("reading dead letters (%d of %d): %v", len(out), n, err)
		}
		h := map[string]string{dlqKeyField: string(m.Key)}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		out[string(m.Value)] = h
	}
	return out
}
