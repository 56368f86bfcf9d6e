package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/driftd/driftd/sinks"
)

func init() {
	commands["migrate"] = command{summary: "create or upgrade the ClickHouse schema", run: runMigrate}
}

func runMigrate(args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	addr := fs.String("clickhouse", "127.0.0.1:9000", "ClickHouse native `host:port` list, comma-separated")
	db := fs.String("database", "driftd", "ClickHouse database")
	user := fs.String("username", "default", "ClickHouse user")
	passwordFile := fs.String("password-file", "", "file holding the ClickHouse password (default: env DRIFTD_CLICKHOUSE_PASSWORD)")
	tlsOn := fs.Bool("tls", false, "connect with TLS")
	caFile := fs.String("tls-ca-file", "", "PEM CA bundle for TLS")
	retention := fs.Duration("retention", 0, "optional TTL on window tables, e.g. 2160h (servers 19.6+)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	password := sinks.Secret(os.Getenv("DRIFTD_CLICKHOUSE_PASSWORD"))
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "driftd migrate: reading --password-file: %v\n", err)
			return 2
		}
		password = sinks.Secret(strings.TrimSpace(string(b)))
	}
	cfg := sinks.Config{
		Addr: strings.Split(*addr, ","), Database: *db, Username: *user, Password: password,
		TLS:       sinks.TLSConfig{Enabled: *tlsOn, CAFile: *caFile},
		Retention: *retention,
	}.Defaults()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "driftd migrate: %v\n", err)
		return 2
	}
	log := zerolog.New(os.Stderr).With().Timestamp().Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	from, to, err := sinks.Migrate(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "driftd migrate: %v\n", err)
		if errors.Is(err, sinks.ErrSchemaNewer) {
			return 2
		}
		return 1
	}
	if from == to {
		fmt.Printf("clickhouse schema %s is up to date at version %d\n", cfg.Database, to)
	} else {
		fmt.Printf("clickhouse schema %s migrated from version %d to %d\n", cfg.Database, from, to)
	}
	return 0
}
