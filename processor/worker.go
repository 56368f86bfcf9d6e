package processor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// worker owns one partition pair (predictions p, outcomes p) for one
// generation: it restores the partition's state, fetches both topics,
// feeds the engine and, every commit interval or at the in-flight cap,
// makes its work durable in order: dead letters, sinks, checkpoint, offset
// commit. All state is touched by the worker's goroutine only.
type worker struct {
	r         *runner
	partition int
	label     string
	gen       *kafka.Generation
	log       zerolog.Logger

	eng       *partitionEngine
	dec       *Decoder
	predNext  int64 // next offset to read; everything before is in eng
	outNext   int64
	epoch     uint64
	processed int // messages since the last flush started
	dlq       []kafka.Message
	rejects   map[rejectKey]int64

	// The flush being written, if any: its writes run on their own
	// goroutine while the worker keeps consuming (see startFlush).
	inflight  chan error // nil when none; receives the flush's outcome
	inflightN int        // messages the in-flight flush makes durable
	flushDue  bool       // a tick came while a flush was in flight
	fctx      context.Context
	exported  *exportedStats // last values published as metrics

	// Per-message metrics, resolved once: label lookups cost more than
	// the increments.
	consumed [Outcome + 1]prometheus.Counter
	lag      [Outcome + 1]prometheus.Gauge
}

// maxDeadLetterBytes caps the original bytes kept in a dead letter.
const maxDeadLetterBytes = 512 << 10

type rejectKey struct {
	minute int64
	topic  string
	reason string
}

type fetched struct {
	msg kafka.Message
	err error
}

// run processes the partition until the run context ends (graceful: flush,
// checkpoint, commit) or the generation ends (flush and checkpoint for the
// next owner; the commit would be refused).
func (w *worker) run(runCtx, genCtx context.Context) error {
	fctx, stopFetch := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	predCh := w.fetch(fctx, &wg, w.r.cfg.Kafka.Topics.Predictions, w.predNext)
	outCh := w.fetch(fctx, &wg, w.r.cfg.Kafka.Topics.Outcomes, w.outNext)
	defer func() { stopFetch(); wg.Wait() }()
	// Flush writes are cancelled only when the worker gives up on them
	// (an error, or the shutdown timeout in finish), not when the run
	// ends: a stop waits for the flush being written.
	flushCtx, cancelFlush := context.WithCancel(context.Background())
	w.fctx = flushCtx
	defer func() {
		cancelFlush()
		if w.inflight != nil {
			<-w.inflight
			w.inflight = nil
		}
	}()

	tick := time.NewTicker(w.r.cfg.CommitInterval)
	defer tick.Stop()
	maxInFlight := w.r.cfg.Kafka.MaxInFlight
	for {
		// A flush starts at half the cap, so the next half can be taken
		// while it is written; at the cap (this batch and the one being
		// written) the worker stops taking messages until it is durable.
		if w.inflight == nil && (w.flushDue || w.processed >= max(maxInFlight/2, 1)) {
			if err := w.startFlush(true); err != nil {
				return w.finish(genCtx, cancelFlush, err)
			}
		}
		predIn, outIn := predCh, outCh
		if w.processed+w.inflightN >= maxInFlight {
			predIn, outIn = nil, nil
		}
		select {
		case <-runCtx.Done():
			return w.finish(genCtx, cancelFlush, nil)
		case <-genCtx.Done():
			return w.finish(genCtx, cancelFlush, nil)
		case err := <-w.inflight:
			w.inflight, w.inflightN = nil, 0
			if err != nil {
				return w.finish(genCtx, cancelFlush, err)
			}
		case f := <-predIn:
			if f.err != nil {
				return f.err
			}
			w.handle(Prediction, &f.msg)
		case f := <-outIn:
			if f.err != nil {
				return f.err
			}
			w.handle(Outcome, &f.msg)
		case <-tick.C:
			if len(predCh) == 0 {
				w.eng.tick(w.r.now().UnixMilli())
			}
			w.flushDue = true
		}
	}
}

// finish makes processed work durable before the worker returns, within
// the shutdown timeout: it waits for the flush being written, then writes
// a last one. On revocation the checkpoint still helps the next owner
// (kafka-go waits for this function before rejoining, so the next owner
// cannot have restored yet).
func (w *worker) finish(genCtx context.Context, cancelFlush context.CancelFunc, cause error) error {
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	t := time.AfterFunc(w.r.cfg.ShutdownTimeout, cancelFlush)
	defer t.Stop()
	if cause == nil && w.inflight != nil {
		cause = <-w.inflight
		w.inflight, w.inflightN = nil, 0
	}
	if cause == nil {
		if cause = w.startFlush(genCtx.Err() == nil); cause == nil && w.inflight != nil {
			cause = <-w.inflight
			w.inflight, w.inflightN = nil, 0
		}
	}
	if cause != nil {
		w.log.Warn().Err(cause).Msg("final flush failed; the next owner replays from the last checkpoint")
	}
	return nil
}

func (w *worker) fetch(ctx context.Context, wg *sync.WaitGroup, topic string, offset int64) <-chan fetched {
	ch := make(chan fetched, 256)
	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: w.r.kc.brokers, Dialer: w.r.kc.dialer, Topic: topic,
		Partition: w.partition, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 250 * time.Millisecond,
		QueueCapacity: 1000, ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: time.Second})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer rd.Close()
		if err := rd.SetOffset(offset); err != nil {
			ch <- fetched{err: fmt.Errorf("seeking %s/%d to %d: %w", topic, w.partition, offset, err)}
			return
		}
		for {
			m, err := rd.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				w.log.Warn().Err(err).Str("topic", topic).Msg("fetching; retrying")
				sleepCtx(ctx, time.Second)
				continue
			}
			select {
			case ch <- fetched{msg: m}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// handle decodes one message and applies it, or dead-letters it.
func (w *worker) handle(kind EventKind, m *kafka.Message) {
	now := w.r.now()
	w.consumed[kind].Inc()
	if kind == Prediction {
		w.predNext = m.Offset + 1
	} else {
		w.outNext = m.Offset + 1
	}
	w.processed++
	w.lag[kind].Set(float64(m.HighWaterMark - m.Offset - 1))
	ev, err := w.dec.Decode(kind, m.Value)
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			de = &DecodeError{Reason: ReasonMalformedJSON, Detail: err.Error()}
		}
		w.reject(m, de, now)
		return
	}
	if kind == Prediction {
		before := w.eng.stats
		w.eng.prediction(ev, now.UnixMilli())
		if w.eng.stats.NoBaseline != before.NoBaseline {
			w.r.m.noBaseline.Inc()
		}
		if w.eng.stats.LateEvents != before.LateEvents {
			w.r.m.lateEvents.Inc()
		}
	} else {
		w.eng.outcome(ev, now.UnixMilli())
	}
}

func (w *worker) reject(m *kafka.Message, de *DecodeError, now time.Time) {
	w.r.m.rejected.WithLabelValues(m.Topic, de.Reason).Inc()
	w.rejects[rejectKey{now.Truncate(time.Minute).UnixMilli(), m.Topic, de.Reason}]++
	value, truncated := m.Value, "false"
	if len(value) > maxDeadLetterBytes {
		// The dead letter must fit one produce request; a message the
		// broker took may not once headers are added.
		value, truncated = value[:maxDeadLetterBytes], "true"
	}
	w.dlq = append(w.dlq, kafka.Message{Key: m.Key, Value: value, Headers: []kafka.Header{
		{Key: "driftd.reason", Value: []byte(de.Reason)},
		{Key: "driftd.truncated", Value: []byte(truncated)},
		{Key: "driftd.detail", Value: []byte(de.Detail)},
		{Key: "driftd.source.topic", Value: []byte(m.Topic)},
		{Key: "driftd.source.partition", Value: strconv.AppendInt(nil, int64(m.Partition), 10)},
		{Key: "driftd.source.offset", Value: strconv.AppendInt(nil, m.Offset, 10)},
	}})
}

// flushJob is everything one flush makes durable, taken from the worker's
// state at one instant: the results and the snapshot agree with each other
// and with the offsets.
type flushJob struct {
	dlq               []kafka.Message
	results           []WindowResult
	rejects           []RejectStat
	snap              *snapshot
	epoch             uint64
	predNext, outNext int64
	commit            bool
}

// startFlush takes the results, rejects, dead letters and a snapshot of
// the engine with the next offsets, and writes them on another goroutine
// in the durable order (dead letters, sinks, reject counts, checkpoint,
// commit); its outcome arrives on w.inflight. The engine keeps running on
// the worker meanwhile: the job holds copies, never the live state. Only
// one flush is written at a time, so epochs and results stay in order.
func (w *worker) startFlush(commit bool) error {
	w.flushDue = false
	if w.inflight != nil {
		panic("processor: flush started while another is in flight")
	}
	results := w.eng.takeResults()
	if w.processed == 0 && len(results) == 0 {
		return nil
	}
	snap, err := w.eng.freeze(w.predNext, w.outNext)
	if err != nil {
		return err
	}
	w.epoch++
	job := &flushJob{dlq: w.dlq, results: results, rejects: w.takeRejects(), snap: snap,
		epoch: w.epoch, predNext: w.predNext, outNext: w.outNext, commit: commit}
	w.dlq = nil
	w.inflightN, w.processed = w.processed, 0
	w.exportStats()
	done := make(chan error, 1)
	w.inflight = done
	ctx := w.fctx
	go func() { done <- w.write(ctx, job) }()
	return nil
}

// write makes a flush job durable, then commits. It touches no worker
// state but the runner's (safe for concurrent use).
func (w *worker) write(ctx context.Context, job *flushJob) error {
	if len(job.dlq) > 0 {
		err := w.r.retry(ctx, "dead_letters", func(ctx context.Context) error {
			return w.r.dlq.WriteMessages(ctx, job.dlq...)
		})
		if err != nil {
			return err
		}
	}
	if err := w.r.deliver(ctx, job.results); err != nil {
		return err
	}
	if err := w.r.deliverRejects(ctx, job.rejects); err != nil {
		return err
	}
	snap, err := job.snap.encode()
	if err != nil {
		return err
	}
	if err := w.r.retry(ctx, "changelog", func(ctx context.Context) error {
		return w.r.changelog.save(ctx, w.partition, job.epoch, snap)
	}); err != nil {
		return err
	}
	w.r.m.checkpointSize.WithLabelValues(w.label).Set(float64(len(snap)))
	if job.commit {
		err := w.gen.CommitOffsets(map[string]map[int]int64{
			w.r.cfg.Kafka.Topics.Predictions: {w.partition: job.predNext},
			w.r.cfg.Kafka.Topics.Outcomes:    {w.partition: job.outNext},
		})
		if err != nil {
			// The checkpoint carries the offsets, so a failed commit only
			// makes the group's lag look larger.
			w.log.Warn().Err(err).Msg("committing offsets")
		} else {
			w.r.m.commits.Inc()
		}
	}
	return nil
}

func (w *worker) takeRejects() []RejectStat {
	if len(w.rejects) == 0 {
		return nil
	}
	out := make([]RejectStat, 0, len(w.rejects))
	for k, n := range w.rejects {
		out = append(out, RejectStat{Minute: time.UnixMilli(k.minute).UTC(), Topic: k.topic, Reason: k.reason, Count: n})
	}
	clear(w.rejects)
	return out
}

// exportStats publishes the engine's counters; join counters as deltas.
func (w *worker) exportStats() {
	m, j := w.r.m, w.eng.join.stats
	m.joinEntries.WithLabelValues(w.label).Set(float64(j.Entries))
	m.joinBytes.WithLabelValues(w.label).Set(float64(j.Bytes))
	if w.eng.watermark != noTime {
		m.watermarkLag.WithLabelValues(w.label).Set(w.r.now().Sub(time.UnixMilli(w.eng.watermark)).Seconds())
	}
	prev := w.exported
	m.joinEvents.WithLabelValues("hit").Add(float64(j.Hits - prev.join.Hits))
	m.joinEvents.WithLabelValues("miss").Add(float64(j.Misses - prev.join.Misses))
	m.joinEvents.WithLabelValues("expired").Add(float64(j.Expired - prev.join.Expired))
	m.joinEvents.WithLabelValues("evicted").Add(float64(j.Evicted - prev.join.Evicted))
	m.joinEvents.WithLabelValues("orphan_outcome").Add(float64(j.OrphanOutcomes - prev.join.OrphanOutcomes))
	m.windowsClosed.Add(float64(w.eng.stats.WindowsClosed - prev.eng.WindowsClosed))
	m.lateLabels.Add(float64(w.eng.stats.LateLabels - prev.eng.LateLabels))
	prev.join, prev.eng = j, w.eng.stats
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// jitter spreads retries of many partitions apart.
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
