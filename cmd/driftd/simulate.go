package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/driftd/driftd/internal/simulate"
)

func init() {
	commands["simulate"] = command{summary: "generate prediction and outcome traffic with drift scenarios", run: runSimulate}
}

const simulateUsage = `usage: driftd simulate [flags]

Generates deterministic prediction and outcome events (schema v1) for the
models of a scenario file, or for synthetic models given by --models, in
simulated event time, to Kafka or to JSON Lines files. See docs/simulate.md.

flags:
`

type simulateFlags struct {
	scenario              string
	models                string
	numeric, categorical  int
	seed                  int64
	start                 string
	duration, labelDelay  time.Duration
	eventRate             string
	labelFraction         float64
	rate                  float64
	brokers               string
	predTopic, outTopic   string
	outFile, outcomesFile string
	trainingOut           string
	trainingRows          int
	trainingOnly          bool
	set                   map[string]bool
}

func (f *simulateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.scenario, "scenario", "", "YAML scenario `file` (default: synthetic models from --models, no injections)")
	fs.StringVar(&f.models, "models", "demo:v1", "without --scenario: models as `name[:version...][,...]`, e.g. fraud:v1:v2,churn")
	fs.IntVar(&f.numeric, "numeric-features", 5, "without --scenario: numeric features per model")
	fs.IntVar(&f.categorical, "categorical-features", 5, "without --scenario: categorical features per model")
	fs.Int64Var(&f.seed, "seed", 1, "random seed: the same seed and scenario give the same bytes")
	fs.StringVar(&f.start, "start", "", "event time of the first event, RFC 3339 (default: the scenario's, else 2026-11-23T00:00:00Z)")
	fs.DurationVar(&f.duration, "duration", 0, "event time to simulate, e.g. 6h (default: the scenario's, else 1h)")
	fs.StringVar(&f.eventRate, "event-rate", "", "rows per second of EVENT time per model: `N[/s|/m|/h]` (default: the scenario's, else 50/s)")
	fs.DurationVar(&f.labelDelay, "label-delay", 0, "event time between a prediction and its outcome (default: the scenario's)")
	fs.Float64Var(&f.labelFraction, "label-fraction", 0, "share of rows that get an outcome (default: the scenario's, else 1)")
	fs.Float64Var(&f.rate, "rate", 0, "messages per WALL second, 0 = as fast as possible")
	fs.StringVar(&f.brokers, "brokers", "localhost:9092", "Kafka brokers, comma-separated")
	fs.StringVar(&f.predTopic, "predictions-topic", "predictions", "Kafka topic for predictions")
	fs.StringVar(&f.outTopic, "outcomes-topic", "outcomes", "Kafka topic for outcomes")
	fs.StringVar(&f.outFile, "out-file", "", "write predictions as JSON Lines to `file` instead of Kafka")
	fs.StringVar(&f.outcomesFile, "outcomes-file", "", "with --out-file: outcomes `file` (default: NAME.outcomes.jsonl beside it; the --out-file itself interleaves both)")
	fs.StringVar(&f.trainingOut, "training-out", "", "also write training CSVs, one per model version, into `dir`")
	fs.IntVar(&f.trainingRows, "training-rows", 20000, "rows per training CSV")
	fs.BoolVar(&f.trainingOnly, "training-only", false, "write the training CSVs and no events")
}

func runSimulate(args []string) int {
	var f simulateFlags
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fmt.Fprint(os.Stderr, simulateUsage)
			fs.PrintDefaults()
			return 0
		}
		return simulateBadUsage(err)
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if fs.NArg() > 0 {
		return simulateBadUsage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	sc, err := f.buildScenario()
	if err != nil {
		return simulateBadUsage(err)
	}
	if err := f.checkOutputs(); err != nil {
		return simulateBadUsage(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	summary, err := f.execute(ctx, sc)
	if out, merr := json.Marshal(summary); merr == nil {
		fmt.Println(string(out))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "driftd simulate: %s\n", simulateOneLine(err))
		return 1
	}
	return 0
}

func simulateBadUsage(err error) int {
	fmt.Fprintf(os.Stderr, "driftd simulate: %s (see driftd simulate -h)\n", simulateOneLine(err))
	return 2
}

// simulateOneLine joins a multi-problem error (errors.Join) into one line.
func simulateOneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// buildScenario loads the scenario file or synthesises models from flags,
// then applies the flag overrides and validates.
func (f *simulateFlags) buildScenario() (simulate.Scenario, error) {
	var sc simulate.Scenario
	if f.scenario != "" {
		var err error
		if sc, err = simulate.LoadScenario(f.scenario); err != nil {
			return sc, err
		}
	} else {
		if f.numeric < 0 || f.categorical < 0 || f.numeric+f.categorical == 0 {
			return sc, fmt.Errorf("--numeric-features and --categorical-features must be >= 0 and not both 0")
		}
		for _, spec := range strings.Split(f.models, ",") {
			parts := strings.Split(strings.TrimSpace(spec), ":")
			if parts[0] == "" {
				return sc, fmt.Errorf("--models %q: empty model name", f.models)
			}
			sc.Models = append(sc.Models, simulate.SyntheticModel(parts[0], parts[1:], f.numeric, f.categorical))
		}
		sc.Duration = time.Hour
	}
	if err := f.override(&sc); err != nil {
		return sc, err
	}
	if err := sc.Validate(); err != nil {
		name := f.scenario
		if name == "" {
			name = "from flags"
		}
		return sc, fmt.Errorf("scenario %s: %w", name, err)
	}
	return sc, nil
}

func (f *simulateFlags) override(sc *simulate.Scenario) error {
	if f.start != "" {
		t, err := time.Parse(time.RFC3339Nano, f.start)
		if err != nil {
			return fmt.Errorf("--start %q: want RFC 3339, e.g. 2026-11-23T00:00:00Z", f.start)
		}
		sc.Start = t
	}
	if f.set["duration"] {
		sc.Duration = f.duration
	}
	if f.set["label-delay"] {
		sc.LabelDelay = f.labelDelay
	}
	if f.set["label-fraction"] {
		sc.LabelFraction = &f.labelFraction
	}
	if f.eventRate != "" {
		r, err := parseSimulateEventRate(f.eventRate)
		if err != nil {
			return err
		}
		sc.EventRate = r
		for i := range sc.Models {
			sc.Models[i].EventRate = r
		}
	}
	if f.rate < 0 {
		return fmt.Errorf("--rate must not be negative, got %v", f.rate)
	}
	if f.trainingRows <= 0 {
		return fmt.Errorf("--training-rows must be positive, got %d", f.trainingRows)
	}
	return nil
}

// parseSimulateEventRate reads N, N/s, N/m or N/h as rows per second.
func parseSimulateEventRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(s, "/")
	per := map[string]float64{"": 1, "s": 1, "m": 60, "min": 60, "h": 3600}[unit]
	n, err := strconv.ParseFloat(num, 64)
	if per == 0 || err != nil || !(n > 0) {
		return 0, fmt.Errorf("--event-rate %q: want a positive N, N/s, N/m or N/h", s)
	}
	return n / per, nil
}

func (f *simulateFlags) checkOutputs() error {
	if f.outcomesFile != "" && f.outFile == "" {
		return errors.New("--outcomes-file needs --out-file")
	}
	if f.trainingOnly && f.trainingOut == "" {
		return errors.New("--training-only needs --training-out")
	}
	if f.outFile == "" && !f.trainingOnly && strings.Trim(f.brokers, ", ") == "" {
		return errors.New("--brokers is empty")
	}
	return nil
}

type simulateSummary struct {
	simulate.Stats
	ElapsedSeconds  float64                 `json:"elapsed_s"`
	EventsPerSecond float64                 `json:"events_per_s"`
	Destination     string                  `json:"destination,omitempty"`
	Training        []simulate.TrainingFile `json:"training_files,omitempty"`
}

func (f *simulateFlags) execute(ctx context.Context, sc simulate.Scenario) (simulateSummary, error) {
	var sum simulateSummary
	if f.trainingOut != "" {
		files, err := simulate.WriteTraining(f.trainingOut, sc, f.seed, f.trainingRows)
		sum.Training = files
		if err != nil {
			return sum, err
		}
	}
	if f.trainingOnly {
		return sum, nil
	}
	gen := simulate.NewGenerator(sc, f.seed)
	var err error
	if f.outFile != "" {
		sum.Stats, err = f.writeFiles(ctx, gen)
		sum.Destination = f.outFile
	} else {
		brokers := strings.Split(f.brokers, ",")
		topics := simulate.Topics{Predictions: f.predTopic, Outcomes: f.outTopic}
		sum.Stats, err = simulate.Produce(ctx, brokers, topics, gen, f.rate)
		sum.Destination = "kafka://" + f.brokers
	}
	sum.ElapsedSeconds = sum.Elapsed.Seconds()
	sum.EventsPerSecond = sum.Stats.EventsPerSecond()
	return sum, err
}

func (f *simulateFlags) writeFiles(ctx context.Context, gen *simulate.Generator) (simulate.Stats, error) {
	outcomes := f.outcomesFile
	if outcomes == "" {
		ext := filepath.Ext(f.outFile)
		outcomes = strings.TrimSuffix(f.outFile, ext) + ".outcomes" + ext
	}
	files := []string{f.outFile}
	if outcomes != f.outFile {
		files = append(files, outcomes)
	}
	var opened []*os.File
	defer func() {
		for _, file := range opened {
			file.Close() // a second close after the checked one below is harmless
		}
	}()
	for _, name := range files {
		file, err := os.Create(name)
		if err != nil {
			return simulate.Stats{}, fmt.Errorf("creating events file: %w", err)
		}
		opened = append(opened, file)
	}
	var ow io.Writer // nil: outcomes interleaved into the events file
	if len(opened) == 2 {
		ow = opened[1]
	}
	st, err := simulate.WriteFiles(ctx, gen, opened[0], ow, f.rate)
	if err != nil {
		return st, err
	}
	for _, file := range opened {
		if err := file.Close(); err != nil {
			return st, fmt.Errorf("closing events file: %w", err)
		}
	}
	return st, nil
}
