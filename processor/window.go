package processor

import (
	"math"
	"time"
	"weak"
)

// engineParams are the window and join settings in milliseconds.
type engineParams struct {
	size, lateness, horizon, outcomeWait, idle int64
	rolling                                    int64 // K; <= 1 disables rolling views
	maxCategories                              int
}

func paramsFrom(c *Config) engineParams {
	return engineParams{
		size: c.Window.Size.Milliseconds(), lateness: c.Window.AllowedLateness.Milliseconds(),
		horizon: c.Join.LabelHorizon.Milliseconds(), outcomeWait: c.Join.OutcomeWait.Milliseconds(),
		idle: c.Window.IdleTimeout.Milliseconds(), rolling: int64(c.Window.RollingWindows),
		maxCategories: c.Limits.MaxCategories,
	}
}

// retention is how long (event time, past its end) a closed window is kept
// to take late labels and to feed rolling views.
func (p engineParams) retention() int64 { return p.horizon + p.lateness + max(p.rolling, 1)*p.size }

type winKey struct {
	model, version string
	start          int64
}

type window struct {
	key        winKey
	state      windowState
	baselineID string
	closed     bool
	dropped    bool // past retention; deleted after the next takeResults
	late       int64
	dirty      bool
	emitted    uint64 // highest revision emitted
	// snap is the state's encoding as of the last snapshot, nil once the
	// state changed since: most retained windows are closed and quiet, so
	// a checkpoint re-encodes only the few that took events.
	snap []byte
	// reports speeds up the window's reports after the first.
	reports *reportBox
	// self is handed to the predictions pending in the window.
	self weak.Pointer[window]
}

// revision is derived from content, not from emission count: 1 + labels +
// late events. It only grows as a window's content grows, so a replay that
// interleaves the two topics differently still ends at the same highest
// revision with the same content, and no stale re-emission outranks it.
func (w *window) revision() uint64 { return 1 + uint64(w.state.Labelled()) + uint64(w.late) }

// EngineStats are a partition engine's counters, exported as metrics.
type EngineStats struct {
	Predictions, Outcomes int64
	LateEvents            int64 // predictions for already closed windows
	LateLabels            int64 // outcomes whose window was already dropped
	WindowsClosed         int64
	NoBaseline            int64 // predictions of model versions without a baseline
}

// partitionEngine is the event-time state of one partition pair: open and
// retained windows, the join store and the watermark. It is deterministic:
// the same predictions in the same order, with outcomes joining, give the
// same windows. Not safe for concurrent use.
type partitionEngine struct {
	p        engineParams
	newState stateFactory

	maxTS     int64 // highest prediction event time seen, ms
	watermark int64
	nextCheck int64 // watermark at which some window closes or drops
	lastEvent int64 // processing time of the last prediction, ms

	windows map[winKey]*window
	// last is the window the last prediction went to, or nil: most
	// events go where the previous one did, and comparing interned
	// strings is cheaper than hashing the key. Cleared when windows are
	// deleted.
	last  *window
	join  *joinStore
	out   []WindowResult
	stats EngineStats
}

const noTime = math.MinInt64

func newPartitionEngine(p engineParams, j JoinConfig, f stateFactory, now int64) *partitionEngine {
	return &partitionEngine{p: p, newState: f, maxTS: noTime, watermark: noTime, nextCheck: noTime,
		lastEvent: now, windows: map[winKey]*window{}, join: newJoinStore(j.MaxEntries, j.MaxBytes)}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (e *partitionEngine) windowStart(ts int64) int64 { return floorDiv(ts, e.p.size) * e.p.size }

func (e *partitionEngine) getWindow(k winKey, create bool) *window {
	if w := e.last; w != nil && w.key == k {
		return w
	}
	w := e.windows[k]
	if w == nil && create {
		st, bid := e.newState(k.model, k.version)
		w = &window{key: k, state: st, baselineID: bid, reports: &reportBox{}}
		w.self = weak.Make(w)
		e.windows[k] = w
		if end := k.start + e.p.size; e.nextCheck == noTime || end < e.nextCheck {
			e.nextCheck = end
		}
	}
	return w
}

// prediction applies one decoded prediction at processing time now (ms).
func (e *partitionEngine) prediction(ev *Event, now int64) {
	e.stats.Predictions++
	e.lastEvent = now
	if ev.TS > e.maxTS {
		e.maxTS = ev.TS
		e.advance(ev.TS-e.p.lateness, now)
	}
	k := winKey{ev.Model, ev.Version, e.windowStart(ev.TS)}
	w := e.last
	if w == nil || w.key != k {
		w = e.windows[k]
	}
	if w != nil && w.dropped {
		e.stats.LateEvents++
		return
	}
	if (w != nil && w.closed) || (w == nil && k.start+e.p.size <= e.watermark) {
		// Late: counted on the window (re-emitted), never measured.
		e.stats.LateEvents++
		if w == nil {
			w = e.getWindow(k, true)
			w.closed = true
		}
		w.late++
		w.dirty = true
		return
	}
	if w == nil {
		w = e.getWindow(k, true)
	}
	e.last = w
	if w.baselineID == "" {
		e.stats.NoBaseline++
	}
	st := w.state
	w.snap = nil
	st.AddEvent()
	st.ObserveFeatures(ev.Features)
	st.ObservePrediction(ev.Prediction)
	if ev.HasLatency {
		st.ObserveLatency(ev.LatencyMS)
	}
	id := e.join.id(ev.EventID)
	if o, ok := e.join.takeOutcome(id); ok {
		e.join.stats.Hits++
		st.ObserveOutcome(ev.Prediction, ev.Score, ev.HasScore, o.label)
		return
	}
	e.join.addPrediction(id, pendingPrediction{ts: ev.TS, model: ev.Model, version: ev.Version,
		winStart: k.start, pred: ev.Prediction, score: ev.Score, hasScore: ev.HasScore, win: w.self})
}

// outcome applies one decoded outcome at processing time now (ms).
func (e *partitionEngine) outcome(ev *Event, now int64) {
	e.stats.Outcomes++
	id := e.join.id(ev.EventID)
	if p, ok := e.join.takePrediction(id); ok {
		e.join.stats.Hits++
		// A window not dropped is still the one under its key (windows
		// leave e.windows only once dropped), so the lookup is skipped.
		if w := p.win.Value(); w != nil && !w.dropped {
			e.observe(w, p.pred, p.score, p.hasScore, ev.Label)
			return
		}
		e.attribute(winKey{p.model, p.version, p.winStart}, p.pred, p.score, p.hasScore, ev.Label, false)
		return
	}
	if ev.HasPrediction {
		// The outcome carries its prediction: no wait needed.
		e.join.stats.Hits++
		k := winKey{ev.Model, ev.Version, e.windowStart(ev.PredictionTS)}
		e.attribute(k, ev.Prediction, ev.Score, ev.HasScore, ev.Label, k.start+e.p.size > e.watermark)
		return
	}
	e.join.stats.Misses++
	e.join.parkOutcome(id, waitingOutcome{arrived: now, model: ev.Model, label: ev.Label})
}

func (e *partitionEngine) attribute(k winKey, pred Value, score float64, hasScore bool, label Value, create bool) {
	w := e.getWindow(k, create)
	if w == nil || w.dropped {
		e.stats.LateLabels++
		return
	}
	e.observe(w, pred, score, hasScore, label)
}

func (e *partitionEngine) observe(w *window, pred Value, score float64, hasScore bool, label Value) {
	w.state.ObserveOutcome(pred, score, hasScore, label)
	w.snap = nil
	if w.closed {
		w.dirty = true
	}
}

// advance moves the watermark to wm (never back), closing windows that end
// at or before it and dropping those past retention.
func (e *partitionEngine) advance(wm, now int64) {
	if wm <= e.watermark {
		return
	}
	e.watermark = wm
	if e.nextCheck != noTime && wm >= e.nextCheck {
		e.nextCheck = noTime
		ret := e.p.retention()
		for k, w := range e.windows {
			end := k.start + e.p.size
			if !w.closed && end <= wm {
				w.closed, w.dirty = true, true
				e.stats.WindowsClosed++
			}
			next := end
			if w.closed {
				if end+ret <= wm {
					w.dropped = true
					continue
				}
				next = end + ret
			}
			if e.nextCheck == noTime || next < e.nextCheck {
				e.nextCheck = next
			}
		}
	}
	e.join.expire(wm-e.p.horizon, now-e.p.outcomeWait)
}

// tick runs processing-time work: outcome-wait expiry and, after the idle
// timeout without predictions, moving the watermark with the wall clock so
// a quiet partition's windows still close.
func (e *partitionEngine) tick(now int64) {
	if e.p.idle > 0 && e.maxTS != noTime && now-e.lastEvent >= e.p.idle {
		e.advance(e.maxTS+(now-e.lastEvent-e.p.idle), now)
	}
	e.join.expire(e.watermark-e.p.horizon, now-e.p.outcomeWait)
}

// takeResults emits every dirty window (and the rolling views containing
// it) and returns the results, which the caller then owns.
func (e *partitionEngine) takeResults() []WindowResult {
	out := e.takePendingResults()
	completeResults(out)
	return out
}

// takePendingResults is takeResults without the reports, the costly part
// (sorting sketches): each result holds a state of its own to report
// from, and completeResults computes the reports, on any goroutine.
func (e *partitionEngine) takePendingResults() []WindowResult {
	var views map[winKey]bool
	for _, w := range e.windows {
		if !w.dirty {
			continue
		}
		if e.emit(w) && e.p.rolling > 1 {
			if views == nil {
				views = map[winKey]bool{}
			}
			for i := range e.p.rolling {
				end := winKey{w.key.model, w.key.version, w.key.start + i*e.p.size}
				if v := e.windows[end]; v != nil && v.closed {
					views[end] = true
				}
			}
		}
	}
	for k := range views {
		e.out = append(e.out, e.rollingView(k))
	}
	for k, w := range e.windows {
		if w.dropped {
			delete(e.windows, k)
		}
	}
	e.last = nil
	out := e.out
	e.out = nil
	sortResults(out)
	return out
}

func (e *partitionEngine) emit(w *window) bool {
	w.dirty = false
	rev := w.revision()
	if rev <= w.emitted {
		return false
	}
	w.emitted = rev
	st := w.state
	if !w.dropped {
		// It may still take late labels while the report is computed.
		st = st.Clone()
	}
	r := e.pendingResult(w.key, e.p.size, rev, w.baselineID, w.late, st)
	r.reports = w.reports
	e.out = append(e.out, r)
	return true
}

// result is the complete result of st.
func (e *partitionEngine) result(k winKey, span int64, rev uint64, baselineID string, late int64, st windowState) WindowResult {
	r := []WindowResult{e.pendingResult(k, span, rev, baselineID, late, st)}
	completeResults(r)
	return r[0]
}

// pendingResult is a pending result (see takePendingResults) of st, which
// it takes ownership of.
func (e *partitionEngine) pendingResult(k winKey, span int64, rev uint64, baselineID string, late int64, st windowState) WindowResult {
	r := WindowResult{
		ID: WindowID{Model: k.model, Version: k.version,
			Start: time.UnixMilli(k.start).UTC(), End: time.UnixMilli(k.start + span).UTC()},
		Revision:   rev,
		BaselineID: baselineID,
		// The event time the window was due to close: deterministic on replay.
		ClosedAt:   time.UnixMilli(k.start + span + e.p.lateness).UTC(),
		Events:     st.Events(),
		LateEvents: late,
		pending:    st,
	}
	if r.Events > 0 {
		// Outcomes carrying their own prediction may label predictions
		// this window never saw as events; coverage is capped at 1.
		r.LabelCoverage = min(1, float64(st.Labelled())/float64(r.Events))
	}
	return r
}

// rollingView merges the K windows ending with the one at last.
func (e *partitionEngine) rollingView(last winKey) WindowResult {
	st, bid := e.newState(last.model, last.version)
	var rev uint64
	var late int64
	first := last.start - (e.p.rolling-1)*e.p.size
	for s := first; s <= last.start; s += e.p.size {
		w := e.windows[winKey{last.model, last.version, s}]
		if w == nil {
			continue
		}
		_ = st.Merge(w.state) // same factory, same concrete type
		rev += w.revision()
		late += w.late
	}
	return e.pendingResult(winKey{last.model, last.version, first}, e.p.rolling*e.p.size, rev, bid, late, st)
}
