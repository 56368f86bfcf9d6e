package processor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus metrics, built from a registerer
// passed in (never the global one).
type Metrics struct {
	consumed       *prometheus.CounterVec
	rejected       *prometheus.CounterVec
	joinEntries    *prometheus.GaugeVec
	joinBytes      *prometheus.GaugeVec
	joinEvents     *prometheus.CounterVec
	watermarkLag   *prometheus.GaugeVec
	windowsClosed  prometheus.Counter
	lateEvents     prometheus.Counter
	lateLabels     prometheus.Counter
	noBaseline     prometheus.Counter
	consumerLag    *prometheus.GaugeVec
	sinkSeconds    *prometheus.HistogramVec
	sinkErrors     *prometheus.CounterVec
	checkpointSize *prometheus.GaugeVec
	// checkpointWritten grows by what each checkpoint rewrote: the
	// windows that changed and the rest of the state.
	checkpointWritten *prometheus.CounterVec
	workerWait        *prometheus.CounterVec
	commits           prometheus.Counter
	partitions        prometheus.Gauge
	rebalances        prometheus.Counter
	baselines         prometheus.Gauge
	// retentionSkipped counts offsets a partition reader found deleted
	// before it read them: data lost to the topic's retention.
	retentionSkipped *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *Metrics {
	f := func(c prometheus.Collector) prometheus.Collector { reg.MustRegister(c); return c }
	return &Metrics{
		consumed: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_events_consumed_total",
			Help: "Messages consumed, by topic."}, []string{"topic"})).(*prometheus.CounterVec),
		rejected: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_events_rejected_total",
			Help: "Messages sent to the dead-letter topic, by source topic and reason."}, []string{"topic", "reason"})).(*prometheus.CounterVec),
		joinEntries: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_join_store_entries",
			Help: "Pending-join entries (predictions and early outcomes), by partition."}, []string{"partition"})).(*prometheus.GaugeVec),
		joinBytes: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_join_store_bytes",
			Help: "Estimated bytes of the pending-join store, by partition."}, []string{"partition"})).(*prometheus.GaugeVec),
		joinEvents: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_join_events_total",
			Help: "Join store events: hit, miss, expired, evicted, orphan_outcome."}, []string{"event"})).(*prometheus.CounterVec),
		watermarkLag: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_watermark_lag_seconds",
			Help: "Processing time minus the partition's event-time watermark."}, []string{"partition"})).(*prometheus.GaugeVec),
		windowsClosed: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "driftd_windows_closed_total",
			Help: "Tumbling windows closed."})).(prometheus.Counter),
		lateEvents: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "driftd_late_events_total",
			Help: "Predictions that arrived after their window closed (counted, not measured)."})).(prometheus.Counter),
		lateLabels: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "driftd_late_labels_total",
			Help: "Outcomes whose prediction's window was already dropped."})).(prometheus.Counter),
		noBaseline: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "driftd_events_without_baseline_total",
			Help: "Predictions of model versions that have no baseline profile."})).(prometheus.Counter),
		consumerLag: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_consumer_lag_messages",
			Help: "High-water mark minus next offset, by topic and partition."}, []string{"topic", "partition"})).(*prometheus.GaugeVec),
		sinkSeconds: f(prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "driftd_sink_write_seconds",
			Help: "Latency of successful sink writes.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}, []string{"sink"})).(*prometheus.HistogramVec),
		sinkErrors: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_sink_errors_total",
			Help: "Failed (retried) writes, by sink: sink index and type, dead_letters, changelog."}, []string{"sink"})).(*prometheus.CounterVec),
		checkpointSize: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "driftd_checkpoint_bytes",
			Help: "Bytes of state the partition's last checkpoint holds."}, []string{"partition"})).(*prometheus.GaugeVec),
		checkpointWritten: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_checkpoint_written_bytes_total",
			Help: "Bytes of state written to the changelog: only windows that changed since the last checkpoint, and the rest of the state."}, []string{"partition"})).(*prometheus.CounterVec),
		workerWait: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_worker_wait_seconds_total",
			Help: "Time a partition worker waited instead of applying events, by reason: input (nothing decoded yet) or in_flight_cap (kafka.max_in_flight reached, until a flush is durable)."}, []string{"partition", "reason"})).(*prometheus.CounterVec),
		commits: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "driftd_offset_commits_total",
			Help: "Offset commits after durable flushes."})).(prometheus.Counter),
		partitions: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "driftd_assigned_partitions",
			Help: "Partitions this instance owns."})).(prometheus.Gauge),
		rebalances: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "driftd_generations_total",
			Help: "Consumer-group generations joined."})).(prometheus.Counter),
		baselines: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "driftd_baselines_loaded",
			Help: "Baseline profiles loaded."})).(prometheus.Gauge),
		retentionSkipped: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftd_retention_skipped_offsets_total",
			Help: "Offsets deleted by the topic's retention before driftd read them (never processed), by topic."}, []string{"topic"})).(*prometheus.CounterVec),
	}
}
