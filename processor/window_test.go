package processor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/driftd/driftd/stats"
)

// streamMsg is one raw message of a synthetic stream.
type streamMsg struct {
	kind EventKind
	key  string
	b    []byte
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).UnixMilli()

// genStream makes n predictions over models, one every step ms, each with
// an outcome; outcomes trail their prediction by lag messages.
func genStream(n, models int, step int64, seed uint64) (preds, outs []streamMsg) {
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		m := fmt.Sprintf("m%d", i%models)
		ts := t0 + int64(i)*step
		label := []string{"0", "1"}[r.IntN(2)]
		pred := label
		if r.IntN(4) == 0 {
			pred = []string{"0", "1"}[r.IntN(2)]
		}
		preds = append(preds, streamMsg{Prediction, m, fmt.Appendf(nil,
			`{"event_id":"e%d","model":%q,"model_version":"v1","ts":%d,"latency_ms":%d,"features":{"x":%g,"c":"k%d","gone":null},"prediction":%q}`,
			i, m, ts, r.IntN(100), r.NormFloat64(), r.IntN(5), pred)})
		outs = append(outs, streamMsg{Outcome, m, fmt.Appendf(nil,
			`{"event_id":"e%d","model":%q,"ts":%d,"label":%q}`, i, m, ts+5000, label)})
	}
	return preds, outs
}

func testEngineConfig() Config {
	c := DefaultConfig()
	c.Window.Size = time.Minute
	c.Window.AllowedLateness = 10 * time.Second
	c.Window.RollingWindows = 3
	c.Window.IdleTimeout = time.Second
	c.Join.LabelHorizon = time.Hour
	c.Join.OutcomeWait = time.Hour
	return c
}

func countFactory(string, string) (windowState, string) { return newCountState(), "" }

// finalResults keeps the highest revision per window.
func finalResults(dst map[WindowID]WindowResult, rs []WindowResult) {
	for _, r := range rs {
		if old, ok := dst[r.ID]; !ok || r.Revision > old.Revision {
			dst[r.ID] = r
		} else if r.Revision == old.Revision && !reflect.DeepEqual(r, old) {
			panic(fmt.Sprintf("same revision %d, different content for %v", r.Revision, r.ID))
		}
	}
}

// runEngine feeds msgs (already interleaved) through one engine, optionally
// snapshotting and restoring every restoreEvery messages, then closes all
// windows with a far-future tick.
func runEngine(t *testing.T, cfg Config, msgs []streamMsg, restoreEvery int) map[WindowID]WindowResult {
	t.Helper()
	d := NewDecoder(cfg.Limits, nil)
	e := newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)
	final := map[WindowID]WindowResult{}
	for i, m := range msgs {
		ev, err := d.Decode(m.kind, m.b)
		if err != nil {
			t.Fatal(err)
		}
		if m.kind == Prediction {
			e.prediction(ev, int64(i))
		} else {
			e.outcome(ev, int64(i))
		}
		if restoreEvery > 0 && i%restoreEvery == restoreEvery-1 {
			finalResults(final, e.takeResults())
			snap, err := e.snapshot(int64(i), 0)
			if err != nil {
				t.Fatal(err)
			}
			e = newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)
			if _, _, dropped, err := e.restore(snap, int64(i), cfg.Join); err != nil || len(dropped) > 0 {
				t.Fatal(err, dropped)
			}
		}
	}
	e.tick(1 << 50)
	finalResults(final, e.takeResults())
	return final
}

func interleave(preds, outs []streamMsg, lag int) []streamMsg {
	var msgs []streamMsg
	for i := range preds {
		msgs = append(msgs, preds[i])
		if i >= lag {
			msgs = append(msgs, outs[i-lag])
		}
	}
	return append(msgs, outs[max(0, len(preds)-lag):]...)
}

func TestEngineExactWindows(t *testing.T) {
	cfg := testEngineConfig()
	cfg.Window.RollingWindows = 0
	// 180 predictions one per second for one model: 3 one-minute windows.
	preds, outs := genStream(180, 1, 1000, 1)
	// One late prediction for the first window after it closed.
	late := streamMsg{Prediction, "m0", fmt.Appendf(nil, `{"event_id":"late","model":"m0","model_version":"v1","ts":%d,"features":{},"prediction":"1"}`, t0+1000)}
	msgs := interleave(preds, outs, 20)
	msgs = append(msgs[:150], append([]streamMsg{late}, msgs[150:]...)...)
	got := runEngine(t, cfg, msgs, 0)
	if len(got) != 3 {
		t.Fatalf("want 3 windows, got %d: %v", len(got), got)
	}
	for i := range 3 {
		id := WindowID{"m0", "v1", time.UnixMilli(t0 + int64(i)*60000).UTC(), time.UnixMilli(t0 + int64(i+1)*60000).UTC()}
		r, ok := got[id]
		if !ok {
			t.Fatalf("missing window %v", id)
		}
		wantLate := int64(0)
		if i == 0 {
			wantLate = 1
		}
		if r.Events != 60 || r.LateEvents != wantLate || r.LabelCoverage != 1 || r.Revision != uint64(1+60+wantLate) {
			t.Errorf("window %d: events %d late %d coverage %v revision %d", i, r.Events, r.LateEvents, r.LabelCoverage, r.Revision)
		}
		if f := r.Features["x"]; f.Count.Current != 60 || *f.MissingRate.Current != 0 {
			t.Errorf("window %d: feature x %+v", i, f)
		}
		if f := r.Features["gone"]; f.Count.Current != 0 || *f.MissingRate.Current != 1 {
			t.Errorf("window %d: feature gone %+v", i, f)
		}
		if r.Latency == nil || r.Latency.Count != 60 || r.Performance == nil || r.Performance.Support != 60 {
			t.Errorf("window %d: latency %+v performance %+v", i, r.Latency, r.Performance)
		}
	}
}

// TestEngineReplayInvariance is the metamorphic core of the delivery
// guarantee: restoring from snapshots at arbitrary points, and a different
// interleaving of the two topics, give the same final windows.
func TestEngineReplayInvariance(t *testing.T) {
	cfg := testEngineConfig()
	preds, outs := genStream(3000, 3, 200, 2)
	want := runEngine(t, cfg, interleave(preds, outs, 50), 0)
	if len(want) < 20 {
		t.Fatalf("only %d windows", len(want))
	}
	for _, tc := range []struct {
		lag, every int
	}{{50, 97}, {0, 0}, {400, 0}, {400, 333}, {2999, 1000}} {
		got := runEngine(t, cfg, interleave(preds, outs, tc.lag), tc.every)
		if !reflect.DeepEqual(got, want) {
			for id, w := range want {
				if g := got[id]; !reflect.DeepEqual(g, w) {
					t.Errorf("lag %d restore every %d: window %v\n got %+v\nwant %+v", tc.lag, tc.every, id, g, w)
					break
				}
			}
			t.Errorf("lag %d restore every %d: %d windows vs %d", tc.lag, tc.every, len(got), len(want))
		}
	}
}

// TestEngineStreamEqualsBatch: the same events fed straight into one state
// per window give identical reports.
func TestEngineStreamEqualsBatch(t *testing.T) {
	cfg := testEngineConfig()
	cfg.Window.RollingWindows = 0
	preds, outs := genStream(2000, 2, 300, 3)
	got := runEngine(t, cfg, interleave(preds, outs, 30), 0)
	d := NewDecoder(cfg.Limits, nil)
	batch := map[winKey]windowState{}
	predOf := map[string]Value{}
	winOf := map[string]winKey{}
	for _, m := range preds {
		ev, _ := d.Decode(Prediction, m.b)
		k := winKey{ev.Model, ev.Version, floorDiv(ev.TS, 60000) * 60000}
		st := batch[k]
		if st == nil {
			st = newCountState()
			batch[k] = st
		}
		st.AddEvent()
		for _, f := range ev.Features {
			st.ObserveFeature(f.Name, f.Value)
		}
		st.ObservePrediction(ev.Prediction)
		st.ObserveLatency(ev.LatencyMS)
		predOf[string(ev.EventID)], winOf[string(ev.EventID)] = ev.Prediction, k
	}
	for _, m := range outs {
		ev, _ := d.Decode(Outcome, m.b)
		batch[winOf[string(ev.EventID)]].ObserveOutcome(predOf[string(ev.EventID)], 0, false, ev.Label)
	}
	if len(got) != len(batch) {
		t.Fatalf("%d stream windows, %d batch windows", len(got), len(batch))
	}
	for k, st := range batch {
		id := WindowID{k.model, k.version, time.UnixMilli(k.start).UTC(), time.UnixMilli(k.start + 60000).UTC()}
		rep := st.Report()
		r := got[id]
		if !reflect.DeepEqual(r.Features, rep.Features) || !reflect.DeepEqual(r.Performance, rep.Performance) ||
			!reflect.DeepEqual(r.Latency, rep.Latency) || r.Events != st.Events() {
			t.Errorf("window %v: stream %+v\nbatch %+v", id, r, rep)
		}
	}
}

func TestEngineRollingViews(t *testing.T) {
	cfg := testEngineConfig() // K = 3
	preds, outs := genStream(600, 1, 1000, 4)
	got := runEngine(t, cfg, interleave(preds, outs, 10), 0)
	var rolling, tumbling int
	for id, r := range got {
		switch id.End.Sub(id.Start) {
		case time.Minute:
			tumbling++
		case 3 * time.Minute:
			rolling++
			var ev int64
			for s := id.Start; s.Before(id.End); s = s.Add(time.Minute) {
				ev += got[WindowID{id.Model, id.Version, s, s.Add(time.Minute)}].Events
			}
			if r.Events != ev {
				t.Errorf("rolling %v: %d events, windows sum to %d", id, r.Events, ev)
			}
		}
	}
	if tumbling != 10 || rolling != 10 {
		t.Errorf("tumbling %d rolling %d, want 10 and 10", tumbling, rolling)
	}
}

func TestJoinStoreBounds(t *testing.T) {
	j := newJoinStore(3, 1<<20)
	for i := range 5 {
		j.addPrediction(j.id(fmt.Append(nil, "p", i)), pendingPrediction{ts: int64(i)})
	}
	if j.stats.Entries != 3 || j.stats.Evicted != 2 {
		t.Fatalf("stats %+v", j.stats)
	}
	if _, ok := j.takePrediction(j.id([]byte("p0"))); ok {
		t.Error("oldest should have been evicted")
	}
	if _, ok := j.takePrediction(j.id([]byte("p4"))); !ok {
		t.Error("newest missing")
	}
	j.expire(4, 0) // p2, p3 older than event time 4
	if j.stats.Entries != 0 || j.stats.Expired != 2 {
		t.Errorf("after expiry %+v", j.stats)
	}
	b := newJoinStore(100, 2*entryBytes(len("xx")))
	for _, id := range []string{"aa", "bb", "cc"} {
		b.parkOutcome(b.id([]byte(id)), waitingOutcome{arrived: 1})
	}
	if b.stats.Entries != 2 || b.stats.Evicted != 1 {
		t.Errorf("byte bound: %+v", b.stats)
	}
	b.expire(0, 2)
	if b.stats.Entries != 0 || b.stats.OrphanOutcomes != 2 || b.stats.Bytes != 0 {
		t.Errorf("outcome wait: %+v", b.stats)
	}
}

func decodeOne(t *testing.T, kind EventKind, s string) *Event {
	t.Helper()
	ev, err := NewDecoder(testLimits(), nil).Decode(kind, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestEngineIdleAdvance: a quiet partition's window closes after the idle
// timeout as processing time passes, not before.
func TestEngineIdleAdvance(t *testing.T) {
	cfg := testEngineConfig() // 1m windows, idle 1s
	cfg.Window.RollingWindows = 0
	e := newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)
	e.prediction(decodeOne(t, Prediction, fmt.Sprintf(`{"event_id":"a","model":"m","model_version":"v","ts":%d,"features":{},"prediction":"1"}`, t0+50_000)), 0)
	e.tick(900) // not idle yet
	if rs := e.takeResults(); len(rs) != 0 {
		t.Fatalf("closed before the idle timeout: %v", rs)
	}
	e.tick(1000 + 9_000) // idle for 9s of processing time: watermark t0+59s
	if rs := e.takeResults(); len(rs) != 0 {
		t.Fatalf("closed before the watermark reached the window end: %v", rs)
	}
	e.tick(1000 + 10_000)
	rs := e.takeResults()
	if len(rs) != 1 || rs[0].Events != 1 || rs[0].Revision != 1 {
		t.Fatalf("want the window closed with 1 event, got %+v", rs)
	}
}

// TestEngineJoinPaths: an outcome carrying its prediction joins at once;
// an early outcome waits and joins when its prediction comes; a label for
// a closed window re-emits it with a higher revision.
func TestEngineJoinPaths(t *testing.T) {
	cfg := testEngineConfig()
	cfg.Window.RollingWindows = 0
	e := newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)
	pred := func(id string, ts int64) *Event {
		return decodeOne(t, Prediction, fmt.Sprintf(`{"event_id":%q,"model":"m","model_version":"v","ts":%d,"features":{"x":1},"prediction":"1"}`, id, ts))
	}
	out := func(id string) *Event {
		return decodeOne(t, Outcome, fmt.Sprintf(`{"event_id":%q,"model":"m","ts":%d,"label":"1"}`, id, t0+500_000))
	}
	e.outcome(out("early"), 0)
	if e.join.stats.Misses != 1 || e.join.stats.Entries != 1 {
		t.Fatalf("early outcome not parked: %+v", e.join.stats)
	}
	e.prediction(pred("early", t0+1000), 1)
	e.prediction(pred("late-label", t0+2000), 1)
	e.outcome(decodeOne(t, Outcome, fmt.Sprintf(`{"event_id":"carried","model":"m","model_version":"v","ts":%d,"label":"0","prediction":"1","prediction_ts":%d}`, t0+600_000, t0+3000)), 2)
	if e.join.stats.Hits != 2 || e.join.stats.Entries != 1 {
		t.Fatalf("join stats %+v", e.join.stats)
	}
	e.prediction(pred("next", t0+80_000), 3) // closes the first window
	rs := e.takeResults()
	if len(rs) != 1 || rs[0].Events != 2 || rs[0].Revision != 3 || rs[0].LabelCoverage != 1 {
		t.Fatalf("first emission %+v", rs)
	}
	e.outcome(out("late-label"), 4)
	rs = e.takeResults()
	if len(rs) != 1 || rs[0].Revision != 4 || rs[0].Performance.Support != 3 {
		t.Fatalf("re-emission %+v", rs)
	}
}

type unrestorable struct{ countState }

func (*unrestorable) UnmarshalBinary([]byte) error { return fmt.Errorf("profile changed") }

// TestRestoreDropsUnrestorableWindow: a window whose state no longer
// restores is dropped and reported; the partition keeps going.
func TestRestoreDropsUnrestorableWindow(t *testing.T) {
	cfg := testEngineConfig()
	e := newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)
	e.prediction(decodeOne(t, Prediction, fmt.Sprintf(`{"event_id":"a","model":"m","model_version":"v","ts":%d,"features":{},"prediction":"1"}`, t0)), 0)
	snap, err := e.snapshot(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	bad := func(string, string) (windowState, string) {
		return &unrestorable{countState{Feat: map[string]*featCount{}}}, ""
	}
	r := newPartitionEngine(paramsFrom(&cfg), cfg.Join, bad, 0)
	po, _, dropped, err := r.restore(snap, 0, cfg.Join)
	if err != nil || po != 1 || len(dropped) != 1 || len(r.windows) != 0 {
		t.Fatalf("restore: offset %d dropped %v windows %d err %v", po, dropped, len(r.windows), err)
	}
	r.outcome(decodeOne(t, Outcome, `{"event_id":"a","model":"m","ts":1795428000000,"label":"1"}`), 1)
	if r.stats.LateLabels != 1 {
		t.Errorf("the dropped window's label should count as late, stats %+v", r.stats)
	}
}

// TestStatsStateSlotsEqualNames: features fed through the slot cache
// (ObserveFeatures) give the same state bytes as fed by name, with and
// without a profile, when orders change, features come and go, and
// values are missing, NaN or of the other kind.
func TestStatsStateSlotsEqualNames(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	names := []string{"x", "y", "c", "d", "unknown"}
	event := func() []Feature {
		var fs []Feature
		for _, n := range names {
			if r.IntN(8) == 0 {
				continue // absent
			}
			var v Value
			switch k := r.IntN(12); {
			case k == 0: // missing
			case k == 1:
				v = Value{Kind: Number, Num: math.NaN()}
			case k == 2:
				v = Value{Kind: String}
			case (n == "c" || n == "d") == (k > 3):
				v = Value{Kind: String, Str: fmt.Sprint("k", r.IntN(6))}
			default:
				v = Value{Kind: Number, Num: math.Round(r.NormFloat64()*100) / 10}
			}
			fs = append(fs, Feature{Name: n, Value: v})
		}
		if r.IntN(10) == 0 {
			r.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
		}
		return fs
	}
	base := stats.NewWindowAccumulator(nil, stats.AccumulatorOptions{SketchExactLimit: -1})
	for range 500 {
		base.AddEvent()
		for _, f := range event() {
			if f.Name != "unknown" {
				base.ObserveFeature(f.Name, f.Value)
			}
		}
	}
	for _, p := range []*stats.Profile{nil, base.Profile(stats.DefaultBins)} {
		bySlot := newStatsState(p, stats.AccumulatorOptions{})
		byName := newStatsState(p, stats.AccumulatorOptions{})
		for range 30_000 {
			fs := event()
			bySlot.AddEvent()
			byName.AddEvent()
			bySlot.ObserveFeatures(fs)
			for _, f := range fs {
				byName.ObserveFeature(f.Name, f.Value)
			}
		}
		a, err := bySlot.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		b, err := byName.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("profile %v: states differ", p != nil)
		}
	}
}

// TestPendingResultsCompletedElsewhere: results taken pending are
// completed on another goroutine while the engine goes on taking late
// labels into the same windows (run with -race: the results share nothing
// with it), and equal the results an identical engine computes in place
// and in full (no reportBox shortcut for windows emitted again).
func TestPendingResultsCompletedElsewhere(t *testing.T) {
	cfg := testEngineConfig()
	preds, outs := genStream(6000, 2, 40, 5)
	d := NewDecoder(cfg.Limits, nil)
	base := stats.NewWindowAccumulator(nil, stats.AccumulatorOptions{SketchExactLimit: -1})
	for _, m := range preds[:2000] {
		ev, _ := d.Decode(Prediction, m.b)
		base.AddEvent()
		for _, f := range ev.Features {
			base.ObserveFeature(f.Name, f.Value)
		}
		base.ObservePrediction(ev.Prediction)
	}
	p := base.Profile(stats.DefaultBins)
	f := func(string, string) (windowState, string) {
		return newStatsState(p, stats.AccumulatorOptions{SketchExactLimit: 300}), "p"
	}
	async := newPartitionEngine(paramsFrom(&cfg), cfg.Join, f, 0)
	inPlace := newPartitionEngine(paramsFrom(&cfg), cfg.Join, f, 0)
	var batches [][]WindowResult
	var want []WindowResult
	done := make(chan struct{})
	close(done)
	// Outcomes trail by 14 s of event time, past the lateness: windows
	// take labels after they closed and are emitted again.
	for i, m := range interleave(preds, outs, 700) {
		for _, e := range []*partitionEngine{async, inPlace} {
			ev, err := d.Decode(m.kind, m.b)
			if err != nil {
				t.Fatal(err)
			}
			if m.kind == Prediction {
				e.prediction(ev, int64(i))
			} else {
				e.outcome(ev, int64(i))
			}
		}
		if i%500 == 499 {
			<-done
			rs := async.takePendingResults()
			batches = append(batches, rs)
			done = make(chan struct{})
			go func() { completeResults(rs); close(done) }()
			full := inPlace.takePendingResults()
			for i := range full {
				full[i].reports = nil // every report computed in full
			}
			completeResults(full)
			want = append(want, full...)
		}
	}
	<-done
	var got []WindowResult
	for _, rs := range batches {
		got = append(got, rs...)
	}
	ids := map[WindowID]int{}
	for _, r := range got {
		ids[r.ID]++
	}
	if len(got) != len(want) || len(ids) == len(got) {
		t.Fatalf("%d results for %d windows, want %d results, some windows emitted again", len(got), len(ids), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			g, _ := json.Marshal(got[i])
			w, _ := json.Marshal(want[i])
			t.Fatalf("result %d (%v rev %d) differs:\n%s\n%s", i, got[i].ID, got[i].Revision, g, w)
		}
	}
}

// TestOutcomeWindowHint: a joined outcome goes to the window under its
// prediction's key, whether the prediction's window hint holds, is gone
// (after a restore) or names a dropped window whose key a new window
// took since.
func TestOutcomeWindowHint(t *testing.T) {
	cfg := testEngineConfig()
	cfg.Window.RollingWindows = 0
	pred := func(id string) *Event {
		return decodeOne(t, Prediction, fmt.Sprintf(`{"event_id":%q,"model":"m","model_version":"v","ts":%d,"features":{},"prediction":"1"}`, id, t0+1000))
	}
	out := func(id string) *Event {
		return decodeOne(t, Outcome, fmt.Sprintf(`{"event_id":%q,"model":"m","ts":%d,"label":"1"}`, id, t0+2000))
	}
	labelled := func(e *partitionEngine) int64 {
		w := e.windows[winKey{"m", "v", e.windowStart(t0 + 1000)}]
		if w == nil {
			return -1
		}
		return w.state.Labelled()
	}

	e := newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)
	e.prediction(pred("a"), 0)
	e.outcome(out("a"), 0)
	if labelled(e) != 1 {
		t.Errorf("hint: %d labelled", labelled(e))
	}

	e = newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)
	e.prediction(pred("a"), 0)
	snap, err := e.snapshot(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.restore(snap, 0, cfg.Join); err != nil {
		t.Fatal(err)
	}
	e.outcome(out("a"), 0)
	if labelled(e) != 1 {
		t.Errorf("after restore: %d labelled", labelled(e))
	}

	e = newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)
	e.prediction(pred("a"), 0)
	k := winKey{"m", "v", e.windowStart(t0 + 1000)}
	old := e.windows[k]
	old.dropped = true
	e.takePendingResults() // deletes it
	e.prediction(pred("b"), 0)
	if e.windows[k] == nil || e.windows[k] == old {
		t.Fatal("no new window under the key")
	}
	e.outcome(out("a"), 0)
	if labelled(e) != 1 || old.state.Labelled() != 0 {
		t.Errorf("dropped hint: %d labelled in the new window, %d in the dropped one", labelled(e), old.state.Labelled())
	}
}
