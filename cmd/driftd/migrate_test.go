package main

import (
	"context"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/internal/testservices"
	"github.com/driftd/driftd/sinks"
)

func TestMigrateCommandIntegration(t *testing.T) {
	addr := testservices.ClickHouse(t)
	db := testservices.UniqueName(t, "t")
	t.Cleanup(func() {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
		if err != nil {
			t.Errorf("dropping %s: %v", db, err)
			return
		}
		defer conn.Close()
		if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Errorf("dropping %s: %v", db, err)
		}
	})
	for i := range 2 {
		if code := run([]string{"migrate", "--clickhouse", addr, "--database", db}); code != 0 {
			t.Fatalf("run %d: exit %d", i+1, code)
		}
	}
	_, to, err := sinks.Migrate(context.Background(), sinks.Config{Addr: []string{addr}, Database: db}, zerolog.Nop())
	if err != nil || to != sinks.SchemaVersion() {
		t.Fatalf("schema after the command: version %d, %v", to, err)
	}
	if code := run([]string{"migrate", "--clickhouse", addr, "--database", "bad-name"}); code != 2 {
		t.Errorf("invalid database name: exit %d, want 2", code)
	}
}
