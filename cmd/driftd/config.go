package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/driftd/driftd/alerts"
	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/sinks"
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
	// Alerts is kept as raw YAML for the alerts package to decode strictly;
	// validate fills alerts from it.
	Alerts yaml.Node `yaml:"alerts"`
	alerts alerts.Config
	// StateDir holds local state that must survive restarts: the alert
	// state machines and the notification outbox (StateDir/alerts).
	StateDir string `yaml:"state_dir"`
}

// ClickHouseConfig is the ClickHouse sink's section: sinks.Config plus
// whether `driftd run` migrates the schema before starting.
type ClickHouseConfig struct {
	sinks.Config   `yaml:",inline"`
	MigrateOnStart bool `yaml:"migrate_on_start"`
}

func defaultConfig() Config {
	return Config{
		Config:     processor.DefaultConfig(),
		Sink:       "stdout",
		StateDir:   "driftd-state",
		ClickHouse: ClickHouseConfig{Config: sinks.Config{}.Defaults()},
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
		if len(c.ClickHouse.Addr) == 0 {
			p.Addf("clickhouse.addr", "must list host:port when sink is clickhouse")
		} else if err := c.ClickHouse.Config.Defaults().Validate(); err != nil {
			// One problem per line, each already naming its clickhouse.* key.
			for _, line := range strings.Split(err.Error(), "\n") {
				*p = append(*p, strings.TrimSpace(line))
			}
		}
	default:
		p.Addf("sink", "%q is not one of stdout, clickhouse", c.Sink)
	}
	c.validateAlerts(p)
}

// validateAlerts decodes the alerts section strictly, listing each of its
// problems with its key path.
func (c *Config) validateAlerts(p *processor.Problems) {
	if c.Alerts.Kind == 0 {
		return
	}
	if c.Alerts.Kind != yaml.MappingNode {
		p.Addf("alerts", "must be a mapping (line %d)", c.Alerts.Line)
		return
	}
	raw, err := yaml.Marshal(&c.Alerts)
	if err != nil {
		p.Addf("alerts", "re-encoding: %v", err)
		return
	}
	parsed, err := alerts.ParseConfig(raw)
	if err != nil {
		for _, line := range strings.Split(strings.TrimPrefix(err.Error(), "invalid alerts config: "), "\n") {
			*p = append(*p, line)
		}
		return
	}
	c.alerts = parsed
	if c.StateDir == "" && len(parsed.Rules) > 0 {
		p.Addf("state_dir", "must be set when alerts has rules (alert state and the outbox live there)")
	}
}

// alertsEnabled reports whether the alerts engine has anything to do.
func (c *Config) alertsEnabled() bool {
	return len(c.alerts.Rules) > 0
}
