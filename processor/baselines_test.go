package processor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/stats"
)

func writeProfile(t *testing.T, dir, file, model, version string) {
	t.Helper()
	p := &stats.Profile{FormatVersion: stats.ProfileFormatVersion, ID: model + "/" + version + "@test",
		Model: model, Version: version, Rows: 1}
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
}

// TestBaselinesReload: a reload (SIGHUP in driftd run) picks up new
// profiles; bad files are reported and skipped, and windows of model
// versions without a baseline get baseline-free state.
func TestBaselinesReload(t *testing.T) {
	dir := t.TempDir()
	writeProfile(t, dir, "fraud-v3.json", "fraud", "v3")
	os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o600)
	if probs := CheckBaselines(dir); len(probs) != 1 || !strings.Contains(probs[0], "broken.json") {
		t.Fatalf("problems %v", probs)
	}
	cfg := DefaultConfig()
	cfg.Baselines.Dir = dir
	reload := make(chan struct{})
	r := &runner{cfg: cfg, log: zerolog.Nop(), m: newMetrics(prometheus.NewRegistry()), deps: Deps{Reload: reload}}
	r.loadBaselines()
	f := r.stateFactory()
	if _, id := f("fraud", "v3"); !strings.HasPrefix(id, "fraud/v3@") {
		t.Fatalf("baseline id %q", id)
	}
	if _, id := f("churn", "v1"); id != "" {
		t.Fatalf("churn has no baseline yet, got %q", id)
	}
	writeProfile(t, dir, "churn-v1.json", "churn", "v1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.reloadLoop(ctx)
	reload <- struct{}{}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, id := f("churn", "v1"); strings.HasPrefix(id, "churn/v1@") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reload did not pick up the new profile")
		}
		time.Sleep(10 * time.Millisecond)
	}
	writeProfile(t, dir, "dup.json", "churn", "v1")
	if probs := CheckBaselines(dir); len(probs) != 2 {
		t.Errorf("want broken file and duplicate reported, got %v", probs)
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
