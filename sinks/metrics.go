package sinks

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rows        *prometheus.CounterVec
	batches     *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	errors      *prometheus.CounterVec
	backlog     prometheus.Gauge
	lastSuccess prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_clickhouse_rows_written_total",
			Help: "Rows written to ClickHouse, by table.",
		}, []string{"table"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_clickhouse_batches_total",
			Help: "INSERT batches written to ClickHouse, by table.",
		}, []string{"table"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "driftd_clickhouse_insert_duration_seconds",
			Help:    "Duration of one successful INSERT attempt, by table.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"table"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_clickhouse_retries_total",
			Help: "INSERT attempts retried after a retryable error, by table.",
		}, []string{"table"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "driftd_clickhouse_errors_total",
			Help: "Failed INSERT attempts, by table and reason (unreachable, timeout, overloaded, schema, auth, bad_data, server, canceled).",
		}, []string{"table", "reason"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "driftd_clickhouse_blocked_writes",
			Help: "Writes currently waiting to retry: non-zero means the sink is applying back-pressure.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "driftd_clickhouse_last_success_timestamp_seconds",
			Help: "Unix time of the last successful INSERT.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rows, m.batches, m.latency, m.retries, m.errors, m.backlog, m.lastSuccess} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering clickhouse sink metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) written(table string, rows int, took time.Duration) {
	m.latency.WithLabelValues(table).Observe(took.Seconds())
	m.rows.WithLabelValues(table).Add(float64(rows))
	m.batches.WithLabelValues(table).Inc()
	m.lastSuccess.SetToCurrentTime()
}
