package sinks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"
)

// A migration is applied once, in order; its statements must be idempotent
// (CREATE ... IF NOT EXISTS) because a crash may leave one half-applied and
// the next run repeats it. 18.16 has no ADD COLUMN IF NOT EXISTS: a future
// migration that adds a column must check system.columns first.
type migration struct {
	version     uint32
	description string
	statements  []string
}

// migrations never change once released; add a new one instead. {db} is
// replaced by the configured database.
var migrations = []migration{{
	version:     1,
	description: "window tables, rejects, alerts",
	statements: []string{
		`CREATE TABLE IF NOT EXISTS {db}.window_metrics (
    window_start DateTime,
    window_end DateTime,
    model String,
    model_version String,
    feature String,
    metric String,
    value Float64,
    threshold Nullable(Float64),
    drifted UInt8,
    sample_size UInt64,
    baseline_size UInt64,
    baseline_id String,
    revision UInt64,
    closed_at DateTime
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model, model_version, feature, metric, window_start, window_end)`,
		`CREATE TABLE IF NOT EXISTS {db}.feature_histograms (
    window_start DateTime,
    window_end DateTime,
    model String,
    model_version String,
    feature String,
    feature_type String,
    edges Array(Float64),
    categories Array(String),
    baseline_counts Array(UInt64),
    current_counts Array(UInt64),
    baseline_id String,
    revision UInt64,
    closed_at DateTime
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model, model_version, feature, window_start, window_end)`,
		`CREATE TABLE IF NOT EXISTS {db}.window_performance (
    window_start DateTime,
    window_end DateTime,
    model String,
    model_version String,
    class String,
    task String,
    events UInt64,
    late_events UInt64,
    support UInt64,
    label_coverage Float64,
    accuracy Nullable(Float64),
    precision Nullable(Float64),
    recall Nullable(Float64),
    f1 Nullable(Float64),
    roc_auc Nullable(Float64),
    macro_f1 Nullable(Float64),
    micro_f1 Nullable(Float64),
    weighted_f1 Nullable(Float64),
    mae Nullable(Float64),
    rmse Nullable(Float64),
    mean_error Nullable(Float64),
    baseline_id String,
    revision UInt64,
    closed_at DateTime
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model, model_version, class, window_start, window_end)`,
		`CREATE TABLE IF NOT EXISTS {db}.data_quality (
    window_start DateTime,
    window_end DateTime,
    model String,
    model_version String,
    feature String,
    feature_type String,
    sample_size UInt64,
    baseline_size UInt64,
    missing_rate Nullable(Float64),
    baseline_missing_rate Nullable(Float64),
    out_of_range_rate Nullable(Float64),
    new_category_count UInt64,
    new_categories Array(String),
    baseline_id String,
    revision UInt64,
    closed_at DateTime
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model, model_version, feature, window_start, window_end)`,
		`CREATE TABLE IF NOT EXISTS {db}.window_latency (
    window_start DateTime,
    window_end DateTime,
    model String,
    model_version String,
    sample_size UInt64,
    p50_ms Float64,
    p95_ms Float64,
    p99_ms Float64,
    revision UInt64,
    closed_at DateTime
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model, model_version, window_start, window_end)`,
		`CREATE TABLE IF NOT EXISTS {db}.rejected_events (
    minute DateTime,
    topic String,
    reason String,
    count UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (topic, reason, minute)`,
		`CREATE TABLE IF NOT EXISTS {db}.alerts (
    alert_id String,
    rule String,
    model String,
    model_version String,
    feature String,
    metric String,
    state String,
    severity String,
    value Float64,
    threshold Float64,
    window_start DateTime,
    window_end DateTime,
    baseline_id String,
    at DateTime
) ENGINE = ReplacingMergeTree(at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model, model_version, rule, feature, metric, alert_id, state)`,
		`CREATE TABLE IF NOT EXISTS {db}.alert_deliveries (
    notification_id String,
    target String,
    kind String,
    model String,
    alert_ids Array(String),
    window_start DateTime,
    state String,
    attempts UInt32,
    last_status Int32,
    last_error String,
    first_attempt DateTime,
    final_at DateTime,
    recorded_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model, notification_id, target, window_start)`,
	},
}}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int { return int(migrations[len(migrations)-1].version) }

// windowTables get the optional retention TTL.
var windowTables = []string{"window_metrics", "feature_histograms", "window_performance", "data_quality", "window_latency"}

// ErrSchemaNewer means the database was migrated by a newer driftd; writing
// to it with this build could corrupt it.
var ErrSchemaNewer = errors.New("schema is newer than this driftd knows")

// ErrSchemaOutdated means driftd migrate has not been run for this build.
var ErrSchemaOutdated = errors.New("schema is older than this driftd needs; run driftd migrate")

const migrationsTable = `CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
    version UInt32,
    description String,
    applied_at DateTime
) ENGINE = MergeTree
ORDER BY version`

// Migrate creates or upgrades the schema in cfg.Database and records each
// applied version in schema_migrations. Running it again is a no-op. It
// refuses (ErrSchemaNewer) a database migrated by a newer build. from and to
// are the versions before and after.
func Migrate(ctx context.Context, cfg Config, log zerolog.Logger) (from, to int, err error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return 0, 0, err
	}
	conn, err := dial(ctx, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	db := cfg.Database
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return 0, 0, fmt.Errorf("creating database %s: %w", db, err)
	}
	if err := conn.Exec(ctx, withDB(migrationsTable, db)); err != nil {
		return 0, 0, fmt.Errorf("creating %s.schema_migrations: %w", db, err)
	}
	cur, err := schemaVersion(ctx, conn, db)
	if err != nil {
		return 0, 0, err
	}
	from = cur
	if cur > SchemaVersion() {
		return cur, cur, fmt.Errorf("migrating %s: recorded version %d, this build knows up to %d: %w", db, cur, SchemaVersion(), ErrSchemaNewer)
	}
	for _, m := range migrations {
		if int(m.version) <= cur {
			continue
		}
		for i, stmt := range m.statements {
			if err := conn.Exec(ctx, withDB(stmt, db)); err != nil {
				return from, cur, fmt.Errorf("applying migration %d statement %d (%s): %w", m.version, i+1, firstLine(stmt), err)
			}
		}
		if err := recordMigration(ctx, conn, db, m); err != nil {
			return from, cur, fmt.Errorf("recording migration %d: %w", m.version, err)
		}
		log.Info().Uint32("version", m.version).Str("database", db).Str("description", m.description).Msg("applied clickhouse migration")
		cur = int(m.version)
	}
	if err := applyRetention(ctx, conn, cfg, log); err != nil {
		return from, cur, err
	}
	return from, cur, nil
}

// recordMigration uses a batch: an INSERT ... VALUES through Exec makes
// 18.16 wait for a data block that never comes.
func recordMigration(ctx context.Context, conn driver.Conn, db string, m migration) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".schema_migrations (version, description, applied_at)")
	if err != nil {
		return err
	}
	if err := b.Append(m.version, m.description, time.Now().UTC()); err != nil {
		_ = b.Abort()
		return err
	}
	return b.Send()
}

// checkSchema is Open's guard: the database must be exactly at this build's
// version.
func checkSchema(ctx context.Context, conn driver.Conn, db string) error {
	var n uint64
	q := "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'"
	if err := conn.QueryRow(ctx, q, db).Scan(&n); err != nil {
		return fmt.Errorf("checking schema of %s: %w", db, err)
	}
	if n == 0 {
		return fmt.Errorf("database %s has no schema_migrations table: %w", db, ErrSchemaOutdated)
	}
	v, err := schemaVersion(ctx, conn, db)
	if err != nil {
		return err
	}
	switch {
	case v > SchemaVersion():
		return fmt.Errorf("database %s at version %d, this build knows up to %d: %w", db, v, SchemaVersion(), ErrSchemaNewer)
	case v < SchemaVersion():
		return fmt.Errorf("database %s at version %d, this build needs %d: %w", db, v, SchemaVersion(), ErrSchemaOutdated)
	}
	return nil
}

func schemaVersion(ctx context.Context, conn driver.Conn, db string) (int, error) {
	var v uint32
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM "+db+".schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("reading %s.schema_migrations: %w", db, err)
	}
	return int(v), nil
}

// applyRetention sets (or, with Retention 0, leaves alone) a TTL on the
// window tables. TTL arrived in ClickHouse 19.6; older servers keep
// everything and we say so.
func applyRetention(ctx context.Context, conn driver.Conn, cfg Config, log zerolog.Logger) error {
	if cfg.Retention <= 0 {
		return nil
	}
	var version string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return fmt.Errorf("reading server version: %w", err)
	}
	if !supportsTTL(version) {
		log.Warn().Str("server_version", version).Dur("retention", cfg.Retention).
			Msg("clickhouse server has no TTL (needs 19.6+): retention not applied, data is kept")
		return nil
	}
	days := int(cfg.Retention / (24 * time.Hour))
	for _, t := range windowTables {
		q := fmt.Sprintf("ALTER TABLE %s.%s MODIFY TTL window_start + INTERVAL %d DAY", cfg.Database, t, days)
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("setting retention on %s.%s: %w", cfg.Database, t, err)
		}
	}
	log.Info().Int("days", days).Msg("clickhouse retention applied")
	return nil
}

// supportsTTL reports whether a server version string ("18.16.1",
// "24.8.4.13") is 19.6 or later.
func supportsTTL(version string) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > 19 || (major == 19 && minor >= 6)
}

func withDB(stmt, db string) string { return strings.ReplaceAll(stmt, "{db}", db) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// dial opens a native-protocol connection pool with LZ4 compression and
// checks it answers. Queries name their database, so the connection's
// default database stays the server's (ours may not exist yet).
func dial(ctx context.Context, cfg Config) (driver.Conn, error) {
	tlsCfg, err := cfg.TLS.build()
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol:    clickhouse.Native,
		Addr:        cfg.Addr,
		Auth:        clickhouse.Auth{Username: cfg.Username, Password: cfg.Password.Reveal()},
		TLS:         tlsCfg,
		DialTimeout: cfg.DialTimeout,
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		ClientInfo: clickhouse.ClientInfo{Products: []struct {
			Name    string
			Version string
		}{{Name: "driftd", Version: "1"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("opening clickhouse %v: %w", cfg.Addr, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if err := conn.Ping(pingCtx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connecting to clickhouse %v: %w", cfg.Addr, err)
	}
	return conn, nil
}
