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
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/alerts"
	"github.com/driftd/driftd/processor"
	"github.com/driftd/driftd/sinks"
)

func init() {
	commands["run"] = command{summary: "consume events and measure drift and performance", run: runRun}
}

func runRun(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	path := fs.String("config", "driftd.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := zerolog.New(os.Stderr).With().Timestamp().Str("service", "driftd").Logger()
	cfg, err := loadConfig(*path, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "driftd run: %v\n", err)
		return 2
	}
	out := io.Writer(os.Stdout)
	if cfg.Sink == "stdout" && cfg.SinkFile != "" {
		f, err := os.OpenFile(cfg.SinkFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "driftd run: opening sink_file: %v\n", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default: // a reload is already pending
			}
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	deps := processor.Deps{Logger: log, Registerer: reg, Gatherer: reg, Reload: reload}
	var recorder alerts.Recorder
	if cfg.Sink == "clickhouse" {
		ch, err := openClickHouse(ctx, &cfg, log, reg)
		if err != nil {
			log.Error().Err(err).Msg("opening the ClickHouse sink")
			return 1
		}
		defer ch.Close()
		deps.Sinks, deps.RejectSinks = []processor.Sink{ch}, []processor.RejectSink{ch}
		recorder = ch
	} else {
		deps.Sinks = []processor.Sink{&jsonLinesSink{w: out}}
	}
	if cfg.alertsEnabled() {
		// The alerts engine comes after the ClickHouse sink: a window's rows
		// are written before anyone is told about them.
		eng, err := alerts.NewEngine(cfg.alerts, alerts.Options{Dir: filepath.Join(cfg.StateDir, "alerts"),
			Logger: log.With().Str("component", "alerts").Logger(), Registerer: reg, Recorder: recorder})
		if err != nil {
			log.Error().Err(err).Msg("starting the alerts engine")
			return 1
		}
		delivered := make(chan struct{})
		go func() {
			defer close(delivered)
			if err := eng.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error().Err(err).Msg("alert delivery stopped")
			}
		}()
		// Undelivered notifications stay in the outbox for the next start.
		defer func() {
			if err := eng.Close(); err != nil {
				log.Error().Err(err).Msg("closing the alerts engine")
			}
			<-delivered
		}()
		deps.Sinks = append(deps.Sinks, eng)
	}
	log.Info().Str("config", *path).Strs("brokers", cfg.Kafka.Brokers).Str("group", cfg.Kafka.Group).
		Str("admin", cfg.Admin.Listen).Msg("starting")
	err = processor.Run(ctx, cfg.Config, deps)
	signal.Stop(hup)
	close(hup)
	if err != nil {
		log.Error().Err(err).Msg("stopped")
		if errors.Is(err, processor.ErrInvalidConfig) {
			return 2
		}
		return 1
	}
	log.Info().Msg("stopped")
	return 0
}

// openClickHouse opens the sink; with clickhouse.migrate_on_start (or
// sinks' own auto_migrate) it creates or upgrades the schema first, else it
// refuses a schema it does not know.
func openClickHouse(ctx context.Context, cfg *Config, log zerolog.Logger, reg prometheus.Registerer) (*sinks.ClickHouse, error) {
	chCfg := cfg.ClickHouse.Config.Defaults()
	chCfg.AutoMigrate = chCfg.AutoMigrate || cfg.ClickHouse.MigrateOnStart
	if cfg.alertsEnabled() {
		lookup := cfg.alerts.Thresholds()
		chCfg.Thresholds = func(model, version, feature, metric string) (sinks.Threshold, bool) {
			level, below, ok := lookup(model, version, feature, metric)
			dir := sinks.Above
			if below {
				dir = sinks.Below
			}
			return sinks.Threshold{Value: level, Direction: dir}, ok
		}
	}
	return sinks.Open(ctx, chCfg, log, reg)
}

// jsonLinesSink writes each window result as one JSON line (sink: stdout),
// for trying driftd without ClickHouse or piping results elsewhere.
type jsonLinesSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *jsonLinesSink) WriteWindows(_ context.Context, results []processor.WindowResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	enc := json.NewEncoder(s.w)
	for i := range results {
		if err := enc.Encode(&results[i]); err != nil {
			return fmt.Errorf("writing window results: %w", err)
		}
	}
	if f, ok := s.w.(*os.File); ok {
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("syncing window results: %w", err)
		}
	}
	return nil
}
