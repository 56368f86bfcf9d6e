package alerts

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestSecretsNeverLeak: secrets appear in no config dump, log line, error
// or delivery record, even when requests fail.
func TestSecretsNeverLeak(t *testing.T) {
	secrets := []string{"HMAC-S3CRET", "PD-R0UTE", "SLACK-T0KEN", "BEARER-T0KEN"}
	reject := newReceiver(t, func(int, *http.Request) int { return http.StatusBadRequest })
	closed := newReceiver(t, nil)
	closed.srv.Close() // connection refused: a transport error carrying the URL
	cfg := Config{
		Rules: []Rule{{Metric: "psi"}},
		Targets: []Target{
			{Name: "slack", Kind: KindSlack, WebhookURL: Secret(closed.srv.URL + "/services/SLACK-T0KEN")},
			{Name: "pd", Kind: KindPagerDuty, URL: reject.srv.URL, RoutingKey: "PD-R0UTE"},
			{Name: "hook", Kind: KindWebhook, URL: reject.srv.URL, Headers: map[string]Secret{"Authorization": "Bearer BEARER-T0KEN"}},
		},
		Delivery: Delivery{SigningKey: "HMAC-S3CRET", InitialBackoff: Dur(time.Millisecond), MaxBackoff: Dur(2 * time.Millisecond), MaxAge: Dur(30 * time.Millisecond)},
	}
	var dumps []string
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dumps = append(dumps, string(y), string(j), fmt.Sprintf("%v %+v %#v %s %q %x %d", cfg, cfg, cfg, cfg.Delivery.SigningKey,
		cfg.Delivery.SigningKey, cfg.Delivery.SigningKey, cfg.Delivery.SigningKey))
	if !strings.Contains(string(y), "<secret>") {
		t.Errorf("yaml dump does not show redaction: %s", y)
	}
	bad := cfg
	bad.Targets = []Target{{Name: "slack", Kind: KindSlack, WebhookURL: "ftp://SLACK-T0KEN"}}
	if err := bad.Validate(); err == nil {
		t.Error("ftp webhook_url accepted")
	} else {
		dumps = append(dumps, err.Error())
	}

	rec := &fakeRecorder{}
	e := start(t, cfg, t.TempDir(), Options{Recorder: rec})
	write(t, e.Engine, window(0, psi("amount", 0.5, 1000)))
	eventually(t, "three final delivery records", func() bool { return len(rec.deliveryRecords()) == 3 })
	states := map[string]string{}
	for _, r := range rec.deliveryRecords() {
		states[r.Target] = r.State
		dumps = append(dumps, fmt.Sprintf("%+v", r))
	}
	if states["slack"] != StateExpired || states["pd"] != StateFailed || states["hook"] != StateFailed {
		t.Errorf("final states %v", states)
	}
	e.abandon()
	dumps = append(dumps, e.logs.String())
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Errorf("logs lack the transport error: %s", e.logs.String())
	}
	for _, d := range dumps {
		for _, s := range secrets {
			if strings.Contains(d, s) {
				t.Errorf("secret %q leaked in %s", s, d)
			}
		}
	}
}

// TestNoRetryOn4xx: a 4xx other than 408/429 is final after one attempt.
func TestNoRetryOn4xx(t *testing.T) {
	rv := newReceiver(t, func(int, *http.Request) int { return http.StatusUnprocessableEntity })
	rec := &fakeRecorder{}
	cfg := Config{Rules: []Rule{{Metric: "psi"}}, Targets: []Target{webhook("hook", rv.srv.URL, "")}, Delivery: fastDelivery()}
	e := start(t, cfg, t.TempDir(), Options{Recorder: rec})
	write(t, e.Engine, window(0, psi("amount", 0.5, 1000)))
	eventually(t, "a final record", func() bool { return len(rec.deliveryRecords()) == 1 })
	time.Sleep(30 * time.Millisecond)
	r := rec.deliveryRecords()[0]
	if len(rv.requests()) != 1 || r.State != StateFailed || r.Attempts != 1 || r.LastStatus != 422 || r.Kind != KindFiring || len(r.AlertIDs) != 1 {
		t.Fatalf("%d requests, record %+v", len(rv.requests()), r)
	}
	if outboxSize(t, e.Engine) != 0 {
		t.Error("failed delivery still in the outbox")
	}
}

// TestRetryAfterHonoured: a 429 with Retry-After: 1 delays the next
// attempt by at least a second although the backoff is milliseconds.
func TestRetryAfterHonoured(t *testing.T) {
	rv := newReceiver(t, func(n int, _ *http.Request) int {
		if n == 0 {
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	rv.srv.Config.Handler = retryAfter(rv.srv.Config.Handler)
	cfg := Config{Rules: []Rule{{Metric: "psi"}}, Targets: []Target{webhook("hook", rv.srv.URL, "")}, Delivery: fastDelivery()}
	e := start(t, cfg, t.TempDir(), Options{})
	write(t, e.Engine, window(0, psi("amount", 0.5, 1000)))
	eventually(t, "delivery after 429", func() bool { return len(rv.accepted()) == 1 })
	reqs := rv.requests()
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func retryAfter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		next.ServeHTTP(w, r)
	})
}

func TestRecorderFailureFailsWrite(t *testing.T) {
	rec := &fakeRecorder{failAlerts: errRecorderDown}
	dir := t.TempDir()
	cfg := Config{Rules: []Rule{{Metric: "psi"}}, Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")}}
	e := newEngine(t, cfg, dir, Options{Recorder: rec})
	if err := e.WriteWindows(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	err := e.WriteWindows(t.Context(), resultsOf(window(0, psi("amount", 0.5, 1000))))
	if err == nil || !strings.Contains(err.Error(), "recording alerts") {
		t.Fatalf("got %v", err)
	}
	if len(e.state) != 0 {
		t.Fatal("state advanced although the write failed")
	}
	// The retry (a replay by the processor) succeeds and does not enqueue twice.
	rec.failAlerts = nil
	write(t, e, window(0, psi("amount", 0.5, 1000)))
	if got := outboxSize(t, e); got != 1 || e.q.len() != 1 {
		t.Fatalf("outbox %d on disk, %d queued after retry, want 1", got, e.q.len())
	}
	if s := rec.alertStates(); fmt.Sprint(s) != "[firing]" {
		t.Fatalf("recorded %v", s)
	}
	e.Close()
}

func TestBackoff(t *testing.T) {
	e := &Engine{delivery: Delivery{InitialBackoff: Dur(time.Second), MaxBackoff: Dur(10 * time.Second)}}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 9: 10 * time.Second} {
		for range 50 {
			if got := e.backoff(attempts, 0); got < want/2 || got > want {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempts, got, want/2, want)
			}
		}
	}
	if got := e.backoff(1, time.Minute); got != time.Minute {
		t.Errorf("Retry-After ignored: %v", got)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); got != 90*time.Second {
		t.Errorf("HTTP-date Retry-After: %v", got)
	}
	if got := parseRetryAfter("soon", now); got != 0 {
		t.Errorf("bad Retry-After: %v", got)
	}
}

func TestAcceptStatuses(t *testing.T) {
	rv := newReceiver(t, func(int, *http.Request) int { return http.StatusConflict })
	rec := &fakeRecorder{}
	hook := webhook("airflow", rv.srv.URL, "")
	hook.AcceptStatuses = []int{409}
	cfg := Config{Rules: []Rule{{Metric: "psi"}}, Targets: []Target{hook}, Delivery: fastDelivery()}
	e := start(t, cfg, t.TempDir(), Options{Recorder: rec})
	write(t, e.Engine, window(0, psi("amount", 0.5, 1000)))
	eventually(t, "a final record", func() bool { return len(rec.deliveryRecords()) == 1 })
	if r := rec.deliveryRecords()[0]; r.State != StateDelivered || r.LastStatus != 409 || r.Attempts != 1 {
		t.Fatalf("record %+v", r)
	}
}
