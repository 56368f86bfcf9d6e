// Package sinks writes driftd's per-window results to ClickHouse. The table
// names and columns are an API documented in docs/clickhouse.md.
package sinks

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/driftd/driftd/processor"
)

// Secret is the ClickHouse password: processor.Secret, which never prints
// its value.
type Secret = processor.Secret

// TLSConfig enables TLS to ClickHouse. Files are PEM.
type TLSConfig struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Direction says which side of a threshold counts as drifted.
type Direction int

const (
	// Above: drifted when value > threshold (PSI, KS statistic, ...).
	Above Direction = iota
	// Below: drifted when value < threshold (p-values, F1, coverage, ...).
	Below
)

// Threshold is the limit a metric is compared with when its row is written.
type Threshold struct {
	Value     float64
	Direction Direction
}

// Crossed reports whether v is on the drifted side of t.
func (t Threshold) Crossed(v float64) bool {
	if t.Direction == Below {
		return v < t.Value
	}
	return v > t.Value
}

// ThresholdFunc returns the threshold of a metric for one model version and
// feature, and false when there is none (the row's threshold is then NULL
// and drifted 0). It is called once per metric row and must be safe for
// concurrent use.
type ThresholdFunc func(model, version, feature, metric string) (Threshold, bool)

// MetricThresholds is a ThresholdFunc that looks the metric name up in a map,
// the same for every model and feature.
func MetricThresholds(m map[string]Threshold) ThresholdFunc {
	return func(_, _, _, metric string) (Threshold, bool) {
		t, ok := m[metric]
		return t, ok
	}
}

// Config configures the ClickHouse sink.
type Config struct {
	// Addr lists host:port of native-protocol endpoints (port 9000 by default).
	Addr     []string  `yaml:"addr"`
	Database string    `yaml:"database"`
	Username string    `yaml:"username"`
	Password Secret    `yaml:"password"`
	TLS      TLSConfig `yaml:"tls"`

	DialTimeout time.Duration `yaml:"dial_timeout"`
	// InsertTimeout bounds one insert attempt, so a hung connection turns
	// into a retry instead of a stall.
	InsertTimeout time.Duration `yaml:"insert_timeout"`
	// BatchRows caps the rows of one INSERT; larger writes are split.
	BatchRows int `yaml:"batch_rows"`
	// FlushInterval is how long a small write may wait for concurrent writes
	// to share its INSERT. Zero writes at once.
	FlushInterval time.Duration `yaml:"flush_interval"`

	// MaxRetries and MaxRetryElapsed bound retries of retryable errors; zero
	// means unbounded, which is what back-pressure needs: while ClickHouse is
	// unreachable a write blocks until it succeeds or its context ends.
	MaxRetries      int           `yaml:"max_retries"`
	MaxRetryElapsed time.Duration `yaml:"max_retry_elapsed"`
	RetryInitial    time.Duration `yaml:"retry_initial"`
	RetryMax        time.Duration `yaml:"retry_max"`

	// Retention, when set, adds a TTL on window_start to the window tables,
	// on servers that support TTL (19.6 and later). Rounded to whole days.
	Retention time.Duration `yaml:"retention"`

	// AutoMigrate makes Open run Migrate first, so `driftd run` creates or
	// upgrades the schema at start.
	AutoMigrate bool `yaml:"auto_migrate"`

	// Thresholds fills window_metrics.threshold and drifted; nil leaves
	// every threshold NULL.
	Thresholds ThresholdFunc `yaml:"-" json:"-"`
}

// Defaults returns c with zero fields set to their defaults.
func (c Config) Defaults() Config {
	if c.Database == "" {
		c.Database = "driftd"
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.InsertTimeout == 0 {
		c.InsertTimeout = 30 * time.Second
	}
	if c.BatchRows == 0 {
		c.BatchRows = 10000
	}
	if c.RetryInitial == 0 {
		c.RetryInitial = 200 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 10 * time.Second
	}
	return c
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every problem with its key, before any network call.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("clickhouse.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Addr) == 0 {
		bad("addr", "at least one host:port is required")
	}
	for i, a := range c.Addr {
		if !strings.Contains(a, ":") {
			bad(fmt.Sprintf("addr[%d]", i), "%q is not host:port", a)
		}
	}
	if !identRE.MatchString(c.Database) {
		bad("database", "%q must match %s", c.Database, identRE)
	}
	for key, d := range map[string]time.Duration{
		"dial_timeout": c.DialTimeout, "insert_timeout": c.InsertTimeout,
		"flush_interval": c.FlushInterval, "max_retry_elapsed": c.MaxRetryElapsed,
		"retry_initial": c.RetryInitial, "retry_max": c.RetryMax, "retention": c.Retention,
	} {
		if d < 0 {
			bad(key, "%s is negative", d)
		}
	}
	if c.BatchRows < 0 {
		bad("batch_rows", "%d is negative", c.BatchRows)
	}
	if c.MaxRetries < 0 {
		bad("max_retries", "%d is negative", c.MaxRetries)
	}
	if c.Retention > 0 && c.Retention < 24*time.Hour {
		bad("retention", "%s is under one day", c.Retention)
	}
	if t := c.TLS; !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "") {
		bad("tls.enabled", "files are set but TLS is not enabled")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "cert_file and key_file go together")
	}
	return errors.Join(errs...)
}

func (t TLSConfig) build() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in by config
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading clickhouse.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("clickhouse.tls.ca_file %s: no PEM certificate found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading clickhouse.tls.cert_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
