package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/rs/zerolog"

	"github.com/driftd/driftd/sinks"
)

func TestMigrateCommandIntegration(t *testing.T) {
	addr := os.Getenv("DRIFTD_TEST_CLICKHOUSE_ADDR")
	if addr == "" {
		if os.Getenv("DRIFTD_REQUIRE_SERVICES") == "1" {
			t.Fatal("DRIFTD_TEST_CLICKHOUSE_ADDR is not set and DRIFTD_REQUIRE_SERVICES=1")
		}
		t.Skip("DRIFTD_TEST_CLICKHOUSE_ADDR not set")
	}
	db := fmt.Sprintf("t_cmd_migrate_%d", time.Now().UnixNano()%1_000_000_000)
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
