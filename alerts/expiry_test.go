package alerts

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// unavailable answers every request with 503, in memory, so the test can
// run in a synctest bubble (real sockets would keep fake time from moving).
type unavailable struct{ calls atomic.Int64 }

func (u *unavailable) RoundTrip(*http.Request) (*http.Response, error) {
	u.calls.Add(1)
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
}

// TestExpiresAfterMaxAge: with the production backoff (1s doubling to a
// cap) a notification that never gets through is given up after max_age,
// logged, counted and recorded as expired; fake time makes the day pass
// instantly.
func TestExpiresAfterMaxAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &unavailable{}
		rec := &fakeRecorder{}
		logs := &syncBuffer{}
		cfg := Config{
			Rules:    []Rule{{Metric: "psi"}},
			Targets:  []Target{webhook("hook", "http://receiver.invalid/", "")},
			Delivery: Delivery{MaxBackoff: Dur(30 * time.Minute)},
		}
		e, err := NewEngine(cfg, Options{Dir: t.TempDir(), Recorder: rec, Logger: zerolog.New(logs),
			HTTPClient: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		queued := time.Now()
		write(t, e, window(0, psi("amount", 0.5, 1000)))

		time.Sleep(23 * time.Hour)
		synctest.Wait()
		if n := len(rec.deliveryRecords()); n != 0 {
			t.Fatalf("gave up before max_age: %+v", rec.deliveryRecords())
		}
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		recs := rec.deliveryRecords()
		if len(recs) != 1 || recs[0].State != StateExpired || recs[0].LastStatus != 503 {
			t.Fatalf("records %+v", recs)
		}
		r := recs[0]
		if age := r.FinalAt.Sub(queued); age < 24*time.Hour || age > 24*time.Hour+30*time.Minute {
			t.Errorf("expired after %v", age)
		}
		// 1s, 2s, … 16m, then 30m (jittered to 15–30m): roughly 50–100 attempts.
		if calls := rt.calls.Load(); calls != int64(r.Attempts) || calls < 45 || calls > 110 {
			t.Errorf("%d requests, %d attempts recorded", calls, r.Attempts)
		}
		if !strings.Contains(logs.String(), "notification expired, giving up") || strings.Count(logs.String(), "retrying") > 3 {
			t.Errorf("logs: %s", logs.String())
		}
		if outboxSize(t, e) != 0 {
			t.Error("expired delivery left in the outbox")
		}
		cancel()
		<-done
		e.Close()
	})
}

// TestInjectedClock: the engine stamps notifications with its clock.
func TestInjectedClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cfg := Config{Rules: []Rule{{Metric: "psi"}}, Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")}}
	e := newEngine(t, cfg, t.TempDir(), Options{Clock: func() time.Time { return at }})
	defer e.Close()
	write(t, e, window(0, psi("amount", 0.5, 1000)))
	e.q.mu.Lock()
	defer e.q.mu.Unlock()
	for _, d := range e.q.items {
		if !d.Notification.CreatedAt.Equal(at) || !d.QueuedAt.Equal(at) {
			t.Errorf("created %v queued %v, want %v", d.Notification.CreatedAt, d.QueuedAt, at)
		}
	}
}
