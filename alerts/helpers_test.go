package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/stats"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const testKey = "k3y-for-tests-0123456789"

// window builds the i-th hourly window of model fraud/v3.
func window(i int, opts ...func(*processor.WindowResult)) processor.WindowResult {
	r := processor.WindowResult{
		ID:       processor.WindowID{Model: "fraud", Version: "v3", Start: t0.Add(time.Duration(i) * time.Hour), End: t0.Add(time.Duration(i+1) * time.Hour)},
		Revision: 1, BaselineID: "fraud-v3-train", Events: 1000, LabelCoverage: 1,
		Features: map[string]stats.FeatureReport{},
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func ptr(v float64) *float64 { return &v }

func f1(v float64, support int64) func(*processor.WindowResult) {
	return func(r *processor.WindowResult) {
		r.Performance = &stats.PerformanceReport{Task: stats.Binary, Support: support, F1: ptr(v)}
	}
}

func psi(feature string, v float64, count int64) func(*processor.WindowResult) {
	return func(r *processor.WindowResult) {
		r.Features[feature] = stats.FeatureReport{Type: stats.Numeric, Count: stats.Pair[int64]{Baseline: 5000, Current: count}, PSI: ptr(v)}
	}
}

func revision(n uint64) func(*processor.WindowResult) {
	return func(r *processor.WindowResult) { r.Revision = n }
}

// receiver is an HTTP endpoint that records requests; status decides the
// answer to the n-th request (0-based).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []received
	status func(n int, r *http.Request) int
}

type received struct {
	path   string
	header http.Header
	body   []byte
	status int
	at     time.Time
}

func newReceiver(t *testing.T, status func(n int, r *http.Request) int) *receiver {
	t.Helper()
	rv := &receiver{status: status}
	rv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rv.mu.Lock()
		code := http.StatusOK
		if rv.status != nil {
			code = rv.status(len(rv.reqs), r)
		}
		rv.reqs = append(rv.reqs, received{path: r.URL.Path, header: r.Header.Clone(), body: body, status: code, at: time.Now()})
		rv.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rv.srv.Close)
	return rv
}

func (rv *receiver) requests() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]received(nil), rv.reqs...)
}

// accepted returns the requests answered 2xx.
func (rv *receiver) accepted() []received {
	var out []received
	for _, r := range rv.requests() {
		if r.status < 300 {
			out = append(out, r)
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// running is an engine with its delivery loop started.
type running struct {
	*Engine
	cancel context.CancelFunc
	done   chan error
	client *http.Client
	logs   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// psiToHook is one rule on psi that fires at every breach, and one
// webhook target "hook" at url.
func psiToHook(url string) Config {
	return Config{
		Rules:    []Rule{{Metric: "psi", RepeatInterval: Dur(0)}},
		Targets:  []Target{webhook("hook", url, "")},
		Delivery: fastDelivery(),
	}
}

// fastDelivery keeps retry tests quick.
func fastDelivery() Delivery {
	return Delivery{SigningKey: testKey, InitialBackoff: Dur(5 * time.Millisecond), MaxBackoff: Dur(20 * time.Millisecond),
		Timeout: Dur(2 * time.Second)}
}

func newEngine(t *testing.T, cfg Config, dir string, opts Options) *Engine {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = dir
	}
	e, err := NewEngine(cfg, opts)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}

// start builds an engine and runs it until the test ends. Abandon (not
// Close) simulates a kill.
func start(t *testing.T, cfg Config, dir string, opts Options) *running {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logger = zerolog.New(logs)
	client := &http.Client{Transport: &http.Transport{}}
	opts.HTTPClient = client
	e := newEngine(t, cfg, dir, opts)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Engine: e, cancel: cancel, done: make(chan error, 1), client: client, logs: logs}
	go func() { r.done <- e.Run(ctx) }()
	t.Cleanup(r.abandon)
	return r
}

// abandon stops the delivery loop without Close, as a kill would.
func (r *running) abandon() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
	r.client.CloseIdleConnections()
	kill(r.Engine)
}

// kill releases what the operating system would release when the process
// dies (the directory lock), and nothing else.
func kill(e *Engine) { _ = e.store.close() }

func write(t *testing.T, e *Engine, results ...processor.WindowResult) {
	t.Helper()
	if err := e.WriteWindows(context.Background(), results); err != nil {
		t.Fatalf("WriteWindows: %v", err)
	}
}

func decode(t *testing.T, body []byte) Notification {
	t.Helper()
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		t.Fatalf("decoding notification %s: %v", body, err)
	}
	return n
}

// outboxSize counts pending deliveries on disk.
func outboxSize(t *testing.T, e *Engine) int {
	t.Helper()
	ds, err := e.store.list("outbox", func(string, error) {})
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

func resultsOf(rs ...processor.WindowResult) []processor.WindowResult { return rs }

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
