package alerts

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	queued      *prometheus.CounterVec
	delivered   *prometheus.CounterVec
	failed      *prometheus.CounterVec
	retries     *prometheus.CounterVec
	transitions *prometheus.CounterVec
	outbox      prometheus.Gauge
	latency     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_alerts_notifications_queued_total",
			Help: "Notifications appended to the outbox, per target."}, []string{"target"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_alerts_notifications_delivered_total",
			Help: "Notifications a target acknowledged with 2xx."}, []string{"target"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_alerts_notifications_failed_total",
			Help: "Notifications given up: rejected (4xx), expired (max age), invalid (could not be built or target removed)."},
			[]string{"target", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_alerts_delivery_retries_total",
			Help: "Failed attempts that will be retried, by reason: timeout, connection, server_error, rate_limited."},
			[]string{"target", "reason"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_alerts_transitions_total",
			Help: "Alert state transitions: pending, firing, resolved."}, []string{"state"}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{Name: "driftd_alerts_outbox_size",
			Help: "Deliveries in the outbox not yet final."}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "driftd_alerts_delivery_latency_seconds",
			Help:    "Time from queueing a notification to its 2xx acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}, []string{"target"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.queued, m.delivered, m.failed, m.retries, m.transitions, m.outbox, m.latency} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("registering alert metrics (one engine per registerer): %w", err)
			}
			return nil, fmt.Errorf("registering alert metrics: %w", err)
		}
	}
	return m, nil
}
