package processor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"
)

// Deps are what Run needs from its embedder.
type Deps struct {
	Logger zerolog.Logger
	// Registerer receives the engine's metrics; nil means a private
	// registry. /metrics serves Gatherer (nil: the Registerer if it is a
	// *prometheus.Registry, else the private one).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Sinks get every window result, in this order (see Sink).
	Sinks []Sink
	// RejectSinks get per-minute reject counts (optional).
	RejectSinks []RejectSink
	// Reload: each receive reloads baselines from baselines.dir (SIGHUP).
	Reload <-chan struct{}
	// Now is the processing-time clock; nil means time.Now.
	Now func() time.Time
	// AdminAddr, when set, receives the admin listener's address once it
	// listens (tests use admin.listen 127.0.0.1:0).
	AdminAddr chan<- string

	newState stateFactory // tests: overrides the accumulator factory
}

type runner struct {
	cfg       Config
	log       zerolog.Logger
	m         *Metrics
	kc        *kafkaConn
	dlq       *kafka.Writer
	changelog *changelog
	deps      Deps
	now       func() time.Time
	sinkMu    sync.Mutex
	baselines atomic.Pointer[baselineSet]
	warned    sync.Map // modelVersion -> struct{}: no-baseline warnings given
	exported  map[int]*exportedStats
	expMu     sync.Mutex
	admin     *admin
}

type exportedStats struct {
	eng  EngineStats
	join JoinStats
}

// Run consumes until ctx is cancelled, then shuts down gracefully within
// cfg.ShutdownTimeout: stops fetching, flushes results to the sinks,
// checkpoints, commits, leaves the group. It returns nil after a graceful
// stop, or the error that stopped it.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	r := &runner{cfg: cfg, log: deps.Logger, deps: deps, now: deps.Now, exported: map[int]*exportedStats{}}
	if r.now == nil {
		r.now = time.Now
	}
	reg, gat := deps.Registerer, deps.Gatherer
	if reg == nil {
		pr := prometheus.NewRegistry()
		reg, gat = pr, pr
	}
	if gat == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			gat = g
		} else {
			gat = prometheus.NewRegistry()
		}
	}
	r.m = newMetrics(reg)
	kc, err := newKafkaConn(&cfg.Kafka)
	if err != nil {
		return err
	}
	r.kc = kc
	defer kc.transport.CloseIdleConnections()
	r.loadBaselines()

	g, gctx := errgroup.WithContext(ctx)
	if cfg.Admin.Listen != "" {
		if r.admin, err = newAdmin(cfg.Admin.Listen, gat); err != nil {
			return err
		}
		if deps.AdminAddr != nil {
			deps.AdminAddr <- r.admin.Addr()
		}
		g.Go(r.admin.serve)
	}
	g.Go(func() error {
		defer r.shutdownAdmin()
		return r.consume(gctx)
	})
	g.Go(func() error { r.reloadLoop(gctx); return nil })
	return g.Wait()
}

func (r *runner) shutdownAdmin() {
	if r.admin == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.admin.shutdown(ctx)
}

func (r *runner) setReady(v bool) {
	if r.admin != nil {
		r.admin.ready.Store(v)
	}
}

// consume checks topics, then runs one consumer-group generation after
// another until ctx ends.
func (r *runner) consume(ctx context.Context) error {
	t := r.cfg.Kafka.Topics
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := r.kc.checkCoPartitioned(setup, t.Predictions, t.Outcomes)
	if err != nil {
		return fmt.Errorf("checking input topics: %w", err)
	}
	if err := r.kc.ensureTopics(setup, TopicSpec{Name: t.DeadLetters, Partitions: n},
		TopicSpec{Name: t.Changelog, Partitions: 1, Compacted: true}); err != nil {
		return err
	}
	counts, err := r.kc.partitionCounts(setup, t.Changelog)
	if err != nil {
		return err
	}
	if counts[t.Changelog] != 1 {
		return fmt.Errorf("changelog topic %q has %d partitions; driftd needs exactly 1", t.Changelog, counts[t.Changelog])
	}
	r.dlq = &kafka.Writer{Addr: kafka.TCP(r.kc.brokers...), Topic: t.DeadLetters, Transport: r.kc.transport,
		Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchBytes: 900 << 10}
	defer r.dlq.Close()
	r.changelog = newChangelog(r.kc, t.Changelog, r.cfg.Kafka.Group)
	defer r.changelog.close()

	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: r.cfg.Kafka.Group, Brokers: r.kc.brokers, Dialer: r.kc.dialer,
		Topics: []string{t.Predictions, t.Outcomes},
		// Range assigns partition p of both topics to the same member:
		// that is what makes the join local.
		GroupBalancers:    []kafka.GroupBalancer{kafka.RangeGroupBalancer{}},
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: r.cfg.Kafka.SessionTimeout / 6, SessionTimeout: r.cfg.Kafka.SessionTimeout,
		RebalanceTimeout: r.cfg.ShutdownTimeout + 10*time.Second,
		JoinGroupBackoff: time.Second,
	})
	if err != nil {
		return fmt.Errorf("creating consumer group: %w", err)
	}
	// A failing worker cancels cctx: the others then stop gracefully and
	// Run returns the failure.
	cctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var workers sync.WaitGroup
	defer func() {
		workers.Wait()
		_ = group.Close()
		r.setReady(false)
	}()
	for {
		gen, err := group.Next(cctx)
		if err != nil {
			if cause := context.Cause(cctx); cause != nil && !errors.Is(cause, context.Canceled) {
				return cause
			}
			if cctx.Err() != nil {
				return nil
			}
			if errors.Is(err, kafka.ErrGroupClosed) {
				return fmt.Errorf("joining consumer group: %w", err)
			}
			// kafka-go reports join errors (rebalance in progress, a
			// coordinator moving) and keeps retrying itself.
			r.log.Warn().Err(err).Msg("consumer group; retrying")
			continue
		}
		r.m.rebalances.Inc()
		if err := r.startGeneration(cctx, gen, &workers, fail); err != nil {
			return err
		}
	}
}

// startGeneration restores the assigned partitions' state and starts one
// worker per partition pair.
func (r *runner) startGeneration(ctx context.Context, gen *kafka.Generation, workers *sync.WaitGroup, fail context.CancelCauseFunc) error {
	r.setReady(false)
	t := r.cfg.Kafka.Topics
	preds, outs := offsetsOf(gen.Assignments[t.Predictions]), offsetsOf(gen.Assignments[t.Outcomes])
	parts := make([]int, 0, len(preds))
	for p := range preds {
		if _, ok := outs[p]; !ok {
			return fmt.Errorf("%w: generation %d assigned %s/%d without %s/%d", ErrNotCoPartitioned, gen.ID, t.Predictions, p, t.Outcomes, p)
		}
		parts = append(parts, p)
	}
	r.m.partitions.Set(float64(len(parts)))
	var snaps map[int]savedSnapshot
	var corrupt error
	err := r.retry(ctx, "changelog_restore", func(ctx context.Context) error {
		var err error
		snaps, err = r.changelog.load(ctx, parts)
		if errors.Is(err, errCorruptCheckpoint) {
			corrupt = err // not transient: stop retrying
			return nil
		}
		return err
	})
	if err == nil {
		err = corrupt
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("restoring state: %w", err)
	}
	r.log.Info().Int32("generation", gen.ID).Ints("partitions", parts).Int("restored", len(snaps)).Msg("partitions assigned")
	for _, p := range parts {
		w, err := r.newWorker(gen, p, preds[p], outs[p], snaps[p])
		if err != nil {
			return err
		}
		workers.Add(1)
		gen.Start(func(genCtx context.Context) {
			defer workers.Done()
			w.profileLabel("apply", "")
			if err := w.run(ctx, genCtx); err != nil {
				w.log.Error().Err(err).Msg("partition worker failed")
				fail(err)
			}
		})
	}
	r.setReady(true)
	return nil
}

func offsetsOf(as []kafka.PartitionAssignment) map[int]int64 {
	m := make(map[int]int64, len(as))
	for _, a := range as {
		m[a.ID] = a.Offset
	}
	return m
}

func (r *runner) newWorker(gen *kafka.Generation, p int, predOff, outOff int64, snap savedSnapshot) (*worker, error) {
	w := &worker{r: r, partition: p, label: strconv.Itoa(p), gen: gen,
		log:      r.log.With().Int("partition", p).Logger(),
		rejects:  map[rejectKey]int64{},
		predNext: predOff, outNext: outOff}
	for kind, topic := range map[EventKind]string{Prediction: r.cfg.Kafka.Topics.Predictions, Outcome: r.cfg.Kafka.Topics.Outcomes} {
		w.consumed[kind] = r.m.consumed.WithLabelValues(topic)
		w.lag[kind] = r.m.consumerLag.WithLabelValues(topic, w.label)
	}
	w.stall[stallInput] = r.m.workerWait.WithLabelValues(w.label, "input")
	w.stall[stallInFlight] = r.m.workerWait.WithLabelValues(w.label, "in_flight_cap")
	now := r.now().UnixMilli()
	w.eng = newPartitionEngine(paramsFrom(&r.cfg), r.cfg.Join, r.stateFactory(), now)
	if snap.data != nil || snap.snap != nil {
		var po, oo int64
		var dropped []string
		var err error
		if snap.snap != nil {
			po, oo, dropped, err = w.eng.restoreSnapshot(snap.snap, now, r.cfg.Join)
		} else {
			po, oo, dropped, err = w.eng.restore(snap.data, now, r.cfg.Join)
		}
		if err != nil {
			return nil, fmt.Errorf("restoring partition %d: %w", p, err)
		}
		for _, d := range dropped {
			w.log.Error().Str("window", d).Msg("checkpointed window does not restore (baseline changed?); dropped")
		}
		w.predNext, w.outNext, w.epoch = po, oo, snap.epoch
	}
	// A partition with no commit and no checkpoint starts at the beginning.
	if w.predNext < 0 {
		w.predNext = kafka.FirstOffset
	}
	if w.outNext < 0 {
		w.outNext = kafka.FirstOffset
	}
	r.expMu.Lock()
	r.exported[p] = &exportedStats{eng: w.eng.stats, join: w.eng.join.stats}
	w.exported = r.exported[p]
	r.expMu.Unlock()
	w.log.Info().Int64("predictions_offset", w.predNext).Int64("outcomes_offset", w.outNext).
		Uint64("epoch", w.epoch).Int("windows", len(w.eng.windows)).Msg("partition restored")
	return w, nil
}

// retry runs op until it succeeds or ctx ends, backing off with jitter and
// logging when the error changes.
func (r *runner) retry(ctx context.Context, what string, op func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	var last string
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("writing %s: %w", what, errors.Join(err, ctx.Err()))
		}
		r.m.sinkErrors.WithLabelValues(what).Inc()
		if msg := err.Error(); msg != last {
			r.log.Warn().Err(err).Str("target", what).Msg("write failed; retrying")
			last = msg
		}
		sleepCtx(ctx, jitter(backoff))
		backoff = min(2*backoff, 10*time.Second)
	}
}

// deliver hands results to every sink in order, one batch at a time
// across all partitions.
func (r *runner) deliver(ctx context.Context, results []WindowResult) error {
	if len(results) == 0 {
		return nil
	}
	r.sinkMu.Lock()
	defer r.sinkMu.Unlock()
	for i, s := range r.deps.Sinks {
		name := fmt.Sprintf("%d:%T", i, s)
		start := time.Now()
		if err := r.retry(ctx, name, func(ctx context.Context) error { return s.WriteWindows(ctx, results) }); err != nil {
			return err
		}
		r.m.sinkSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
	}
	return nil
}

func (r *runner) deliverRejects(ctx context.Context, stats []RejectStat) error {
	if len(stats) == 0 || len(r.deps.RejectSinks) == 0 {
		return nil
	}
	r.sinkMu.Lock()
	defer r.sinkMu.Unlock()
	for i, s := range r.deps.RejectSinks {
		name := fmt.Sprintf("reject%d:%T", i, s)
		if err := r.retry(ctx, name, func(ctx context.Context) error { return s.WriteRejects(ctx, stats) }); err != nil {
			return err
		}
	}
	return nil
}
