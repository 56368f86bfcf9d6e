package alerts

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTargetPayloads checks each target's request as its receiver sees it,
// over a scenario where two features fire together and resolve one after
// the other.
func TestTargetPayloads(t *testing.T) {
	slack := newReceiver(t, nil)
	pd := newReceiver(t, func(int, *http.Request) int { return http.StatusAccepted })
	am := newReceiver(t, nil)
	airflow := newReceiver(t, nil)
	github := newReceiver(t, func(int, *http.Request) int { return http.StatusNoContent })
	cfg := Config{
		Rules: []Rule{{Metric: "psi", Severity: SeverityCritical, RepeatInterval: Dur(0), Action: ActionBoth}},
		Targets: []Target{
			{Name: "slack", Kind: KindSlack, WebhookURL: Secret(slack.srv.URL + "/services/T0/B0/s3cr3t")},
			{Name: "pd", Kind: KindPagerDuty, URL: pd.srv.URL + "/v2/enqueue", RoutingKey: "R0UTING"},
			{Name: "am", Kind: KindAlertmanager, URL: am.srv.URL + "/"},
			{Name: "airflow", Kind: KindTemplate, Action: ActionRetrain, URL: airflow.srv.URL + "/api/v1/dags/retrain_fraud/dagRuns",
				Headers: map[string]Secret{"Authorization": "Basic YWlyZmxvdzphaXJmbG93"},
				Body:    `{"dag_run_id": "driftd-{{ .ID }}", "conf": {{ json . }}}`},
			{Name: "github", Kind: KindTemplate, Action: ActionRetrain, URL: github.srv.URL + "/repos/acme/models/dispatches",
				Headers: map[string]Secret{"Authorization": "Bearer ghp_token", "Accept": "application/vnd.github+json"},
				Body:    `{"event_type": "driftd-retrain", "client_payload": {"model": {{ json .Model }}, "version": {{ json .Version }}, "notification_id": {{ json .ID }}, "alerts": {{ json .Alerts }}}}`},
		},
		Delivery: fastDelivery(),
	}
	e := start(t, cfg, t.TempDir(), Options{})
	write(t, e.Engine, window(0, psi("amount", 0.5, 1000), psi("country", 0.4, 1000)))
	write(t, e.Engine, window(1, psi("amount", 0.01, 1000), psi("country", 0.4, 1000)))
	write(t, e.Engine, window(2, psi("amount", 0.01, 1000), psi("country", 0.01, 1000)))
	eventually(t, "all deliveries", func() bool {
		return len(slack.accepted()) == 3 && len(pd.accepted()) == 2 && len(am.accepted()) == 3 &&
			len(airflow.accepted()) == 1 && len(github.accepted()) == 1
	})
	eventually(t, "empty outbox", func() bool { return e.q.len() == 0 })

	t.Run("slack", func(t *testing.T) {
		r := slack.requests()[0]
		if r.path != "/services/T0/B0/s3cr3t" {
			t.Errorf("path %q", r.path)
		}
		var p struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type string                `json:"type"`
				Text struct{ Text string } `json:"text"`
			} `json:"blocks"`
		}
		mustJSON(t, r.body, &p)
		if !strings.Contains(p.Text, "[FIRING] fraud v3: 2 alert(s)") || len(p.Blocks) != 2 {
			t.Fatalf("payload %s", r.body)
		}
		body := p.Blocks[1].Text.Text
		for _, want := range []string{"psi on amount = 0.5 > 0.2", "psi on country = 0.4 > 0.2", "baseline: fraud-v3-train"} {
			if !strings.Contains(body, want) {
				t.Errorf("section lacks %q: %s", want, body)
			}
		}
		mustJSON(t, slack.requests()[1].body, &p)
		if !strings.HasPrefix(p.Text, "[RESOLVED] fraud v3: 1 alert(s)") {
			t.Errorf("resolve text %q", p.Text)
		}
	})
	t.Run("pagerduty", func(t *testing.T) {
		var trig, res map[string]any
		mustJSON(t, pd.requests()[0].body, &trig)
		mustJSON(t, pd.requests()[1].body, &res)
		if trig["event_action"] != "trigger" || trig["routing_key"] != "R0UTING" || trig["dedup_key"] == "" {
			t.Fatalf("trigger %v", trig)
		}
		payload := trig["payload"].(map[string]any)
		if payload["severity"] != "critical" || payload["source"] != "driftd/fraud/v3" || payload["summary"] == "" {
			t.Errorf("trigger payload %v", payload)
		}
		if alerts := payload["custom_details"].(map[string]any)["alerts"].([]any); len(alerts) != 2 {
			t.Errorf("custom_details alerts %v", alerts)
		}
		// The incident resolves only when nothing of the model fires.
		if res["event_action"] != "resolve" || res["dedup_key"] != trig["dedup_key"] || res["routing_key"] != "R0UTING" {
			t.Fatalf("resolve %v", res)
		}
		if pd.requests()[0].path != "/v2/enqueue" {
			t.Errorf("path %q", pd.requests()[0].path)
		}
	})
	t.Run("alertmanager", func(t *testing.T) {
		type amAlert struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			StartsAt    time.Time         `json:"startsAt"`
			EndsAt      time.Time         `json:"endsAt"`
		}
		var firing, resolved []amAlert
		mustJSON(t, am.requests()[0].body, &firing)
		mustJSON(t, am.requests()[1].body, &resolved)
		if am.requests()[0].path != "/api/v2/alerts" || len(firing) != 2 || len(resolved) != 1 {
			t.Fatalf("path %q, %d firing, %d resolved", am.requests()[0].path, len(firing), len(resolved))
		}
		a := firing[0]
		if a.Labels["alertname"] != "psi_critical" || a.Labels["model"] != "fraud" || a.Labels["feature"] != "amount" ||
			a.Labels["severity"] != "critical" || a.Annotations["threshold"] != "0.2" || a.Annotations["value"] != "0.5" ||
			a.Annotations["baseline_id"] != "fraud-v3-train" {
			t.Errorf("firing alert %+v", a)
		}
		if !a.StartsAt.Equal(t0) || !a.EndsAt.After(time.Now()) {
			t.Errorf("firing startsAt %v endsAt %v", a.StartsAt, a.EndsAt)
		}
		if r := resolved[0]; r.Labels["feature"] != "amount" || !r.EndsAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("resolved alert %+v", r)
		}
	})
	t.Run("airflow template", func(t *testing.T) {
		r := airflow.requests()[0]
		var p struct {
			DagRunID string       `json:"dag_run_id"`
			Conf     Notification `json:"conf"`
		}
		mustJSON(t, r.body, &p)
		if r.path != "/api/v1/dags/retrain_fraud/dagRuns" || r.header.Get("Authorization") != "Basic YWlyZmxvdzphaXJmbG93" {
			t.Errorf("path %q auth %q", r.path, r.header.Get("Authorization"))
		}
		if p.DagRunID != "driftd-"+p.Conf.ID || p.Conf.Model != "fraud" || !p.Conf.Retrain || len(p.Conf.Alerts) != 2 {
			t.Errorf("body %s", r.body)
		}
		if err := VerifySignature([]byte(testKey), r.header.Get(HeaderTimestamp), r.header.Get(HeaderSignature), r.body, time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
	})
	t.Run("github template", func(t *testing.T) {
		r := github.requests()[0]
		var p struct {
			EventType     string         `json:"event_type"`
			ClientPayload map[string]any `json:"client_payload"`
		}
		mustJSON(t, r.body, &p)
		if p.EventType != "driftd-retrain" || p.ClientPayload["model"] != "fraud" || r.header.Get("Accept") != "application/vnd.github+json" {
			t.Errorf("body %s headers %v", r.body, r.header)
		}
	})
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// TestDeliveryStatesRecordedTogether: final states that come within
// recordEvery of each other are recorded in one call (one INSERT), and
// those still waiting when the engine stops are recorded before Run
// returns.
func TestDeliveryStatesRecordedTogether(t *testing.T) {
	hooks := []*receiver{newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)}
	cfg := Config{
		Rules:    []Rule{{Metric: "psi", RepeatInterval: Dur(0)}},
		Delivery: fastDelivery(),
	}
	for i, h := range hooks {
		cfg.Targets = append(cfg.Targets, webhook("hook"+strconv.Itoa(i), h.srv.URL+"/", ""))
	}
	t.Run("in one insert", func(t *testing.T) {
		rec := &fakeRecorder{}
		e := start(t, cfg, t.TempDir(), Options{Recorder: rec})
		write(t, e.Engine, window(0, psi("amount", 0.5, 1000)))
		eventually(t, "3 delivery records", func() bool { return len(rec.deliveryRecords()) == 3 })
		if n := rec.deliveryInserts(); n != 1 {
			t.Errorf("3 deliveries recorded in %d calls, want 1", n)
		}
	})
	t.Run("at shutdown", func(t *testing.T) {
		rec := &fakeRecorder{}
		e := start(t, cfg, t.TempDir(), Options{Recorder: rec})
		write(t, e.Engine, window(0, psi("amount", 0.5, 1000)))
		eventually(t, "3 deliveries", func() bool {
			return len(hooks[0].accepted())+len(hooks[1].accepted())+len(hooks[2].accepted()) >= 3 && e.q.len() == 0
		})
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if got := rec.deliveryRecords(); len(got) != 3 {
			t.Fatalf("%d delivery records after Close, want 3", len(got))
		}
	})
}

// TestUnrecordedDeliveryStatesSweptAtStart: final states the Recorder
// did not take (ClickHouse down, or a kill while they waited to be
// recorded together) are recorded by the next engine on the directory
// when it starts, without delivering again.
func TestUnrecordedDeliveryStatesSweptAtStart(t *testing.T) {
	hook := newReceiver(t, nil)
	cfg := psiToHook(hook.srv.URL + "/")
	dir := t.TempDir()
	down := &fakeRecorder{failDeliveries: errRecorderDown}
	e1 := start(t, cfg, dir, Options{Recorder: down})
	write(t, e1.Engine, window(0, psi("amount", 0.5, 1000)))
	eventually(t, "the delivery", func() bool { return len(hook.accepted()) == 1 && e1.q.len() == 0 })
	e1.abandon()
	if n := down.deliveryInserts(); n != 0 || len(down.deliveryRecords()) != 0 {
		t.Fatalf("a failing recorder stored %d records in %d calls", len(down.deliveryRecords()), n)
	}

	up := &fakeRecorder{}
	start(t, cfg, dir, Options{Recorder: up})
	eventually(t, "the swept record", func() bool { return len(up.deliveryRecords()) == 1 })
	if r := up.deliveryRecords()[0]; r.State != StateDelivered || r.Target != "hook" {
		t.Errorf("swept record %+v, want hook delivered", r)
	}
	if n := len(hook.accepted()); n != 1 {
		t.Errorf("%d deliveries after the restart, want the 1 before it", n)
	}
}

// TestSlowRecorderDoesNotDelayDeliveries: while the Recorder hangs (a
// ClickHouse that is slow or down), notifications still go out; the
// states that ended meanwhile are recorded together once it answers.
func TestSlowRecorderDoesNotDelayDeliveries(t *testing.T) {
	hook := newReceiver(t, nil)
	cfg := psiToHook(hook.srv.URL + "/")
	rec := &fakeRecorder{block: make(chan struct{})}
	e := start(t, cfg, t.TempDir(), Options{Recorder: rec})
	write(t, e.Engine, window(0, psi("amount", 0.5, 1000)))
	eventually(t, "the first delivery", func() bool { return len(hook.accepted()) == 1 })
	// Past recordEvery the first state's insert starts, and hangs.
	time.Sleep(recordEvery + 200*time.Millisecond)
	write(t, e.Engine, window(1, psi("amount", 0.01, 1000)), window(2, psi("amount", 0.7, 1000)))
	eventually(t, "the deliveries after it", func() bool { return len(hook.accepted()) == 3 })
	if n := len(rec.deliveryRecords()); n != 0 {
		t.Fatalf("%d records while the recorder hangs", n)
	}
	close(rec.block)
	eventually(t, "3 records", func() bool { return len(rec.deliveryRecords()) == 3 })
	if n := rec.deliveryInserts(); n != 2 {
		t.Errorf("3 states recorded in %d calls, want 2 (the hung one, then those that ended meanwhile)", n)
	}
}
