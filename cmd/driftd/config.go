package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/processor"
)

// Config is driftd.yaml: the engine's sections inline at the root, plus the
// sections other rooms own (ClickHouse for sinks/, alerts for alerts/).
type Config struct {
	processor.Config `yaml:",inline"`

	// Sink chooses where window results go: "stdout" (JSON lines) or
	// "clickhouse".
	Sink       string           `yaml:"sink"`
	SinkFile   string           `yaml:"sink_file"` // with sink stdout: a file instead of stdout
	ClickHouse ClickHouseConfig `yaml:"clickhouse"`
	// Alerts is kept as raw YAML for the alerts package to decode strictly.
	Alerts yaml.Node `yaml:"alerts"`
}

// ClickHouseConfig is the ClickHouse connection for sinks/.
type ClickHouseConfig struct {
	Addr           string           `yaml:"addr"`
	Database       string           `yaml:"database"`
	Username       string           `yaml:"username"`
	Password       processor.Secret `yaml:"password"`
	MigrateOnStart bool             `yaml:"migrate_on_start"`
}

func defaultConfig() Config {
	return Config{
		Config:     processor.DefaultConfig(),
		Sink:       "stdout",
		ClickHouse: ClickHouseConfig{Database: "driftd", Username: "default"},
	}
}

// loadConfig reads path (strict: unknown keys are errors), applies defaults
// and DRIFTD_ environment overrides, and validates. Every problem found is
// listed in the returned error.
func loadConfig(path string, env func(string) (string, bool)) (Config, error) {
	cfg := defaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	if err := decodeConfig(path, b, &cfg); err != nil {
		return cfg, err
	}
	var p processor.Problems
	applyEnv(&cfg, env, &p)
	cfg.validate(&p)
	return cfg, p.Err()
}

func decodeConfig(path string, b []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if errors.Is(err, io.EOF) {
		return nil // an empty file means all defaults
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		p := make(processor.Problems, 0, len(te.Errors))
		for _, e := range te.Errors {
			p = append(p, path+": "+e)
		}
		return p.Err()
	}
	if err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	return nil
}

func (c *Config) validate(p *processor.Problems) {
	c.ValidateInto(p)
	switch c.Sink {
	case "stdout":
	case "clickhouse":
		if c.ClickHouse.Addr == "" {
			p.Addf("clickhouse.addr", "must be set when sink is clickhouse")
		}
		if c.ClickHouse.Database == "" {
			p.Addf("clickhouse.database", "must not be empty")
		}
	default:
		p.Addf("sink", "%q is not one of stdout, clickhouse", c.Sink)
	}
	if c.Alerts.Kind != 0 && c.Alerts.Kind != yaml.MappingNode {
		p.Addf("alerts", "must be a mapping (line %d)", c.Alerts.Line)
	}
}
