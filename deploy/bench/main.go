// Command bench is `make bench`: it loads the local Kafka with simulated
// events once, then measures on them, in one run, a consume-only kafka-go
// ceiling, driftd end to end (Kafka → windows → ClickHouse and webhooks),
// and the same drift computation by driftd compare, numpy/scipy and
// Evidently; it prints one table and writes the figures as JSON.
// docs/benchmarks.md explains every figure.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/deploy/localrun"
)

type options struct {
	localrun.Targets
	python, peers            string
	dir, out                 string
	events, peerRows         int64
	trainingRows             int
	seed                     int64
	window, lateness         time.Duration
	windows                  int
	timeout                  time.Duration
	keep                     bool
	profileSeconds           int
	brokerPID, clickhousePID string
	pollEvery                time.Duration
	rounds                   int
}

func main() {
	var o options
	o.AddFlags(flag.CommandLine)
	flag.StringVar(&o.python, "python", ".local/bench-venv/bin/python", "Python with deploy/bench/requirements.txt installed")
	flag.StringVar(&o.peers, "peers", "deploy/bench/peers.py", "the peer script")
	flag.StringVar(&o.dir, "dir", ".local/bench", "working folder (recreated)")
	flag.StringVar(&o.out, "out", "bench-results.json", "results JSON file")
	flag.Int64Var(&o.events, "events", 2_000_000, "predictions + outcomes to load (rounded to a multiple of 2×windows×window seconds)")
	flag.Int64Var(&o.peerRows, "peer-rows", 1_000_000, "at most this many current rows for driftd compare and the peers")
	flag.IntVar(&o.trainingRows, "training-rows", 100_000, "baseline (training CSV) rows")
	flag.Int64Var(&o.seed, "seed", 1, "simulate seed")
	flag.DurationVar(&o.window, "window", 40*time.Second, "window size (event time)")
	flag.DurationVar(&o.lateness, "lateness", time.Second, "allowed lateness")
	flag.IntVar(&o.windows, "windows", 25, "windows of event time to simulate")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up on driftd after this long")
	flag.BoolVar(&o.keep, "keep", false, "keep the topics and the database afterwards")
	flag.IntVar(&o.rounds, "rounds", 2, "driftd runs, each followed by a ceiling run (one more ceiling run comes first); the fastest of each counts")
	flag.IntVar(&o.profileSeconds, "profile-seconds", 0, "also take a CPU profile of driftd for this many seconds from its first message")
	flag.StringVar(&o.brokerPID, "broker-pid-file", ".local/kafka/kafka.pid", "pid file of the Kafka broker, to count its CPU (optional)")
	flag.StringVar(&o.clickhousePID, "clickhouse-pid-file", ".local/clickhouse/clickhouse.pid", "pid file of the ClickHouse server, to count its CPU (optional)")
	flag.DurationVar(&o.pollEvery, "poll-every", 100*time.Millisecond, "how often to query ClickHouse for newly visible windows (the resolution of the window → ClickHouse latency, and load on ClickHouse)")
	localrun.Main("bench", func(ctx context.Context) error { return run(ctx, o) })
}

func step(format string, args ...any) {
	fmt.Printf("\n==> %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(ctx context.Context, o options) error {
	began := time.Now()
	res := &Results{Started: began.UTC().Format(time.RFC3339), Partitions: 4}
	res.Machine = describeMachine(o.Driftd)
	loadCtx, stopLoad := context.WithCancel(ctx)
	maxLoad := make(chan float64, 1)
	go func() { maxLoad <- sampleLoad(loadCtx, 5*time.Second) }()
	defer stopLoad()
	var err error
	if o.dir, err = filepath.Abs(o.dir); err != nil {
		return err
	}
	if err := os.RemoveAll(o.dir); err != nil {
		return fmt.Errorf("cleaning %s: %w", o.dir, err)
	}
	for _, d := range []string{"train", "baselines", "files"} {
		if err := os.MkdirAll(filepath.Join(o.dir, d), 0o755); err != nil {
			return err
		}
	}
	// Rows per second of event time so that predictions + outcomes = N
	// over the simulated windows (every prediction gets an outcome).
	span := time.Duration(o.windows) * o.window
	perS := o.events / 2 / int64(span/time.Second)
	if perS < 1 {
		return fmt.Errorf("-events %d is too few for %d windows of %s", o.events, o.windows, o.window)
	}
	sim := []string{"simulate", "--models", "bench:v1", "--numeric-features", "10", "--categorical-features", "10",
		"--seed", fmt.Sprint(o.seed), "--duration", span.String(), "--event-rate", fmt.Sprintf("%d/s", perS)}

	runID := localrun.RandomHex(4)
	topics := [4]string{"bench_predictions_" + runID, "bench_outcomes_" + runID,
		"bench_dead_letters_" + runID, "bench_changelog_" + runID}
	// Every driftd run gets its own dead-letter and changelog topics: a
	// later run must not restore the checkpoints of an earlier one.
	var runTopics [][4]string
	for r := range max(o.rounds, 1) {
		t := topics
		if r > 0 {
			t[2], t[3] = fmt.Sprintf("%s_%d", topics[2], r+1), fmt.Sprintf("%s_%d", topics[3], r+1)
		}
		runTopics = append(runTopics, t)
	}
	database := "driftd_bench"

	step("training data and the baseline (%d rows)", o.trainingRows)
	if err := sh(ctx, o.Driftd, append(slicesClone(sim), "--training-only", "--training-out",
		filepath.Join(o.dir, "train"), "--training-rows", fmt.Sprint(o.trainingRows))...); err != nil {
		return err
	}
	trainCSV := filepath.Join(o.dir, "train", "bench_v1.csv")
	profile := filepath.Join(o.dir, "baselines", "bench_v1.json")
	if err := sh(ctx, o.Driftd, "baseline", "build", "--input", trainCSV, "--model", "bench", "--version", "v1",
		"--target", "target", "--prediction", "prediction", "--score", "score", "-o", profile); err != nil {
		return err
	}

	step("fresh topics (4 partitions) and ClickHouse database %s", database)
	if err := sh(ctx, o.Probe, "topics", o.Kafka, "4", topics[0], topics[1]); err != nil {
		return err
	}
	for _, t := range runTopics {
		if err := sh(ctx, o.Probe, "topics", o.Kafka, "4", t[2]); err != nil {
			return err
		}
		if err := sh(ctx, o.Probe, "topics", o.Kafka, "1", t[3]); err != nil {
			return err
		}
		if !o.keep {
			defer deleteTopics(o.Kafka, t[2:])
		}
	}
	if !o.keep {
		defer deleteTopics(o.Kafka, topics[:2])
	}
	freshDatabase := func() error {
		if err := dropDatabase(ctx, o.ClickHouse, database); err != nil {
			return err
		}
		return sh(ctx, o.Driftd, "migrate", "--clickhouse", o.ClickHouse, "--database", database)
	}
	if err := freshDatabase(); err != nil {
		return err
	}

	step("loading Kafka once: %d rows/s of event time for %s", perS, span)
	var sum simSummary
	if err := shJSON(ctx, &sum, o.Driftd, append(slicesClone(sim), "--brokers", o.Kafka,
		"--predictions-topic", topics[0], "--outcomes-topic", topics[1])...); err != nil {
		return err
	}
	res.Predictions, res.Outcomes = sum.Predictions, sum.Outcomes
	res.Events = sum.Predictions + sum.Outcomes
	res.ProduceEventsPerS = sum.EventsPerS
	predFile := filepath.Join(o.dir, "files", "predictions.jsonl")
	step("the same events (same seed) to %s for the peers", predFile)
	var fileSum simSummary
	if err := shJSON(ctx, &fileSum, o.Driftd, append(slicesClone(sim), "--out-file", predFile)...); err != nil {
		return err
	}
	if fileSum.Predictions != sum.Predictions || fileSum.Outcomes != sum.Outcomes {
		return fmt.Errorf("files hold %d+%d events, Kafka %d+%d", fileSum.Predictions, fileSum.Outcomes, sum.Predictions, sum.Outcomes)
	}
	peerCSV := filepath.Join(o.dir, "files", "current.csv")
	info, err := scanPredictionsFile(predFile, peerCSV, o.peerRows, o.window, o.lateness)
	if err != nil {
		return err
	}
	res.PeerRows = min(o.peerRows, info.rows)
	_ = os.Remove(filepath.Join(o.dir, "files", "predictions.outcomes.jsonl"))

	// The ceiling runs before and after each driftd run, and the fastest
	// run of each counts: a shared box slows one run now and then, and
	// neither side should gain or lose from that.
	ceiling := func(round int) error {
		step("consume-only ceiling (%d of %d): kafka-go consumer group over both topics", round, max(o.rounds, 1)+1)
		d, cpu, brokerCPU, err := consumeOnly(ctx, []string{o.Kafka}, fmt.Sprintf("bench-ceiling-%s-%d", runID, round), topics[:2], res.Events, o.brokerPID)
		if err != nil {
			return err
		}
		rate := float64(res.Events) / d.Seconds()
		fmt.Printf("%s events in %.1f s: %s events/s\n", count(float64(res.Events)), d.Seconds(), count(rate))
		res.CeilingRuns = append(res.CeilingRuns, rate)
		if rate > res.CeilingEventsPerS {
			res.CeilingEventsPerS, res.CeilingSeconds = rate, seconds(d)
			res.CeilingCPUMicrosPerEvent = 1e6 * cpu / float64(res.Events)
			res.CeilingBrokerCPUMicrosPerEvent = 1e6 * brokerCPU / float64(res.Events)
		}
		return nil
	}
	if err := ceiling(1); err != nil {
		return err
	}

	for r := range max(o.rounds, 1) {
		if r > 0 {
			// A fresh start: no checkpoint, alert state or rows of the
			// run before.
			if err := os.RemoveAll(filepath.Join(o.dir, "state")); err != nil {
				return err
			}
			if err := freshDatabase(); err != nil {
				return err
			}
		}
		step("driftd run end to end (%d of %d, config %s)", r+1, max(o.rounds, 1), filepath.Join(o.dir, "driftd.yaml"))
		e := &e2eRun{o: o, dir: o.dir, topics: runTopics[r], group: fmt.Sprintf("bench-driftd-%s-%d", runID, r+1), database: database,
			info: info, total: res.Events, profiling: r > 0}
		er, err := e.run(ctx)
		if err != nil {
			return err
		}
		rate := float64(res.Events) / er.elapsed.Seconds()
		res.DriftdRuns = append(res.DriftdRuns, rate)
		fmt.Printf("driftd: %s events/s, %d windows in ClickHouse, %d notifications\n",
			count(rate), len(er.toClickHouse), er.notifications)
		if rate > res.DriftdEventsPerS {
			res.setDriftd(er)
		}
		if err := ceiling(r + 2); err != nil {
			return err
		}
	}

	step("the same drift computation on %s rows: driftd compare", count(float64(res.PeerRows)))
	res.DriftdCompareRowsPerS, res.CompareError = runCompare(ctx, o.Driftd, profile, peerCSV, info.columns, res.PeerRows)
	step("numpy/scipy and Evidently (deploy/bench/peers.py)")
	runPeers(ctx, o, trainCSV, peerCSV, res)

	res.Machine.LoadAfter = loadAverage()
	stopLoad()
	res.Machine.LoadMax1 = <-maxLoad
	res.Seconds = seconds(time.Since(began))
	res.finish()
	if err := res.writeJSON(o.out); err != nil {
		return err
	}
	step("results (%s; also in %s)", time.Since(began).Round(time.Second), o.out)
	res.writeTable(os.Stdout)
	fmt.Printf("\nmachine: %d × %s, %s RAM; load average before %s, after %s, highest 1-min during the run %.2f\n",
		res.Machine.NProc, res.Machine.CPU, mib(res.Machine.MemBytes), res.Machine.LoadBefore, res.Machine.LoadAfter, res.Machine.LoadMax1)
	return nil
}

type simSummary struct {
	Predictions int64   `json:"predictions"`
	Outcomes    int64   `json:"outcomes"`
	EventsPerS  float64 `json:"events_per_s"`
}

// runCompare times `driftd compare` of the current rows against the
// baseline profile; rows/s counts from process start to exit.
func runCompare(ctx context.Context, driftd, profile, csv string, columns []string, rows int64) (*float64, string) {
	var num, cat []string
	for _, c := range columns {
		if strings.HasPrefix(c, "num_") {
			num = append(num, c)
		} else {
			cat = append(cat, c)
		}
	}
	cmd := exec.CommandContext(ctx, driftd, "compare", "--baseline", profile, "--current", csv,
		"--numeric", strings.Join(num, ","), "--categorical", strings.Join(cat, ","))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return nil, firstLine(fmt.Sprintf("%v: %s", err, stderr.String()))
	}
	fmt.Printf("driftd compare: %s rows in %.2f s\n", count(float64(rows)), d.Seconds())
	return ptr(float64(rows) / d.Seconds()), ""
}

// runPeers runs peers.py; a peer that cannot run is reported, not fatal.
func runPeers(ctx context.Context, o options, baseline, current string, res *Results) {
	if _, err := os.Stat(o.python); err != nil {
		msg := "no Python at " + o.python + " (pip install -r deploy/bench/requirements.txt failed?)"
		res.ScipyError, res.EvidentlyError = msg, msg
		return
	}
	var out struct {
		Scipy            *float64 `json:"scipy_rows_per_s"`
		Evidently        *float64 `json:"evidently_rows_per_s"`
		EvidentlyError   string   `json:"evidently_error"`
		EvidentlyVersion string   `json:"evidently_version"`
	}
	err := shJSON(ctx, &out, o.python, o.peers, "--baseline", baseline, "--current", current)
	if err != nil {
		res.ScipyError, res.EvidentlyError = firstLine(err.Error()), firstLine(err.Error())
		return
	}
	res.ScipyRowsPerS, res.EvidentlyRowsPerS = out.Scipy, out.Evidently
	res.EvidentlyError, res.EvidentlyVersion = out.EvidentlyError, out.EvidentlyVersion
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

// shJSON runs a command whose stdout is one JSON document.
func shJSON(ctx context.Context, v any, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = os.Stderr
	fmt.Printf("$ %s %s\n", filepath.Base(name), strings.Join(args, " "))
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(name), args[0], err)
	}
	fmt.Print(string(out))
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s %s: decoding its output: %w", filepath.Base(name), args[0], err)
	}
	return nil
}

func dropDatabase(ctx context.Context, addr, db string) error {
	ch, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Username: "default"}})
	if err != nil {
		return fmt.Errorf("opening ClickHouse: %w", err)
	}
	defer ch.Close()
	if err := ch.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
		return fmt.Errorf("dropping database %s: %w", db, err)
	}
	return nil
}

// deleteTopics removes the run's topics: each full run writes hundreds of
// megabytes that nothing reads again.
func deleteTopics(addr string, topics []string) {
	c := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics}); err != nil {
		fmt.Fprintf(os.Stderr, "bench: deleting topics %v: %v\n", topics, err)
	}
}

func describeMachine(driftd string) Machine {
	m := Machine{NProc: runtime.NumCPU(), LoadBefore: loadAverage(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = cpuModel(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemBytes = memTotal(string(b))
	}
	if out, err := exec.Command(driftd, "version").Output(); err == nil {
		m.DriftdBuild = strings.TrimSpace(string(out))
	}
	return m
}

func cpuModel(cpuinfo string) string {
	for _, line := range strings.Split(cpuinfo, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal(meminfo string) int64 {
	for _, line := range strings.Split(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// sampleLoad returns the highest 1-minute load average seen until ctx ends.
func sampleLoad(ctx context.Context, every time.Duration) float64 {
	var highest float64
	for {
		var l float64
		if _, err := fmt.Sscanf(loadAverage(), "%g", &l); err == nil && l > highest {
			highest = l
		}
		select {
		case <-ctx.Done():
			return highest
		case <-time.After(every):
		}
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
