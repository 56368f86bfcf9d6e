package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func writeConfigFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "driftd.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadConfigDefaultsAndEnv(t *testing.T) {
	p := writeConfigFile(t, "kafka:\n  brokers: [127.0.0.1:9092]\nwindow:\n  size: 30m\n")
	cfg, err := loadConfig(p, envMap(map[string]string{
		"DRIFTD_KAFKA_BROKERS":       "a:1, b:2",
		"DRIFTD_CLICKHOUSE_ADDR":     "ch:9000",
		"DRIFTD_JOIN_MAX_ENTRIES":    "7",
		"DRIFTD_WINDOW_IDLE_TIMEOUT": "5s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Kafka.Brokers, ","); got != "a:1,b:2" {
		t.Errorf("brokers %q", got)
	}
	if cfg.Window.Size != 30*time.Minute || cfg.Window.IdleTimeout != 5*time.Second || cfg.Join.MaxEntries != 7 {
		t.Errorf("window/join: %+v %+v", cfg.Window, cfg.Join)
	}
	if strings.Join(cfg.ClickHouse.Addr, ",") != "ch:9000" || cfg.Admin.Listen != "127.0.0.1:9464" || cfg.Kafka.Topics.Predictions != "predictions" {
		t.Errorf("defaults/env: %+v", cfg)
	}
}

func TestLoadConfigListsEveryProblem(t *testing.T) {
	p := writeConfigFile(t, `
kafka:
  brokers: [nohost]
  topics: {predictions: same, outcomes: same}
  sasl: {mechanism: kerberos}
window: {size: 7m, rolling_windows: -1}
join: {max_entries: 0}
limits: {max_features: 0}
sink: kafka
`)
	_, err := loadConfig(p, envMap(map[string]string{"DRIFTD_JOIN_LABEL_HORIZON": "soon"}))
	if err == nil {
		t.Fatal("want problems")
	}
	for _, key := range []string{"kafka.brokers[0]", "kafka.topics.outcomes", "kafka.sasl.mechanism", "window.size",
		"window.rolling_windows", "join.max_entries", "limits.max_features", "sink", "join.label_horizon: from DRIFTD_JOIN_LABEL_HORIZON"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

func TestLoadConfigUnknownKeyNamesLine(t *testing.T) {
	p := writeConfigFile(t, "kafka:\n  brokers: [a:1]\n  brokres: [b:2]\nwindow:\n  sise: 1h\n")
	_, err := loadConfig(p, envMap(nil))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "brokres") || !strings.Contains(err.Error(), "sise") {
		t.Fatalf("want both unknown keys with lines, got %v", err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	p := writeConfigFile(t, "kafka:\n  brokers: [a:1]\n  sasl: {mechanism: plain, username: u, password: hunter2}\n")
	secretFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(secretFile, []byte("s3cr3t-ch\n"), 0o600)
	cfg, err := loadConfig(p, envMap(map[string]string{"DRIFTD_CLICKHOUSE_PASSWORD_FILE": secretFile}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka.SASL.Password.Reveal() != "hunter2" || cfg.ClickHouse.Password.Reveal() != "s3cr3t-ch" {
		t.Fatal("secrets not loaded")
	}
	y, _ := yaml.Marshal(cfg)
	j, _ := json.Marshal(cfg)
	dump := string(y) + string(j) + fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.Kafka.SASL.Password)
	if strings.Contains(dump, "hunter2") || strings.Contains(dump, "s3cr3t") {
		t.Fatalf("a secret leaked into a dump")
	}
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{not json"), 0o600)
	p := writeConfigFile(t, "kafka:\n  brokers: []\nbaselines:\n  dir: "+dir+"\n")
	var out, errb bytes.Buffer
	if code := check([]string{"--config", p}, &out, &errb, envMap(nil)); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), "kafka.brokers") || !strings.Contains(errb.String(), "bad.json") {
		t.Errorf("check output lacks a problem:\n%s", errb.String())
	}
	good := writeConfigFile(t, "kafka:\n  brokers: [a:1]\n")
	out.Reset()
	if code := check([]string{"--config", good}, &out, &errb, envMap(nil)); code != 0 {
		t.Fatalf("exit %d on a good config", code)
	}
}
