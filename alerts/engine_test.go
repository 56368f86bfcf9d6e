package alerts

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/stats"
)

func webhook(name, url, action string) Target {
	return Target{Name: name, Kind: KindWebhook, URL: url, Action: action, SigningKey: testKey}
}

// TestRetrainWebhookOncePerCrossing: F1 falling below τ fires one signed
// retraining webhook per crossing, and a resolve reaches notify targets
// when it recovers.
func TestRetrainWebhookOncePerCrossing(t *testing.T) {
	retrain := newReceiver(t, nil)
	notify := newReceiver(t, nil)
	cfg := Config{
		Rules:    []Rule{{Name: "f1_floor", Metric: "f1", Threshold: Num(0.8), Action: ActionBoth, RepeatInterval: Dur(0)}},
		Targets:  []Target{webhook("retrain", retrain.srv.URL, ActionRetrain), webhook("oncall", notify.srv.URL, "")},
		Delivery: fastDelivery(),
	}
	e := start(t, cfg, t.TempDir(), Options{})
	// 0.81 sits between the threshold and the default resolve (0.82): no
	// resolve, no re-fire.
	values := []float64{0.9, 0.75, 0.7, 0.81, 0.79, 0.85, 0.9, 0.6, 0.95}
	for i, v := range values {
		write(t, e.Engine, window(i, f1(v, 500)))
	}
	eventually(t, "2 retrain and 4 on-call requests", func() bool {
		return len(retrain.accepted()) == 2 && len(notify.accepted()) == 4
	})
	time.Sleep(50 * time.Millisecond) // nothing more may arrive
	if n := len(retrain.requests()); n != 2 {
		t.Fatalf("retrain receiver got %d requests, want 2", n)
	}
	wantStarts := []time.Time{t0.Add(time.Hour), t0.Add(7 * time.Hour)}
	ids := map[string]bool{}
	for i, r := range retrain.requests() {
		err := VerifySignature([]byte(testKey), r.header.Get(HeaderTimestamp), r.header.Get(HeaderSignature), r.body, time.Now(), 5*time.Minute)
		if err != nil {
			t.Fatalf("request %d: signature: %v", i, err)
		}
		n := decode(t, r.body)
		if n.Kind != KindFiring || !n.Retrain || len(n.Alerts) != 1 || n.Schema != SchemaVersion {
			t.Fatalf("request %d: unexpected notification %+v", i, n)
		}
		a := n.Alerts[0]
		if a.Metric != "f1" || a.Threshold != 0.8 || a.Value != values[[]int{1, 7}[i]] || !a.StartsAt.Equal(wantStarts[i]) {
			t.Errorf("request %d: alert %+v", i, a)
		}
		if n.BaselineID != "fraud-v3-train" || !n.Window.Start.Equal(wantStarts[i]) {
			t.Errorf("request %d: baseline %q window %v", i, n.BaselineID, n.Window)
		}
		if r.header.Get(HeaderIdempotencyKey) != n.ID {
			t.Errorf("request %d: Idempotency-Key %q, notification id %q", i, r.header.Get(HeaderIdempotencyKey), n.ID)
		}
		ids[a.ID] = true
	}
	if len(ids) != 2 {
		t.Errorf("crossings share an alert id: %v", ids)
	}
	var kinds []string
	for _, r := range notify.requests() {
		n := decode(t, r.body)
		kinds = append(kinds, n.Kind+"@"+strconv.Itoa(int(n.Window.Start.Sub(t0).Hours())))
	}
	want := fmt.Sprint([]string{"firing@1", "resolved@5", "firing@7", "resolved@8"})
	if fmt.Sprint(kinds) != want {
		t.Errorf("on-call notifications %v, want %v", kinds, want)
	}
}

// TestRetriesDeliverOncePerKey: a receiver failing with 500s, then 200s,
// acknowledges each notification exactly once.
func TestRetriesDeliverOncePerKey(t *testing.T) {
	rv := newReceiver(t, func(n int, _ *http.Request) int {
		if n < 7 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	cfg := Config{
		Rules:    []Rule{{Name: "psi", Metric: "psi", RepeatInterval: Dur(0)}},
		Targets:  []Target{webhook("hook", rv.srv.URL, "")},
		Delivery: fastDelivery(),
	}
	reg := prometheus.NewRegistry()
	e := start(t, cfg, t.TempDir(), Options{Registerer: reg})
	// Alternating drift fires and resolves: 6 notifications.
	for i := range 6 {
		v := 0.5
		if i%2 == 1 {
			v = 0.01
		}
		write(t, e.Engine, window(i, psi("amount", v, 1000)))
	}
	eventually(t, "6 acknowledged notifications", func() bool { return len(rv.accepted()) >= 6 })
	eventually(t, "empty outbox", func() bool { return e.q.len() == 0 })
	perKey := map[string]int{}
	for _, r := range rv.accepted() {
		perKey[r.header.Get(HeaderIdempotencyKey)]++
	}
	if len(perKey) != 6 {
		t.Fatalf("%d distinct keys acknowledged, want 6", len(perKey))
	}
	for k, n := range perKey {
		if n != 1 {
			t.Errorf("key %s acknowledged %d times", k, n)
		}
	}
	if len(rv.requests()) < 13 {
		t.Errorf("only %d requests: the 500s were not retried", len(rv.requests()))
	}
	if outboxSize(t, e.Engine) != 0 {
		t.Errorf("outbox not empty on disk")
	}
	for name, want := range map[string]float64{
		"driftd_alerts_notifications_queued_total":    6,
		"driftd_alerts_notifications_delivered_total": 6,
		"driftd_alerts_delivery_retries_total":        7,
		"driftd_alerts_outbox_size":                   0,
	} {
		if got := gathered(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := gathered(t, reg, "driftd_alerts_delivery_latency_seconds"); got != 6 {
		t.Errorf("latency observations %v, want 6", got)
	}
}

// gathered sums a metric family (sample count for histograms).
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// TestOutboxSurvivesKill: an engine abandoned without Close while
// deliveries are pending (one never ran, one was retrying) leaves them to
// the next engine on the same directory, which delivers each once.
func TestOutboxSurvivesKill(t *testing.T) {
	down := newReceiver(t, func(int, *http.Request) int { return http.StatusServiceUnavailable })
	up := newReceiver(t, nil)
	dir := t.TempDir()
	cfg := func(url string) Config {
		return Config{
			Rules:    []Rule{{Name: "psi", Metric: "psi", RepeatInterval: Dur(0)}},
			Targets:  []Target{webhook("hook", url, "")},
			Delivery: fastDelivery(),
		}
	}
	// Killed right after WriteWindows returned: Run never started.
	e1 := newEngine(t, cfg(down.srv.URL), dir, Options{})
	write(t, e1, window(0, psi("amount", 0.5, 1000)))
	kill(e1)

	// Killed while retrying.
	e2 := start(t, cfg(down.srv.URL), dir, Options{})
	write(t, e2.Engine, window(1, psi("amount", 0.01, 1000)), window(2, psi("amount", 0.6, 1000)))
	eventually(t, "retries", func() bool { return len(down.requests()) >= 3 })
	e2.abandon()
	if n := outboxSize(t, e2.Engine); n != 3 {
		t.Fatalf("outbox holds %d deliveries after the kill, want 3", n)
	}

	e3 := start(t, cfg(up.srv.URL), dir, Options{})
	eventually(t, "3 deliveries", func() bool { return len(up.accepted()) == 3 })
	write(t, e3.Engine, window(2, psi("amount", 0.6, 1000))) // a replay after restart
	time.Sleep(50 * time.Millisecond)
	keys := map[string]int{}
	for _, r := range up.requests() {
		keys[r.header.Get(HeaderIdempotencyKey)]++
	}
	if len(keys) != 3 || len(up.requests()) != 3 {
		t.Fatalf("after restart: %d requests, %d keys, want 3 and 3", len(up.requests()), len(keys))
	}
	var kinds []string
	for _, r := range up.requests() {
		kinds = append(kinds, decode(t, r.body).Kind)
	}
	if fmt.Sprint(kinds) != "[firing resolved firing]" {
		t.Errorf("delivered out of order: %v", kinds)
	}
}

// TestFiftyFeaturesOneNotification: on-call gets one grouped message.
func TestFiftyFeaturesOneNotification(t *testing.T) {
	rv := newReceiver(t, nil)
	cfg := Config{Rules: []Rule{{Metric: "psi"}}, Targets: []Target{webhook("hook", rv.srv.URL, "")}, Delivery: fastDelivery()}
	e := start(t, cfg, t.TempDir(), Options{})
	var opts []func(*processor.WindowResult)
	for i := range 50 {
		opts = append(opts, psi(fmt.Sprintf("f%02d", i), 0.3+float64(i)/100, 1000))
	}
	write(t, e.Engine, window(0, opts...))
	eventually(t, "one request", func() bool { return len(rv.accepted()) == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := len(rv.requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	n := decode(t, rv.requests()[0].body)
	if len(n.Alerts) != 50 {
		t.Fatalf("%d alerts in the notification, want 50", len(n.Alerts))
	}
	if a := n.Alerts[49]; a.Feature != "f49" || a.Value != 0.79 || a.Threshold != 0.1 || a.Severity != SeverityWarning {
		t.Errorf("last alert %+v", a)
	}
}

func queuedNotifications(e *Engine) []string {
	var out []string
	e.q.mu.Lock()
	defer e.q.mu.Unlock()
	for _, d := range e.q.items {
		out = append(out, d.Notification.Kind)
	}
	return out
}

func TestMinSamplesAndSupport(t *testing.T) {
	cfg := Config{
		Rules:   []Rule{{Metric: "psi"}, {Metric: "f1", Threshold: Num(0.8)}, {Name: "strict", Metric: "js", MinSamples: new(int64(10))}},
		Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")},
	}
	e := newEngine(t, cfg, t.TempDir(), Options{})
	defer e.Close()
	w := window(0, psi("amount", 0.9, 99), f1(0.1, 49))
	w.Features["age"] = stats.FeatureReport{Type: stats.Numeric, Count: stats.Pair[int64]{Baseline: 100, Current: 9}, JS: ptr(0.9)}
	write(t, e, w)
	if got := queuedNotifications(e); len(got) != 0 {
		t.Fatalf("alerts below minimum samples: %v", got)
	}
	if len(e.state) != 0 {
		t.Fatalf("state changed below minimum samples: %v", e.state)
	}
	write(t, e, window(1, psi("amount", 0.9, 100), f1(0.1, 50)))
	if got := queuedNotifications(e); len(got) != 1 {
		t.Fatalf("at the minimum: %v notifications, want 1", got)
	}
	e.q.mu.Lock()
	defer e.q.mu.Unlock()
	for _, d := range e.q.items {
		if len(d.Notification.Alerts) != 2 {
			t.Errorf("want psi and f1 alerts, got %+v", d.Notification.Alerts)
		}
	}
}

// TestHysteresisNoFlapping: values flapping between the resolve threshold
// and the threshold neither resolve nor re-fire.
func TestHysteresisNoFlapping(t *testing.T) {
	cfg := Config{
		Rules:   []Rule{{Metric: "psi", Severity: SeverityCritical, RepeatInterval: Dur(0)}}, // 0.2, resolves at 0.16
		Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")},
	}
	e := newEngine(t, cfg, t.TempDir(), Options{})
	defer e.Close()
	for i, v := range []float64{0.25, 0.18, 0.22, 0.17, 0.21, 0.161, 0.3} {
		write(t, e, window(i, psi("amount", v, 1000)))
	}
	if got := queuedNotifications(e); fmt.Sprint(got) != "[firing]" {
		t.Fatalf("flapping produced %v, want one firing", got)
	}
	write(t, e, window(7, psi("amount", 0.16, 1000)))
	if got := len(queuedNotifications(e)); got != 2 {
		t.Fatalf("%d notifications after recovery, want firing and resolved", got)
	}
}

func TestForConsecutiveWindows(t *testing.T) {
	cfg := Config{
		Rules:   []Rule{{Metric: "psi", For: 3, RepeatInterval: Dur(0)}},
		Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")},
	}
	rec := &fakeRecorder{}
	e := newEngine(t, cfg, t.TempDir(), Options{Recorder: rec})
	defer e.Close()
	for i, v := range []float64{0.5, 0.5, 0.01, 0.5, 0.5} {
		write(t, e, window(i, psi("amount", v, 1000)))
	}
	if got := queuedNotifications(e); len(got) != 0 {
		t.Fatalf("fired before 3 consecutive windows: %v", got)
	}
	write(t, e, window(5, psi("amount", 0.5, 1000)))
	if got := queuedNotifications(e); len(got) != 1 {
		t.Fatalf("not fired after 3 consecutive windows: %v", got)
	}
	states := rec.alertStates()
	if want := "[pending pending firing]"; fmt.Sprint(states) != want {
		t.Errorf("recorded %v, want %s", states, want)
	}
	recs := rec.alertRecords()
	if recs[1].AlertID != recs[2].AlertID || !recs[2].WindowStart.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("pending and firing of one episode differ: %+v", recs[1:])
	}
}

// TestReplayIsIdempotent: re-feeding windows (same revision or older),
// in the same engine or after a restart, adds nothing.
func TestReplayIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Rules:   []Rule{{Metric: "psi", RepeatInterval: Dur(2 * time.Hour)}, {Metric: "f1", Threshold: Num(0.8), Action: ActionBoth}},
		Targets: []Target{webhook("hook", "http://127.0.0.1:1/", ActionBoth)},
	}
	var ws []processor.WindowResult
	for i, v := range []float64{0.5, 0.5, 0.5, 0.01, 0.4} {
		ws = append(ws, window(i, psi("amount", v, 1000), f1(0.9-v, 100)))
	}
	e := newEngine(t, cfg, dir, Options{})
	write(t, e, ws...)
	first := queuedNotifications(e)
	if len(first) != 4 { // firing, repeat at +2h, resolved, firing
		t.Fatalf("got %v", first)
	}
	state, _ := encodeState(e.state)
	write(t, e, ws...)
	write(t, e, ws[:2]...)
	again, _ := encodeState(e.state)
	if len(queuedNotifications(e)) != 4 || string(state) != string(again) {
		t.Fatalf("replay changed something: %v", queuedNotifications(e))
	}
	e.Close()
	e2 := newEngine(t, cfg, dir, Options{})
	defer e2.Close()
	write(t, e2, ws...)
	restarted, _ := encodeState(e2.state)
	if got := outboxSize(t, e2); got != 4 || string(restarted) != string(state) {
		t.Fatalf("replay after restart: outbox %d, state equal %v", got, string(restarted) == string(state))
	}
}

// TestHigherRevisionReplacesWindow: late labels re-emit a window; the
// newer revision replaces the older without duplicating announcements.
func TestHigherRevisionReplacesWindow(t *testing.T) {
	cfg := Config{
		Rules:   []Rule{{Metric: "f1", Threshold: Num(0.8), RepeatInterval: Dur(0)}},
		Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")},
	}
	e := newEngine(t, cfg, t.TempDir(), Options{})
	defer e.Close()
	write(t, e, window(0, f1(0.9, 100)))
	write(t, e, window(1, f1(0.9, 100)))
	write(t, e, window(1, f1(0.7, 300), revision(2)))
	if got := queuedNotifications(e); fmt.Sprint(got) != "[firing]" {
		t.Fatalf("revision 2 breaching: %v", got)
	}
	write(t, e, window(1, f1(0.72, 400), revision(3)))
	if got := queuedNotifications(e); len(got) != 1 {
		t.Fatalf("revision 3 still breaching re-announced: %v", got)
	}
	write(t, e, window(1, f1(0.85, 500), revision(4)))
	if got := queuedNotifications(e); len(got) != 2 {
		t.Fatalf("revision 4 recovered, want a resolve: %v", got)
	}
	write(t, e, window(1, f1(0.7, 500), revision(2)))
	if got := queuedNotifications(e); len(got) != 2 {
		t.Fatalf("an older revision changed something: %v", got)
	}
}

func TestRepeatInterval(t *testing.T) {
	cfg := Config{
		Rules:   []Rule{{Metric: "psi", RepeatInterval: Dur(3 * time.Hour)}},
		Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")},
	}
	e := newEngine(t, cfg, t.TempDir(), Options{})
	defer e.Close()
	for i := range 7 {
		write(t, e, window(i, psi("amount", 0.5, 1000)))
	}
	// Fired at window 0 (ends 1h); repeats at windows ending 4h and 7h.
	if got := len(queuedNotifications(e)); got != 3 {
		t.Fatalf("%d notifications in 7 firing hours with a 3h cool-down, want 3", got)
	}
	var repeats int
	e.q.mu.Lock()
	for _, d := range e.q.items {
		if d.Notification.Alerts[0].Repeat {
			repeats++
		}
	}
	e.q.mu.Unlock()
	if repeats != 2 {
		t.Errorf("%d repeats, want 2", repeats)
	}
}

func TestWriteAfterClose(t *testing.T) {
	e := newEngine(t, Config{}, t.TempDir(), Options{})
	e.Close()
	if err := e.WriteWindows(context.Background(), []processor.WindowResult{window(0)}); err != ErrClosed {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

func TestStateRetention(t *testing.T) {
	cfg := Config{
		Rules:          []Rule{{Metric: "psi", RepeatInterval: Dur(0)}},
		Targets:        []Target{webhook("hook", "http://127.0.0.1:1/", "")},
		StateRetention: Dur(24 * time.Hour),
	}
	e := newEngine(t, cfg, t.TempDir(), Options{})
	defer e.Close()
	write(t, e, window(0, psi("retired", 0.01, 1000), psi("stuck", 0.5, 1000), psi("amount", 0.01, 1000)))
	for i := 1; i <= 30; i++ {
		write(t, e, window(i, psi("amount", 0.01, 1000)))
	}
	var features []string
	for _, en := range e.state {
		features = append(features, en.Model+"/"+en.State)
	}
	if len(e.state) != 2 {
		t.Fatalf("state after 30h: %d entries %v, want amount (active) and stuck (firing)", len(e.state), features)
	}
	if _, ok := e.state[stateKey("psi_warning", "fraud", "v3", "stuck", time.Hour)]; !ok {
		t.Fatal("a firing alert was forgotten")
	}
}

func TestRemovedRuleStateDropped(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Rules:   []Rule{{Name: "old", Metric: "psi"}, {Name: "kept", Metric: "js"}},
		Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")},
	}
	e := newEngine(t, cfg, dir, Options{})
	w := window(0, psi("amount", 0.5, 1000))
	fr := w.Features["amount"]
	fr.JS = ptr(0.5)
	w.Features["amount"] = fr
	write(t, e, w)
	e.Close()
	cfg.Rules = cfg.Rules[1:]
	e2 := newEngine(t, cfg, dir, Options{})
	defer e2.Close()
	if len(e2.state) != 1 || e2.state[stateKey("kept", "fraud", "v3", "amount", time.Hour)] == nil {
		t.Fatalf("state after removing a rule: %v", e2.state)
	}
}
