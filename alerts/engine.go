package alerts

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/processor"
)

// Recorder stores alerts and final delivery states (the ClickHouse sink
// implements it). RecordAlerts is called from WriteWindows before the new
// state is committed, so a failure makes WriteWindows fail and the windows
// are replayed; records are keyed by AlertID+State and NotificationID+Target
// and may be written more than once. RecordDeliveries is called from the
// delivery loop and retried until it succeeds. The engine does not retain
// the slices after a call returns.
type Recorder interface {
	RecordAlerts(ctx context.Context, recs []AlertRecord) error
	RecordDeliveries(ctx context.Context, recs []DeliveryRecord) error
}

// AlertRecord is one state transition of one alert (State is pending,
// firing or resolved).
type AlertRecord struct {
	AlertID, Rule, Model, Version, Feature, Metric, State, Severity string
	Value, Threshold                                                float64
	WindowStart, WindowEnd                                          time.Time
	BaselineID                                                      string
	At                                                              time.Time
}

// DeliveryRecord is the final state of one notification to one target.
// Kind is the notification kind (firing or resolved); State is delivered,
// failed or expired.
type DeliveryRecord struct {
	NotificationID, Target, Kind, Model string
	AlertIDs                            []string
	WindowStart                         time.Time
	State                               string
	Attempts                            int
	LastStatus                          int
	LastError                           string
	FirstAttempt, FinalAt               time.Time
}

// Options are the engine's dependencies.
type Options struct {
	// Dir holds the alert state and the outbox; it must survive restarts
	// and belong to one engine at a time.
	Dir        string
	Logger     zerolog.Logger
	Registerer prometheus.Registerer // nil: metrics are not exported
	Clock      func() time.Time      // nil: time.Now
	HTTPClient *http.Client          // nil: a client without a global timeout (targets set one per request)
	Recorder   Recorder              // nil: alerts and deliveries are not recorded
}

// ErrClosed is returned by WriteWindows after Close.
var ErrClosed = errors.New("alert engine closed")

// Engine evaluates rules and delivers notifications. WriteWindows may be
// called concurrently with Run; calls to WriteWindows are serialized.
type Engine struct {
	rules    []rule
	targets  map[string]*target
	order    []string // target names in config order
	delivery Delivery
	store    *store
	log      zerolog.Logger
	now      func() time.Time
	client   *http.Client
	rec      Recorder
	m        *metrics

	mu        sync.Mutex // serializes WriteWindows, guards state
	state     map[string]*entry
	newest    time.Time // latest window start in state
	retention time.Duration
	horizon   int // windows of history kept for performance metrics
	closed    bool

	q    queue
	wake chan struct{}

	// Final delivery states wait here to be recorded together (see
	// recordEvery); the store marks each recorded only once it is.
	recMu      sync.Mutex
	toRecord   []*delivery
	recordFrom time.Time // when the oldest of toRecord became final
	recording  bool      // a batch is being recorded

	stopped  chan struct{} // closed by Close
	stopOnce sync.Once
	runMu    sync.Mutex
	runDone  chan struct{}
	closeErr error
}

// NewEngine validates cfg, opens (or creates) the state and outbox in
// opts.Dir and loads what a previous engine left there, including
// deliveries it had not finished.
func NewEngine(cfg Config, opts Options) (_ *Engine, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := openStore(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = st.close()
		}
	}()
	e := &Engine{
		targets: map[string]*target{}, delivery: cfg.Delivery, store: st,
		log: opts.Logger.With().Str("component", "alerts").Logger(),
		now: opts.Clock, client: opts.HTTPClient, rec: opts.Recorder,
		wake: make(chan struct{}, 1),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.client == nil {
		e.client = &http.Client{}
	}
	for i := range cfg.Rules {
		r, _ := cfg.Rules[i].compile()
		e.rules = append(e.rules, r)
	}
	for _, t := range cfg.Targets {
		tt, err := newTarget(t, cfg.Delivery)
		if err != nil {
			return nil, err
		}
		e.targets[t.Name] = tt
		e.order = append(e.order, t.Name)
	}
	if e.m, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	if e.state, err = st.loadState(); err != nil {
		return nil, err
	}
	ruleNames := map[string]bool{}
	for _, r := range e.rules {
		ruleNames[r.name] = true
	}
	for k, en := range e.state {
		if !ruleNames[en.Rule] {
			// The rule was removed or renamed: its alerts can never resolve,
			// and would keep a PagerDuty incident open.
			e.log.Info().Str("rule", en.Rule).Str("model", en.Model).Str("state", en.State).
				Msg("dropping alert state of a rule no longer configured")
			delete(e.state, k)
			continue
		}
		if en.LastStart.After(e.newest) {
			e.newest = en.LastStart
		}
	}
	e.retention = durOr(cfg.StateRetention, DefaultStateRetention)
	e.horizon = cfg.RevisionHorizon
	if e.horizon == 0 {
		e.horizon = DefaultRevisionHorizon
	}
	if err := e.loadOutbox(); err != nil {
		return nil, err
	}
	e.stopped = make(chan struct{})
	return e, nil
}

// WriteWindows evaluates the rules over results, advances the alert state
// machines and appends the resulting notifications to the outbox. When it
// returns nil the notifications and the new state are durable; a caller
// commits its input only then. Results that are not newer than what the
// engine has seen (same window and revision, or older) change nothing, so
// a replay neither re-fires nor duplicates. The engine does not keep
// results after the call.
func (e *Engine) WriteWindows(ctx context.Context, results []processor.WindowResult) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sorted := make([]*processor.WindowResult, len(results))
	for i := range results {
		sorted[i] = &results[i]
	}
	slices.SortStableFunc(sorted, func(a, b *processor.WindowResult) int {
		return cmp.Or(cmp.Compare(a.ID.Model, b.ID.Model), cmp.Compare(a.ID.Version, b.ID.Version),
			a.ID.Start.Compare(b.ID.Start), cmp.Compare(a.Revision, b.Revision))
	})
	ev := evaluation{engine: e, next: map[string]*entry{}, now: e.now().UTC()}
	for _, r := range sorted {
		ev.window(r)
	}
	return e.commit(ctx, &ev)
}

// commit makes an evaluation durable: outbox first (a crash after it
// leaves deliveries whose ids the replay recomputes and skips), then the
// records, then the state.
func (e *Engine) commit(ctx context.Context, ev *evaluation) error {
	if len(ev.next) == 0 {
		return nil
	}
	files := map[string][]byte{}
	var fresh []*delivery
	for _, d := range ev.deliveries {
		switch {
		case e.q.has(d.ID), fileExists(e.store.donePath(d.ID)):
			continue
		case fileExists(e.store.outboxPath(d.ID)):
			// Written by an earlier call that failed later on (recorder,
			// state): the file is durable, only the queue lacks it.
			fresh = append(fresh, d)
			continue
		}
		data, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encoding delivery: %w", err)
		}
		files[e.store.outboxPath(d.ID)] = data
		fresh = append(fresh, d)
	}
	if err := e.store.writeFiles(files); err != nil {
		return fmt.Errorf("appending to outbox: %w", err)
	}
	// Durable now, and deterministic: delivering them even if the state
	// commit below fails is what a replay would do anyway.
	for _, d := range fresh {
		if _, ok := files[e.store.outboxPath(d.ID)]; ok {
			e.m.queued.WithLabelValues(d.Target).Inc()
		}
		e.q.add(d)
	}
	e.m.outbox.Set(float64(e.q.len()))
	if len(fresh) > 0 {
		e.poke()
	}
	if e.rec != nil && len(ev.records) > 0 {
		if err := e.rec.RecordAlerts(ctx, ev.records); err != nil {
			return fmt.Errorf("recording alerts: %w", err)
		}
	}
	merged := make(map[string]*entry, len(e.state)+len(ev.next))
	newest := e.newest
	for k, v := range ev.next {
		merged[k] = v
		if v.LastStart.After(newest) {
			newest = v.LastStart
		}
	}
	cutoff := newest.Add(-e.retention)
	for k, v := range e.state {
		if _, changed := ev.next[k]; changed {
			continue
		}
		if (v.State == AlertOK || v.State == AlertResolved) && v.LastStart.Before(cutoff) {
			continue // quiet for longer than the retention: forget it
		}
		merged[k] = v
	}
	data, err := encodeState(merged)
	if err != nil {
		return err
	}
	if err := e.store.writeFiles(map[string][]byte{e.store.statePath(): data}); err != nil {
		return fmt.Errorf("saving alert state: %w", err)
	}
	e.state, e.newest = merged, newest
	for _, rec := range ev.records {
		e.m.transitions.WithLabelValues(rec.State).Inc()
	}
	return nil
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Close stops Run, waits for in-flight requests to end and makes further
// WriteWindows calls fail. Pending deliveries stay in the outbox for the
// next engine on the same directory.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.stopOnce.Do(func() { close(e.stopped) })
	e.runMu.Lock()
	done := e.runDone
	e.runMu.Unlock()
	if done != nil {
		<-done
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.store.close(); err != nil {
		return fmt.Errorf("closing alert store: %w", err)
	}
	return nil
}

// historyLen is how many windows a machine remembers. Performance metrics
// are revised as labels arrive, often after later windows closed, so they
// keep RevisionHorizon windows; drift metrics are final at close except for
// late events, so they keep the last window only.
func (e *Engine) historyLen(r *rule) int {
	if r.perf {
		return e.horizon
	}
	return 1
}
