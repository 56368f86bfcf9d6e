package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// sweepEvery is how often final deliveries are re-recorded and pruned.
const sweepEvery = time.Minute

// recordEvery is how long a final delivery state may wait to be recorded
// with others. ClickHouse makes a part (a file per column) per INSERT, so
// one insert per delivery cost the server more than the rows: a burst of
// notifications, as when many models drift at once, is now one insert a
// second. A state not yet recorded at a crash is recorded by the sweep
// after the restart.
const recordEvery = time.Second

// Run delivers the outbox until ctx is cancelled or Close is called, then
// waits for in-flight requests and returns. Call it once, in its own
// goroutine.
func (e *Engine) Run(ctx context.Context) error {
	e.runMu.Lock()
	if e.runDone != nil {
		e.runMu.Unlock()
		return errors.New("alert engine: Run called twice")
	}
	e.runDone = make(chan struct{})
	e.runMu.Unlock()
	defer close(e.runDone)

	// Deferred in this order so that cancel runs before the wait, and
	// the states of the deliveries that ended meanwhile are recorded
	// after it, within a short bound of their own (ctx is over by then):
	// what misses it is recorded by the sweep at the next start, so a
	// ClickHouse that is down does not hold up the shutdown.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ds, _ := e.takeRecords(time.Time{})
		e.record(ctx, ds...)
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { // Close stops Run too
		select {
		case <-e.stopped:
			cancel()
		case <-ctx.Done():
		}
	})
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	e.sweep(ctx)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, next := e.q.take(e.now(), e.concurrency())
		for _, d := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.attempt(ctx, d)
				e.poke()
			}()
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(e.now()), time.Millisecond)
		}
		// Recorded off this loop: a ClickHouse that is slow or down must
		// not hold up deliveries.
		if ds, due := e.takeRecords(e.now()); len(ds) > 0 {
			wg.Go(func() {
				e.record(ctx, ds...)
				e.recMu.Lock()
				e.recording = false
				e.recMu.Unlock()
				e.poke()
			})
		} else if !due.IsZero() {
			wait = min(wait, max(due.Sub(e.now()), time.Millisecond))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-timer.C:
		case <-sweep.C:
			e.sweep(ctx)
		}
	}
}

func (e *Engine) concurrency() int {
	if e.delivery.Concurrency > 0 {
		return e.delivery.Concurrency
	}
	return DefaultConcurrency
}

// outcome classifies one attempt.
type outcome struct {
	ok         bool
	retry      bool   // transient: timeout, connection, 5xx, 408, 429
	reason     string // metric label
	status     int
	err        string // redacted: never the URL or a header
	retryAfter time.Duration
}

// attempt sends one delivery and records the result.
func (e *Engine) attempt(ctx context.Context, d *delivery) {
	log := e.log.With().Str("target", d.Target).Str("notification_id", d.Notification.ID).
		Str("model", d.Notification.Model).Logger()
	now := e.now()
	t := e.targets[d.Target]
	if t == nil {
		e.final(ctx, d, StateFailed, "invalid", outcome{err: "target no longer configured"})
		return
	}
	req, err := t.request(&d.Notification)
	if err != nil {
		e.final(ctx, d, StateFailed, "invalid", outcome{err: "building request: " + err.Error()})
		return
	}
	out := e.send(ctx, t, req)
	if ctx.Err() != nil && !out.ok {
		// Stopping: the attempt does not count; the delivery stays pending.
		e.q.release(d.ID)
		return
	}
	if d.FirstAttempt.IsZero() {
		d.FirstAttempt = now
	}
	d.Attempts++
	d.LastStatus, d.LastError = out.status, out.err
	switch {
	case out.ok:
		e.m.latency.WithLabelValues(d.Target).Observe(e.now().Sub(d.QueuedAt).Seconds())
		e.final(ctx, d, StateDelivered, "", out)
	case !out.retry:
		log.Error().Int("status", out.status).Str("error", out.err).Msg("notification rejected, not retrying")
		e.final(ctx, d, StateFailed, "rejected", out)
	case e.now().Sub(d.QueuedAt) >= durOr(e.delivery.MaxAge, DefaultMaxAge):
		log.Error().Int("attempts", d.Attempts).Str("error", out.err).Msg("notification expired, giving up")
		e.final(ctx, d, StateExpired, "expired", out)
	default:
		e.m.retries.WithLabelValues(d.Target, out.reason).Inc()
		prevErr := d.LastError
		d.NextAttempt = e.now().Add(e.backoff(d.Attempts, out.retryAfter))
		if d.Attempts == 1 || prevErr != out.err {
			log.Warn().Int("status", out.status).Str("error", out.err).Time("next_attempt", d.NextAttempt).
				Msg("notification delivery failed, retrying")
		}
		if err := e.store.update(d); err != nil {
			log.Error().Err(err).Msg("saving delivery attempt")
		}
		e.q.release(d.ID)
	}
}

// backoff is exponential with jitter in [d/2, d], at least Retry-After.
func (e *Engine) backoff(attempts int, retryAfter time.Duration) time.Duration {
	initial := durOr(e.delivery.InitialBackoff, DefaultInitialBackoff)
	maxB := durOr(e.delivery.MaxBackoff, DefaultMaxBackoff)
	d := initial
	for i := 1; i < attempts && d < maxB; i++ {
		d *= 2
	}
	d = min(d, maxB)
	d = d/2 + rand.N(d/2+1)
	return max(d, retryAfter)
}

func (e *Engine) send(ctx context.Context, t *target, r request) outcome {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
	if err != nil {
		return outcome{reason: "invalid", err: "building request: " + redact(err).Error()}
	}
	hr.Header.Set("Content-Type", r.contentType)
	hr.Header.Set("User-Agent", "driftd")
	hr.Header.Set(HeaderIdempotencyKey, r.key)
	if t.key != "" {
		ts := e.now().Unix()
		hr.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		hr.Header.Set(HeaderSignature, Sign([]byte(t.key.Reveal()), ts, r.body))
	}
	for k, v := range t.cfg.Headers {
		hr.Header.Set(k, v.Reveal())
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		out := outcome{retry: true, reason: "connection", err: redact(err).Error()}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			out.reason = "timeout"
		}
		return out
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	out := outcome{status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300, slices.Contains(t.cfg.AcceptStatuses, resp.StatusCode):
		out.ok = true
	case resp.StatusCode == http.StatusTooManyRequests:
		out.retry, out.reason = true, "rate_limited"
		out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), e.now())
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		out.retry, out.reason = true, "server_error"
		out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), e.now())
	}
	if !out.ok {
		out.err = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return out
}

// redact strips the URL from transport errors: Slack webhook URLs and
// some endpoints carry credentials in their path or query.
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s request: %w", ue.Op, ue.Err)
	}
	return err
}

func parseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(h); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// final moves a delivery to its final state and records it.
func (e *Engine) final(ctx context.Context, d *delivery, state, reason string, out outcome) {
	d.State, d.FinalAt, d.NextAttempt = state, e.now(), time.Time{}
	if out.err != "" {
		d.LastError = out.err
	}
	switch state {
	case StateDelivered:
		e.m.delivered.WithLabelValues(d.Target).Inc()
	default:
		e.m.failed.WithLabelValues(d.Target, reason).Inc()
	}
	if err := e.store.finish(d); err != nil {
		// The outbox file remains: the delivery is retried after a restart
		// rather than lost; receivers deduplicate on Idempotency-Key.
		e.log.Error().Err(err).Str("target", d.Target).Msg("saving final delivery state")
	}
	e.q.remove(d.ID)
	e.m.outbox.Set(float64(e.q.len()))
	if e.rec == nil {
		return
	}
	e.recMu.Lock()
	if len(e.toRecord) == 0 {
		e.recordFrom = e.now()
	}
	e.toRecord = append(e.toRecord, d)
	e.recMu.Unlock()
}

// takeRecords hands over the queued final states to be recorded when the
// oldest has waited recordEvery by now (always when now is zero) and no
// batch is being recorded; otherwise it returns when they are due (zero
// when none are queued, or while a batch is being recorded: its end pokes
// the loop). One batch at a time, so an outage makes one large insert
// when it ends, not one per second of it.
func (e *Engine) takeRecords(now time.Time) (ds []*delivery, due time.Time) {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	if len(e.toRecord) == 0 || (e.recording && !now.IsZero()) {
		return nil, time.Time{}
	}
	if due = e.recordFrom.Add(recordEvery); !now.IsZero() && now.Before(due) {
		return nil, due
	}
	ds, e.toRecord = e.toRecord, nil
	e.recording = !now.IsZero()
	return ds, time.Time{}
}

func (e *Engine) record(ctx context.Context, ds ...*delivery) {
	if e.rec == nil || len(ds) == 0 {
		return
	}
	recs := make([]DeliveryRecord, len(ds))
	for i, d := range ds {
		n := &d.Notification
		ids := make([]string, len(n.Alerts))
		for j, a := range n.Alerts {
			ids[j] = a.ID
		}
		recs[i] = DeliveryRecord{NotificationID: n.ID, Target: d.Target, Kind: n.Kind, Model: n.Model,
			AlertIDs: ids, WindowStart: n.Window.Start, State: d.State, Attempts: d.Attempts,
			LastStatus: d.LastStatus, LastError: d.LastError, FirstAttempt: d.FirstAttempt, FinalAt: d.FinalAt}
	}
	if err := e.rec.RecordDeliveries(ctx, recs); err != nil {
		e.log.Warn().Err(err).Int("deliveries", len(ds)).Msg("recording delivery states, will retry")
		return
	}
	for _, d := range ds {
		if err := e.store.markRecorded(d); err != nil {
			e.log.Error().Err(err).Msg("marking delivery recorded")
		}
	}
}

// sweep re-records final deliveries the Recorder missed and prunes old
// ones.
func (e *Engine) sweep(ctx context.Context) {
	done, err := e.store.list("done", e.badFile)
	if err != nil {
		e.log.Error().Err(err).Msg("listing final deliveries")
		return
	}
	var unrecorded []*delivery
	for _, d := range done {
		if !d.Recorded {
			unrecorded = append(unrecorded, d)
		}
	}
	if e.rec == nil {
		for _, d := range unrecorded {
			d.Recorded = true
		}
	} else {
		e.record(ctx, unrecorded...)
	}
	cutoff := e.now().Add(-durOr(e.delivery.KeepDelivered, DefaultKeepDelivered))
	if _, err := e.store.pruneDone(done, cutoff); err != nil {
		e.log.Error().Err(err).Msg("pruning final deliveries")
	}
}

func (e *Engine) badFile(path string, err error) {
	e.log.Error().Err(err).Str("file", path).Msg("skipping undecodable outbox file")
}

// loadOutbox puts the deliveries a previous engine left pending back in the
// queue.
func (e *Engine) loadOutbox() error {
	pending, err := e.store.list("outbox", e.badFile)
	if err != nil {
		return err
	}
	for _, d := range pending {
		if fileExists(e.store.donePath(d.ID)) {
			// Final already: the crash came between writing the final
			// state and removing the outbox file.
			_ = os.Remove(e.store.outboxPath(d.ID))
			continue
		}
		e.q.add(d)
	}
	e.m.outbox.Set(float64(e.q.len()))
	return nil
}
