package testservices_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/internal/testservices"
)

// TestKafkaConsumerGroupResumesIntegration proves the broker's consumer-group
// plumbing the engine relies on: a reader that commits part of a topic and
// is replaced resumes right after the committed offset, nothing lost or
// repeated.
func TestKafkaConsumerGroupResumesIntegration(t *testing.T) {
	t.Parallel()
	brokers := testservices.Kafka(t)
	topic := testservices.UniqueName(t, "topic")
	group := testservices.UniqueName(t, "group")
	testservices.CreateTopics(t, brokers, 1, topic)

	const total, firstPart = 10_000, 4_000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// An own transport: the shared default one caches metadata and may
	// not know a topic created a moment ago.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, BatchSize: 1000, Transport: tr,
		BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	msgs := make([]kafka.Message, total)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte("k"), Value: []byte(strconv.Itoa(i))}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("closing writer: %v", err)
	}

	seen := make([]int, 0, total)
	consume := func(n int) {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, GroupID: group,
			StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
		defer r.Close()
		for len(seen) < n {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("fetching message %d: %v", len(seen), err)
			}
			v, err := strconv.Atoi(string(m.Value))
			if err != nil {
				t.Fatalf("message at offset %d: %v", m.Offset, err)
			}
			seen = append(seen, v)
			if len(seen) == n {
				if err := r.CommitMessages(ctx, m); err != nil {
					t.Fatalf("committing offset %d: %v", m.Offset, err)
				}
			}
		}
	}
	consume(firstPart)
	consume(total) // a new reader in the same group: must start at firstPart

	if len(seen) != total {
		t.Fatalf("consumed %d messages, want %d", len(seen), total)
	}
	for i, v := range seen {
		if v != i {
			t.Fatalf("message %d has value %d: lost or repeated around the restart", i, v)
		}
	}
}

// TestClickHouseReplacingMergeTreeIntegration proves what the sink's
// idempotency rests on: rows rewritten with a higher version replace the old
// ones under FINAL, on the server the tests use.
func TestClickHouseReplacingMergeTreeIntegration(t *testing.T) {
	t.Parallel()
	addr := testservices.ClickHouse(t)
	db := testservices.Database(t, addr)
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Database: db},
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4}})
	if err != nil {
		t.Fatalf("opening clickhouse: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	err = conn.Exec(ctx, `CREATE TABLE metrics (
		window_start DateTime, feature String, value Float64, revision UInt64
	) ENGINE = ReplacingMergeTree(revision) PARTITION BY toYYYYMM(window_start) ORDER BY (feature, window_start)`)
	if err != nil {
		t.Fatalf("creating table: %v", err)
	}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	insert := func(revision uint64, bias float64) {
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO metrics (window_start, feature, value, revision)")
		if err != nil {
			t.Fatalf("preparing batch: %v", err)
		}
		for i := 0; i < 1000; i++ {
			w := start.Add(time.Duration(i%100) * time.Hour)
			if err := batch.Append(w, fmt.Sprintf("f%d", i/100), float64(i)+bias, revision); err != nil {
				t.Fatalf("appending row %d: %v", i, err)
			}
		}
		if err := batch.Send(); err != nil {
			t.Fatalf("sending batch: %v", err)
		}
	}
	insert(1, 0)
	insert(2, 0.5) // a replay with a newer revision

	var raw, final uint64
	var sum float64
	if err := conn.QueryRow(ctx, "SELECT count() FROM metrics").Scan(&raw); err != nil {
		t.Fatalf("counting rows: %v", err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(), sum(value) FROM metrics FINAL").Scan(&final, &sum); err != nil {
		t.Fatalf("counting rows with FINAL: %v", err)
	}
	if raw != 2000 {
		t.Errorf("raw rows = %d, want 2000 (both inserts stored before merging)", raw)
	}
	if final != 1000 {
		t.Errorf("rows under FINAL = %d, want 1000", final)
	}
	// sum of 0..999 plus 0.5 per surviving (revision 2) row.
	if want := 999.0*1000/2 + 500; sum != want {
		t.Errorf("sum(value) under FINAL = %v, want %v (the newer revision must win)", sum, want)
	}
}
