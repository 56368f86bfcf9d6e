package processor

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
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

	eng *partitionEngine
	// cur is the decoded batch being applied and pos its next item; a
	// batch may be left part-way when the in-flight cap is reached.
	cur *decodedBatch
	pos int
	// held is an outcome batch waiting for the predictions to catch up
	// (see outcomeMayGo).
	held      *decodedBatch
	in        [Outcome + 1]*input
	predNext  int64 // next offset to read; everything before is in eng
	outNext   int64
	epoch     uint64
	processed int // messages since the last flush started
	dlq       []kafka.Message
	dlqKeys   []deadLetterKey // dead letters whose key is still to be read
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
	stall    [stallInFlight + 1]prometheus.Counter
}

// Why a worker waits instead of applying events.
const (
	stallInput    = iota // nothing decoded to apply
	stallInFlight        // at the in-flight cap, until a flush is durable
)

// maxDeadLetterBytes caps the original bytes kept in a dead letter.
const maxDeadLetterBytes = 512 << 10

type rejectKey struct {
	minute int64
	topic  string
	reason string
}

// decodedBatch is a run of consecutive messages of one topic, decoded in
// offset order off the worker's goroutine (decoding is a pure function of
// the bytes, so where it runs changes nothing the engine sees).
type decodedBatch struct {
	kind  EventKind
	items []decodedMsg
}

type decodedMsg struct {
	// msg is the message without its value, except when rejected: then
	// Value is its own copy, cut to maxDeadLetterBytes (truncated says
	// so), and Key is set only when keyKnown (see readValue).
	msg       fetched
	keyKnown  bool
	truncated bool
	ev        Event        // owned copy, valid while the batch is
	err       *DecodeError // rejected: ev is unset
}

// rawChunk is a run of fetched messages on its way to the decoder. The
// values of those not owned are in arena, which the chunk keeps from one
// use to the next: values are read into it, not allocated per message.
type rawChunk struct {
	msgs  []fetched
	owned []bool
	arena []byte
}

// free is the arena's unused part, where the next value is read.
func (c *rawChunk) free() []byte { return c.arena[len(c.arena):cap(c.arena)] }

// Arena sizing: a chunk is cut when its arena has less than room left,
// where room is twice the largest value seen on the topic so far (at
// least minRoom, at most one byte over limits.max_message_bytes, since a
// larger message is rejected anyway and is read whole when it comes). An
// arena holds 4 rooms, at least minArena, so a chunk of small messages is
// cut by count (maxBatch), not by bytes.
const (
	minRoom  = 4 << 10
	minArena = 256 << 10
)

// deadLetterKey is a dead letter (its index in the flush's list) whose
// source key is read again at the flush, by topic and offset.
type deadLetterKey struct {
	index  int
	topic  string
	offset int64
}

// maxBatch bounds a decoded batch: the decoder sends what it has whenever
// no fetched message is waiting, so batches grow only while the worker is
// busy, and a batch never holds more than this many messages. Small, so
// that the batches in flight (queued, free, being filled and applied:
// about 14 per topic) stay in the cores' caches: a decoded prediction of
// 20 features is about 1.3 KB, so at 256 they spanned some 4 MB, four
// times the L2 caches of the benchmark box. In alternated end-to-end runs
// 64 took driftd's CPU per event from a median of 1.63 µs to 1.51 µs.
const maxBatch = 64

// input is one topic's stream: raw chunks from the reader to the decoder,
// decoded batches to the worker, and the pools both return to.
type input struct {
	topic    string
	ch       chan *decodedBatch
	free     chan *decodedBatch
	raw      chan *rawChunk
	freeRaw  chan *rawChunk
	fetching atomic.Bool // the reader holds messages not yet sent
	decoding atomic.Bool // the decoder holds messages not yet sent
}

// idle reports whether nothing of this topic is on its way to the worker
// (best effort: a fetch response just arrived may be missed).
func (in *input) idle() bool {
	return len(in.ch) == 0 && len(in.raw) == 0 && !in.fetching.Load() && !in.decoding.Load()
}

func (in *input) recycle(b *decodedBatch) {
	select {
	case in.free <- b:
	default:
	}
}

// run processes the partition until the run context ends (graceful: flush,
// checkpoint, commit) or the generation ends (flush and checkpoint for the
// next owner; the commit would be refused).
func (w *worker) run(runCtx, genCtx context.Context) error {
	fctx, stopFetch := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	w.in[Prediction] = w.fetch(fctx, &wg, Prediction, w.r.cfg.Kafka.Topics.Predictions, w.predNext)
	w.in[Outcome] = w.fetch(fctx, &wg, Outcome, w.r.cfg.Kafka.Topics.Outcomes, w.outNext)
	predCh, outCh := w.in[Prediction].ch, w.in[Outcome].ch
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
		if w.cur == nil && w.held != nil && w.outcomeMayGo(w.held) {
			w.cur, w.pos, w.held = w.held, 0, nil
		}
		capped := w.processed+w.inflightN >= maxInFlight
		if w.cur != nil && !capped {
			w.apply(maxInFlight)
			continue
		}
		predIn, outIn := predCh, outCh
		if capped || w.cur != nil {
			predIn, outIn = nil, nil
		}
		if w.held != nil {
			outIn = nil
		}
		waitFrom, waitFor := time.Now(), w.stall[stallInput]
		if capped {
			waitFor = w.stall[stallInFlight]
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
		case b := <-predIn:
			w.cur, w.pos = b, 0
		case b := <-outIn:
			w.held = b
		case <-tick.C:
			if len(predCh) == 0 {
				w.eng.tick(w.r.now().UnixMilli())
			}
			w.flushDue = true
		}
		waitFor.Add(time.Since(waitFrom).Seconds())
	}
}

// outcomeMayGo keeps the outcomes topic from running ahead of the
// predictions in event time while predictions are still coming: decoding
// an outcome is much cheaper, so without this the outcomes would be read
// far ahead, parked in the join store (memory, evictions) and, past
// outcome_wait, expired. An outcome batch goes when its first event is
// not later than the latest prediction applied, or when no prediction is
// on its way.
func (w *worker) outcomeMayGo(b *decodedBatch) bool {
	for i := range b.items {
		if b.items[i].err == nil {
			return b.items[i].ev.TS <= w.eng.maxTS || w.in[Prediction].idle()
		}
	}
	return true
}

// apply feeds the current batch to the engine until it is done or the
// in-flight cap is reached.
func (w *worker) apply(maxInFlight int) {
	b := w.cur
	now := w.r.now()
	start := w.pos
	for w.pos < len(b.items) && w.processed+w.inflightN < maxInFlight {
		w.handle(b.kind, &b.items[w.pos], now)
		w.pos++
	}
	if w.pos > start {
		w.consumed[b.kind].Add(float64(w.pos - start))
		last := &b.items[w.pos-1].msg
		w.lag[b.kind].Set(float64(last.HighWaterMark - last.Offset - 1))
	}
	if w.pos == len(b.items) {
		w.cur = nil
		w.in[b.kind].recycle(b)
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

// fetch reads one topic of the partition from offset on one goroutine
// and decodes it on another, in offset order, so the worker only applies
// events and the next fetch response is read while the last one is
// decoded. Messages go from reader to decoder in chunks of up to maxBatch
// (one channel operation per chunk, not per message); a chunk, and the
// decoded batch made of it, is cut when full or when its fetch response
// is done, so batches grow only while data streams in. Bounded: 8 raw
// chunks and 4 decoded batches per topic and partition.
func (w *worker) fetch(ctx context.Context, wg *sync.WaitGroup, kind EventKind, topic string, offset int64) *input {
	in := &input{topic: topic, ch: make(chan *decodedBatch, 4), free: make(chan *decodedBatch, 8),
		raw: make(chan *rawChunk, 8), freeRaw: make(chan *rawChunk, 10)}
	pr := newPartitionReader(w.r.kc, topic, w.partition, offset, w.log)
	skipped := w.r.m.retentionSkipped.WithLabelValues(topic)
	pr.lost = func(from, first int64) {
		w.log.Error().Str("topic", topic).Int64("offset", from).Int64("first", first).Int64("skipped", first-from).
			Msg("offset deleted by retention before it was read; resuming at the first offset left")
		skipped.Add(float64(first - from))
	}
	maxRoom := w.r.cfg.Limits.MaxMessageBytes + 1
	wg.Add(2)
	go func() {
		defer wg.Done()
		w.profileLabel("fetch", topic)
		defer close(in.raw)
		defer pr.close()
		room := minRoom
		var chunk *rawChunk
		send := func() bool {
			select {
			case in.raw <- chunk:
				chunk = nil
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			if err := pr.fetch(ctx); err != nil {
				return
			}
			for {
				if chunk == nil {
					chunk = in.takeRaw(room)
				}
				m, owned, ok := pr.readValue(ctx, chunk.free())
				if !ok {
					break
				}
				if len(chunk.msgs) == 0 {
					in.fetching.Store(true)
				}
				if !owned {
					chunk.arena = chunk.arena[:len(chunk.arena)+len(m.Value)]
					if 2*len(m.Value) > room {
						room = min(2*len(m.Value), maxRoom)
					}
				}
				chunk.msgs, chunk.owned = append(chunk.msgs, m), append(chunk.owned, owned)
				if len(chunk.msgs) == maxBatch || len(chunk.free()) < room {
					if !send() {
						return
					}
					pr.renew()
				}
			}
			if chunk != nil && len(chunk.msgs) > 0 && !send() {
				return
			}
			in.fetching.Store(false)
		}
	}()
	go func() {
		defer wg.Done()
		w.profileLabel("decode", topic)
		dec := NewDecoder(w.r.cfg.Limits, w.r.cfg.Models)
		for {
			var chunk *rawChunk
			select {
			case c, ok := <-in.raw:
				if !ok {
					return
				}
				chunk = c
			case <-ctx.Done():
				return
			}
			in.decoding.Store(true)
			b := in.take(kind)
			// Reslice rather than append zero items: the slots' event
			// buffers are reused.
			if cap(b.items) < len(chunk.msgs) {
				b.items = make([]decodedMsg, len(chunk.msgs))
			}
			b.items = b.items[:len(chunk.msgs)]
			for i := range chunk.msgs {
				decodeInto(dec, kind, &chunk.msgs[i], chunk.owned[i], &b.items[i])
			}
			// The arena is reused from here: nothing decoded refers to it.
			chunk.msgs, chunk.owned, chunk.arena = chunk.msgs[:0], chunk.owned[:0], chunk.arena[:0]
			select {
			case in.freeRaw <- chunk:
			default:
			}
			select {
			case in.ch <- b:
				in.decoding.Store(false)
			case <-ctx.Done():
				return
			}
		}
	}()
	return in
}

// profileLabel names the calling goroutine's role in CPU profiles (pprof
// -tagfocus role=decode), so a profile says which stage of a partition's
// pipeline is saturated.
func (w *worker) profileLabel(role, topic string) {
	l := pprof.Labels("role", role, "partition", w.label)
	if topic != "" {
		l = pprof.Labels("role", role, "partition", w.label, "topic", topic)
	}
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), l))
}

// takeRaw returns an empty chunk, recycled when one is free, whose arena
// holds at least 4 rooms.
func (in *input) takeRaw(room int) *rawChunk {
	var c *rawChunk
	select {
	case c = <-in.freeRaw:
	default:
		c = &rawChunk{msgs: make([]fetched, 0, maxBatch), owned: make([]bool, 0, maxBatch)}
	}
	if cap(c.arena) < 4*room {
		c.arena = make([]byte, 0, max(4*room, minArena))
	}
	return c
}

// take returns an empty batch, recycled when one is free.
func (in *input) take(kind EventKind) *decodedBatch {
	select {
	case b := <-in.free:
		b.items = b.items[:0]
		return b
	default:
		return &decodedBatch{kind: kind, items: make([]decodedMsg, 0, maxBatch)}
	}
}

// decodeInto decodes m into out's own event buffers (the event shares
// nothing with m.Value, which may be in a reader's arena). owned says
// m's Key was read (see readValue).
func decodeInto(dec *Decoder, kind EventKind, m *fetched, owned bool, out *decodedMsg) {
	value := m.Value
	out.msg, out.keyKnown, out.truncated = *m, owned, false
	out.msg.Value = nil
	if err := dec.DecodeTo(kind, value, &out.ev); err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			de = &DecodeError{Reason: ReasonMalformedJSON, Detail: err.Error()}
		}
		out.err = de
		if len(value) > maxDeadLetterBytes {
			// The dead letter must fit one produce request; a message
			// the broker took may not once headers are added.
			value, out.truncated = value[:maxDeadLetterBytes], true
		}
		out.msg.Value = bytes.Clone(value)
		return
	}
	out.err = nil
}

// handle applies one decoded message, or dead-letters it.
func (w *worker) handle(kind EventKind, d *decodedMsg, now time.Time) {
	m := &d.msg
	if kind == Prediction {
		w.predNext = m.Offset + 1
	} else {
		w.outNext = m.Offset + 1
	}
	w.processed++
	if d.err != nil {
		w.reject(kind, d, now)
		return
	}
	ev := &d.ev
	if kind == Prediction {
		w.eng.prediction(ev, now.UnixMilli())
	} else {
		w.eng.outcome(ev, now.UnixMilli())
	}
}

func (w *worker) reject(kind EventKind, d *decodedMsg, now time.Time) {
	m, de := &d.msg, d.err
	topic := w.in[kind].topic
	w.r.m.rejected.WithLabelValues(topic, de.Reason).Inc()
	w.rejects[rejectKey{now.Truncate(time.Minute).UnixMilli(), topic, de.Reason}]++
	truncated := "false"
	if d.truncated {
		truncated = "true"
	}
	if !d.keyKnown {
		w.dlqKeys = append(w.dlqKeys, deadLetterKey{index: len(w.dlq), topic: topic, offset: m.Offset})
	}
	w.dlq = append(w.dlq, kafka.Message{Key: m.Key, Value: m.Value, Headers: []kafka.Header{
		{Key: "driftd.reason", Value: []byte(de.Reason)},
		{Key: "driftd.truncated", Value: []byte(truncated)},
		{Key: "driftd.detail", Value: []byte(de.Detail)},
		{Key: "driftd.source.topic", Value: []byte(topic)},
		{Key: "driftd.source.partition", Value: strconv.AppendInt(nil, int64(w.partition), 10)},
		{Key: "driftd.source.offset", Value: strconv.AppendInt(nil, m.Offset, 10)},
	}})
}

// flushJob is everything one flush makes durable, taken from the worker's
// state at one instant: the results and the snapshot agree with each other
// and with the offsets.
type flushJob struct {
	dlq               []kafka.Message
	dlqKeys           []deadLetterKey
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
	// Reports are computed by write, off this goroutine.
	results := w.eng.takePendingResults()
	if w.processed == 0 && len(results) == 0 {
		return nil
	}
	snap, err := w.eng.freeze(w.predNext, w.outNext)
	if err != nil {
		return err
	}
	w.epoch++
	job := &flushJob{dlq: w.dlq, dlqKeys: w.dlqKeys, results: results, rejects: w.takeRejects(), snap: snap,
		epoch: w.epoch, predNext: w.predNext, outNext: w.outNext, commit: commit}
	w.dlq, w.dlqKeys = nil, nil
	w.inflightN, w.processed = w.processed, 0
	w.exportStats()
	done := make(chan error, 1)
	w.inflight = done
	ctx := w.fctx
	go func() {
		w.profileLabel("flush", "")
		done <- w.write(ctx, job)
	}()
	return nil
}

// write makes a flush job durable, then commits. It touches no worker
// state but the runner's (safe for concurrent use).
func (w *worker) write(ctx context.Context, job *flushJob) error {
	if len(job.dlqKeys) > 0 {
		w.readDeadLetterKeys(ctx, job)
	}
	if len(job.dlq) > 0 {
		err := w.r.retry(ctx, "dead_letters", func(ctx context.Context) error {
			return w.r.dlq.WriteMessages(ctx, job.dlq...)
		})
		if err != nil {
			return err
		}
	}
	completeResults(job.results)
	if err := w.r.deliver(ctx, job.results); err != nil {
		return err
	}
	if err := w.r.deliverRejects(ctx, job.rejects); err != nil {
		return err
	}
	var written, size int
	if err := w.r.retry(ctx, "changelog", func(ctx context.Context) error {
		var err error
		written, size, err = w.r.changelog.save(ctx, w.partition, job.epoch, job.snap)
		return err
	}); err != nil {
		return err
	}
	w.r.m.checkpointSize.WithLabelValues(w.label).Set(float64(size))
	w.r.m.checkpointWritten.WithLabelValues(w.label).Add(float64(written))
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
	m.lateEvents.Add(float64(w.eng.stats.LateEvents - prev.eng.LateEvents))
	m.noBaseline.Add(float64(w.eng.stats.NoBaseline - prev.eng.NoBaseline))
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

// deadLetterKeyTimeout bounds reading dead letters' keys again: past it a
// dead letter goes without its key (header driftd.key_unavailable) rather
// than stall the stream.
const deadLetterKeyTimeout = 30 * time.Second

// readDeadLetterKeys reads again, by offset, the source keys of the dead
// letters whose values were read without them (partitionReader.readValue).
// Rejects are rare; reading every key up front would cost each message
// the allocation readValue saves. A key that cannot be had (the message
// is gone from the log, or the broker did not answer in time) is marked
// in the dead letter's headers, never silently dropped.
func (w *worker) readDeadLetterKeys(ctx context.Context, job *flushJob) {
	ctx, cancel := context.WithTimeout(ctx, deadLetterKeyTimeout)
	defer cancel()
	readers := map[string]*partitionReader{}
	defer func() {
		for _, r := range readers {
			r.close()
		}
	}()
	missing := 0
	for _, ref := range job.dlqKeys {
		r := readers[ref.topic]
		if r == nil {
			r = newPartitionReader(w.r.kc, ref.topic, w.partition, ref.offset, w.log)
			r.maxBytes = 1 << 20
			readers[ref.topic] = r
		}
		m := &job.dlq[ref.index]
		key, found, err := r.keyAt(ctx, ref.offset)
		if err != nil || !found {
			missing++
			m.Headers = append(m.Headers, kafka.Header{Key: "driftd.key_unavailable", Value: []byte("true")})
			continue
		}
		m.Key = key
	}
	if missing > 0 {
		w.log.Warn().Int("dead_letters", missing).Msg("source keys of dead letters could not be read again; they are marked driftd.key_unavailable")
	}
}
