package main

import "testing"

// The example config shipped for Docker Compose must stay valid as the
// config grows (baselines are checked separately: they live in the image).
func TestExampleConfigIsValid(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	cfg, err := loadConfig("../../deploy/driftd.yaml", noEnv)
	if err != nil {
		t.Fatalf("deploy/driftd.yaml: %v", err)
	}
	if !cfg.alertsEnabled() || cfg.Sink != "clickhouse" {
		t.Errorf("example config lost its alerts (%v) or sink (%q)", cfg.alertsEnabled(), cfg.Sink)
	}
}
