package sinks

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/alerts"
	"github.com/driftd/driftd/processor"
)

// ClickHouse writes window results, reject counts and alert history.
//
// Every Write/Record method returns nil only once its rows are stored. A
// retryable failure (server unreachable, timeout, overload) is retried with
// exponential backoff and jitter while ctx lives (and within MaxRetries /
// MaxRetryElapsed when set), so while ClickHouse is down the call blocks:
// that is the back-pressure the processor relies on to stop fetching and to
// commit no offset beyond what is written. A non-retryable failure returns at
// once, wrapping ErrNotRetryable. Methods may be called concurrently; the
// sink does not keep the caller's slices after returning.
type ClickHouse struct {
	cfg  Config
	conn driver.Conn
	log  zerolog.Logger
	m    *metrics
	now  func() time.Time
	gc   *groupCommit

	// closed ends retry loops on Close, so a write blocked by an outage
	// does not outlive the sink.
	closed    chan struct{}
	closeOnce sync.Once
}

// Open connects, checks the schema is at this build's version (run Migrate
// first, or set AutoMigrate) and returns a ready sink.
func Open(ctx context.Context, cfg Config, log zerolog.Logger, reg prometheus.Registerer) (*ClickHouse, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		if _, _, err := Migrate(ctx, cfg, log); err != nil {
			return nil, err
		}
	}
	conn, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, conn, cfg.Database); err != nil {
		conn.Close()
		return nil, err
	}
	c := &ClickHouse{cfg: cfg, conn: conn, m: m, now: time.Now, closed: make(chan struct{}),
		log: log.With().Str("component", "clickhouse").Str("database", cfg.Database).Logger()}
	if cfg.FlushInterval > 0 {
		c.gc = newGroupCommit(c)
	}
	return c, nil
}

// Close releases the connections. Calls still blocked in a write end with
// an error.
func (c *ClickHouse) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	if c.gc != nil {
		c.gc.close()
	}
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("closing clickhouse: %w", err)
	}
	return nil
}

// WriteWindows stores every row derived from results: one window_metrics row
// per flattened metric, feature histograms, data quality, performance (model
// row and per-class rows) and latency. Rows of a window that was written
// before (a replay, or a re-emission with a higher Revision) replace the old
// ones on merge and under FINAL/argMax.
func (c *ClickHouse) WriteWindows(ctx context.Context, results []processor.WindowResult) error {
	if len(results) == 0 {
		return nil
	}
	rows := &windowRows{}
	for i := range results {
		rows.add(&results[i], c.cfg.Thresholds)
	}
	if c.gc != nil {
		return c.gc.write(ctx, rows)
	}
	return c.writeRows(ctx, rows)
}

func (c *ClickHouse) writeRows(ctx context.Context, rows *windowRows) error {
	// Metrics go first: they are what alerts and dashboards read, and a
	// failure part-way is repaired by the replay, which rewrites them all.
	for _, write := range []func() error{
		func() error { return insert(ctx, c, &metricTable, rows.metrics) },
		func() error { return insert(ctx, c, &histogramTable, rows.histograms) },
		func() error { return insert(ctx, c, &qualityTable, rows.quality) },
		func() error { return insert(ctx, c, &performanceTable, rows.performance) },
		func() error { return insert(ctx, c, &latencyTable, rows.latency) },
	} {
		if err := write(); err != nil {
			return err
		}
	}
	return nil
}

// WriteRejects stores reject counts. Counts add up: query sum(count).
func (c *ClickHouse) WriteRejects(ctx context.Context, stats []processor.RejectStat) error {
	return insert(ctx, c, &rejectTable, stats)
}

// RecordAlerts stores alert state transitions; a repeated transition (same
// alert, state and window) replaces the earlier row.
func (c *ClickHouse) RecordAlerts(ctx context.Context, recs []alerts.AlertRecord) error {
	return insert(ctx, c, &alertTable, recs)
}

// RecordDeliveries stores webhook/notification delivery states; the latest
// record of a (notification, target) wins.
func (c *ClickHouse) RecordDeliveries(ctx context.Context, recs []alerts.DeliveryRecord) error {
	now := c.now()
	rows := make([]deliveryRow, len(recs))
	for i := range recs {
		// Distinct versions within one call keep the caller's order.
		rows[i] = deliveryRow{rec: &recs[i], recordedAt: now.Add(time.Duration(i))}
	}
	return insert(ctx, c, &deliveryTable, rows)
}

type table[R any] struct {
	name    string
	columns string
	values  func(*R) []any
	// columnar, when set, returns one slice per column for rows; faster
	// than values for large tables.
	columnar func([]R) []any
}

// insert writes rows in INSERTs of at most BatchRows, each retried on its
// own, so a retry resends one batch rather than everything.
func insert[R any](ctx context.Context, c *ClickHouse, t *table[R], rows []R) error {
	if err := ctx.Err(); err != nil && len(rows) > 0 {
		return fmt.Errorf("writing %s: %w", t.name, err)
	}
	query := "INSERT INTO " + c.cfg.Database + "." + t.name + " (" + t.columns + ")"
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), c.cfg.BatchRows)]
		err := c.retry(ctx, t.name, len(chunk), func(ctx context.Context) error {
			return sendBatch(ctx, c.conn, query, t, chunk)
		})
		if err != nil {
			return err
		}
		rows = rows[len(chunk):]
	}
	return nil
}

func sendBatch[R any](ctx context.Context, conn driver.Conn, query string, t *table[R], rows []R) error {
	b, err := conn.PrepareBatch(ctx, query)
	if err != nil {
		return fmt.Errorf("preparing insert: %w", err)
	}
	if t.columnar != nil {
		for i, col := range t.columnar(rows) {
			if err := b.Column(i).Append(col); err != nil {
				_ = b.Abort()
				return errBadData{fmt.Errorf("appending column %d: %w", i, err)}
			}
		}
	} else {
		for i := range rows {
			if err := b.Append(t.values(&rows[i])...); err != nil {
				_ = b.Abort()
				return errBadData{fmt.Errorf("appending row %d: %w", i, err)}
			}
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("sending batch: %w", err)
	}
	return nil
}
