package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/deploy/localrun"
	"github.com/driftd/driftd/internal/simulate"
	"github.com/driftd/driftd/stats"
)

// detectionRule maps an injected scenario kind to the alert rule of the
// demo config that should catch it, and whether the rule is per feature.
var detectionRule = map[string]struct {
	rule       string
	perFeature bool
	feature    string // a fixed feature, for scenarios not tied to an input
}{
	"covariate_shift":    {rule: "feature_drift", perFeature: true},
	"new_category":       {rule: "new_category", perFeature: true},
	"missing_spike":      {rule: "missing_values", perFeature: true},
	"prior_shift":        {rule: "label_shift", feature: stats.TargetFeature},
	"concept_drift":      {rule: "f1_floor"},
	"latency_regression": {rule: "latency_p50"},
}

// expectation is one injected scenario and where its alert must appear.
type expectation struct {
	kind, model, feature, rule string
	// window starts in which detection counts: the injection's window or
	// the next one.
	from, to time.Time
}

// detection is the first firing alert that matched an expectation.
type detection struct {
	version string
	window  time.Time
	value   float64
	thresh  float64
}

func expectations(path string) ([]expectation, time.Duration, error) {
	sc, err := simulate.LoadScenario(path)
	if err != nil {
		return nil, 0, err
	}
	var out []expectation
	for _, inj := range sc.Injections {
		d, ok := detectionRule[inj.Kind]
		if !ok {
			continue
		}
		e := expectation{kind: inj.Kind, model: inj.Model, rule: d.rule,
			from: sc.Start.Add(inj.At), to: sc.Start.Add(inj.At + sc.Window)}
		e.feature = d.feature
		if d.perFeature {
			e.feature = inj.Feature
		}
		out = append(out, e)
	}
	return out, sc.Window, nil
}

// match finds, per expectation, the earliest firing alert in a verified
// on-call notification for the scenario's model, rule and feature.
func match(exps []expectation, got []localrun.Receipt) map[int]detection {
	found := map[int]detection{}
	for _, r := range got {
		if !r.Verified || r.Path != "/oncall" || r.Notification.Kind != "firing" {
			continue
		}
		n := r.Notification
		for _, a := range n.Alerts {
			if a.Status != "firing" {
				continue
			}
			for i, e := range exps {
				if e.model != n.Model || e.rule != a.Rule || (e.feature != "" && e.feature != a.Feature) {
					continue
				}
				if prev, ok := found[i]; !ok || n.Window.Start.Before(prev.window) {
					found[i] = detection{version: n.Version, window: n.Window.Start.UTC(), value: a.Value, thresh: a.Threshold}
				}
			}
		}
	}
	return found
}

// waitForDetections polls the receiver until every injected scenario has
// its alert, driftd exits, or the time runs out.
func waitForDetections(ctx context.Context, recv *localrun.Receiver, driftd *localrun.Process, scenario string, limit time.Duration) ([]expectation, error) {
	exps, _, err := expectations(scenario)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(limit)
	for {
		found := match(exps, recv.Received())
		if len(found) == len(exps) && retrainArrived(recv.Received()) {
			// Give resolves and late-label re-emissions a moment to land.
			time.Sleep(3 * time.Second)
			return exps, nil
		}
		if time.Now().After(deadline) {
			fmt.Printf("stopped waiting after %s: %d of %d scenarios alerted\n", limit, len(found), len(exps))
			return exps, nil
		}
		select {
		case <-driftd.Done():
			return nil, fmt.Errorf("driftd exited early: %v", driftd.Err())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func retrainArrived(got []localrun.Receipt) bool {
	for _, r := range got {
		if r.Path == "/retrain" && r.Verified {
			return true
		}
	}
	return false
}

// printSummary prints the detections table and the webhooks received, and
// returns how many scenarios were missed.
func printSummary(w io.Writer, got []localrun.Receipt, exps []expectation) int {
	found := match(exps, got)
	fmt.Fprintf(w, "%-20s %-6s %-18s %-16s %-12s %-12s %s\n", "scenario", "model", "feature", "rule", "injected", "alerted", "result")
	missed := 0
	for i, e := range exps {
		d, ok := found[i]
		result, alerted := "MISSED", "-"
		if ok {
			alerted = d.window.Format("15:04")
			result = fmt.Sprintf("detected (%s, value %.3g vs %.3g)", d.version, d.value, d.thresh)
			if d.window.Before(e.from) || d.window.After(e.to) {
				result = "alerted in another window: " + result
				missed++
			}
		} else {
			missed++
		}
		feature := e.feature
		if feature == "" {
			feature = "(model)"
		}
		fmt.Fprintf(w, "%-20s %-6s %-18s %-16s %-12s %-12s %s\n", e.kind, e.model, feature, e.rule, e.from.Format("15:04"), alerted, result)
	}

	counts := map[string]int{}
	verified, bad, dup := 0, 0, 0
	var retrain []string
	for _, r := range got {
		counts[r.Path+" "+r.Notification.Kind]++
		switch {
		case !r.Verified:
			bad++
		default:
			verified++
		}
		if r.Duplicate {
			dup++
		}
		if r.Path == "/retrain" {
			var rules []string
			for _, a := range r.Notification.Alerts {
				rules = append(rules, a.Rule+" "+a.Status)
			}
			retrain = append(retrain, fmt.Sprintf("%s/%s window %s: %s", r.Notification.Model, r.Notification.Version,
				r.Notification.Window.Start.UTC().Format("15:04"), strings.Join(rules, ", ")))
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "\nwebhooks received: %d (%d with a valid signature, %d rejected, %d repeated idempotency keys)\n", len(got), verified, bad, dup)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-24s %d\n", k, counts[k])
	}
	fmt.Fprintln(w, "retraining webhooks:")
	for _, r := range retrain {
		fmt.Fprintf(w, "  %s\n", r)
	}
	return missed
}
