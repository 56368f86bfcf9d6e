// Command demo runs driftd's whole job on the local Kafka and ClickHouse
// (`make demo`): it builds baselines from simulated training data, starts
// driftd and a webhook receiver, streams a scenario with injected drift,
// then prints what driftd found and writes an HTML report.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/driftd/driftd/deploy/localrun"
)

type options struct {
	localrun.Targets
	scenario  string
	dir       string
	eventRate string
	timeout   time.Duration
}

func main() {
	var o options
	o.AddFlags(flag.CommandLine)
	flag.StringVar(&o.scenario, "scenario", "testdata/scenarios/demo.yaml", "simulate scenario")
	flag.StringVar(&o.dir, "dir", ".local/demo", "working folder (recreated)")
	flag.StringVar(&o.eventRate, "event-rate", "40/s", "rows per second of event time per model")
	flag.DurationVar(&o.timeout, "timeout", 4*time.Minute, "give up waiting for detections after this long")
	localrun.Main("demo", func(ctx context.Context) error { return run(ctx, o) })
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	started := time.Now()
	var err error
	if o.dir, err = filepath.Abs(o.dir); err != nil {
		return err
	}
	if err := os.RemoveAll(o.dir); err != nil {
		return fmt.Errorf("cleaning %s: %w", o.dir, err)
	}
	for _, d := range []string{"training", "baselines", "state"} {
		if err := os.MkdirAll(filepath.Join(o.dir, d), 0o755); err != nil {
			return err
		}
	}
	// A fresh run id keeps topics, group and database apart from earlier runs.
	runID := localrun.RandomHex(4)
	database := "driftd_demo"
	topics := [4]string{"demo_predictions_" + runID, "demo_outcomes_" + runID,
		"demo_dead_letters_" + runID, "demo_changelog_" + runID}

	step("building baselines from simulated training data")
	if err := sh(ctx, o.Driftd, "simulate", "--scenario", o.scenario, "--training-only",
		"--training-out", filepath.Join(o.dir, "training")); err != nil {
		return err
	}
	csvs, _ := filepath.Glob(filepath.Join(o.dir, "training", "*.csv"))
	if len(csvs) == 0 {
		return fmt.Errorf("simulate wrote no training files")
	}
	for _, csv := range csvs {
		base := strings.TrimSuffix(filepath.Base(csv), ".csv")
		model, version, _ := strings.Cut(base, "_")
		out := filepath.Join(o.dir, "baselines", base+".json")
		if err := sh(ctx, o.Driftd, "baseline", "build", "--input", csv, "--model", model, "--version", version,
			"--target", "target", "--prediction", "prediction", "--score", "score", "-o", out); err != nil {
			return err
		}
	}

	step("preparing Kafka topics and the ClickHouse database %s", database)
	if err := sh(ctx, o.Probe, "topics", o.Kafka, "4", topics[0], topics[1], topics[2]); err != nil {
		return err
	}
	if err := sh(ctx, o.Probe, "topics", o.Kafka, "1", topics[3]); err != nil {
		return err
	}
	if err := sh(ctx, o.Driftd, "migrate", "--clickhouse", o.ClickHouse, "--database", database); err != nil {
		return err
	}

	key := localrun.RandomHex(32)
	recv, err := localrun.StartReceiver([]byte(key))
	if err != nil {
		return err
	}
	defer recv.Close()
	admin, err := localrun.FreeAddr()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(o.dir, "driftd.yaml")
	// The demo compresses time: 5-minute windows of event time.
	if err := localrun.WriteConfig(cfgPath, localrun.Config{
		Kafka: o.Kafka, Topics: topics, Group: "driftd-demo-" + runID, Dir: o.dir, Admin: admin,
		ClickHouse: o.ClickHouse, Database: database, SigningKey: key,
		Window: 5 * time.Minute, Lateness: 30 * time.Second, IdleTimeout: 10 * time.Second, LabelHorizon: 30 * time.Minute,
		Rules: demoRules,
		Targets: []string{
			fmt.Sprintf(`- {name: oncall, kind: webhook, url: "%s/oncall"}`, recv.URL()),
			fmt.Sprintf(`- {name: retrain, kind: webhook, action: retrain, url: "%s/retrain"}`, recv.URL()),
		},
	}); err != nil {
		return err
	}

	step("starting driftd (config %s, admin http://%s)", cfgPath, admin)
	driftd, err := localrun.StartDriftd(o.Driftd, cfgPath, filepath.Join(o.dir, "driftd.log"))
	if err != nil {
		return err
	}
	defer driftd.Stop()
	if err := driftd.WaitReady(ctx, "http://"+admin+"/readyz", 60*time.Second); err != nil {
		return err
	}

	step("streaming the scenario %s into Kafka (%s rows/s of event time per model)", o.scenario, o.eventRate)
	if err := sh(ctx, o.Driftd, "simulate", "--scenario", o.scenario, "--event-rate", o.eventRate,
		"--brokers", o.Kafka, "--predictions-topic", topics[0], "--outcomes-topic", topics[1]); err != nil {
		return err
	}

	step("waiting for driftd to close the windows and deliver its alerts")
	found, err := waitForDetections(ctx, recv, driftd, o.scenario, o.timeout)
	if err != nil {
		return fmt.Errorf("%w (log: %s)", err, driftd.Log)
	}
	driftd.Stop()

	step("what driftd found")
	missed := printSummary(os.Stdout, recv.Received(), found)

	step("drift and F1 over time, from ClickHouse (driftd report)")
	report := filepath.Join(o.dir, "report.html")
	if err := sh(ctx, o.Driftd, "report", "--clickhouse", o.ClickHouse, "--database", database, "--html", report); err != nil {
		return err
	}
	fmt.Printf("\nDemo finished in %s. Services are still up for exploring:\n", time.Since(started).Round(time.Second))
	fmt.Printf("  clickhouse-client --port %s --database %s   (tables: docs/clickhouse.md)\n", portOf(o.ClickHouse), database)
	fmt.Printf("  driftd log: %s\n  stop the services: make services-down\n", driftd.Log)
	if missed > 0 {
		return fmt.Errorf("%d injected scenario(s) not detected in their window or the next", missed)
	}
	return nil
}

func sh(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Printf("$ %s %s\n", filepath.Base(name), strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(name), args[0], err)
	}
	return nil
}

func portOf(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	return addr[i+1:]
}

// demoRules are the alert rules the summary expects to fire, one per
// injected scenario (detectionRule in summary.go names them).
var demoRules = []string{
	"- {name: label_shift, metric: psi, feature: __target__, threshold: 0.1}",
	"- {name: feature_drift, metric: psi, severity: critical}",
	"- {name: new_category, metric: new_categories}",
	"- {name: missing_values, metric: missing_rate}",
	"- {name: f1_floor, metric: f1, threshold: 0.6, resolve_threshold: 0.65, action: both}",
	"- {name: latency_p50, metric: latency_p50_ms, threshold: 50}",
}
