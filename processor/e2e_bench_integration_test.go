package processor

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/internal/testservices"
)

// BenchmarkEndToEndIntegration compares, on the same topics in the same
// run, the engine (fetch, decode, join, window, checkpoint, commit) with a
// consume-only kafka-go loop that fetches the same messages and does
// nothing else. Goal: engine rate >= 85% of the consume-only rate.
func BenchmarkEndToEndIntegration(b *testing.B) {
	brokers := testservices.Kafka(b)
	const n, partitions = 100_000, 4
	preds := make([]streamMsg, n)
	outs := make([]streamMsg, n)
	for i := range n {
		m := []string{"fraud", "churn", "ltv", "spam", "ads", "risk", "eta", "rank"}[i%8]
		preds[i] = streamMsg{Prediction, m, benchPredictionFor(i, m)}
		outs[i] = streamMsg{Outcome, m, []byte(`{"event_id":"evt-` + pad8(i) + `","model":"` + m + `","ts":"2026-11-23T11:00:00Z","label":"1"}`)}
	}
	cfg := testEngineConfig()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Topics = TopicConfig{Predictions: testservices.UniqueName(b, "pred"), Outcomes: testservices.UniqueName(b, "out"),
		DeadLetters: testservices.UniqueName(b, "dlq"), Changelog: testservices.UniqueName(b, "chg")}
	cfg.Window.Size = time.Hour
	cfg.Window.IdleTimeout = 0
	cfg.Admin.Listen = ""
	if d, err := time.ParseDuration(os.Getenv("DRIFTD_BENCH_COMMIT_INTERVAL")); err == nil {
		cfg.CommitInterval = d
	}
	testservices.CreateTopics(b, brokers, partitions, cfg.Kafka.Topics.Predictions, cfg.Kafka.Topics.Outcomes)
	produce(b, brokers, cfg.Kafka.Topics.Predictions, preds)
	produce(b, brokers, cfg.Kafka.Topics.Outcomes, outs)

	for b.Loop() {
		consumeOnly := consumeAll(b, brokers, partitions, cfg.Kafka.Topics.Predictions, cfg.Kafka.Topics.Outcomes)
		cfg.Kafka.Group = testservices.UniqueName(b, "grp")
		engine := runUntilConsumed(b, cfg, 2*n)
		b.ReportMetric(float64(2*n)/consumeOnly.Seconds(), "consume-only-msgs/s")
		b.ReportMetric(float64(2*n)/engine.Seconds(), "engine-msgs/s")
		b.ReportMetric(100*consumeOnly.Seconds()/engine.Seconds(), "engine-%-of-consume-only")
	}
}

func pad8(i int) string {
	s := "00000000" + itoa(i)
	return s[len(s)-8:]
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func benchPredictionFor(i int, model string) []byte {
	b := benchPrediction(i)
	return []byte(replaceOnce(string(b), `"model":"fraud"`, `"model":"`+model+`"`))
}

func replaceOnce(s, old, repl string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + repl + s[i+len(old):]
		}
	}
	return s
}

// consumeAll fetches every message of both topics with one partition
// reader per topic-partition, like the engine, and returns the time from
// the first message to the last.
func consumeAll(b *testing.B, brokers []string, partitions int, topics ...string) time.Duration {
	var first sync.Once
	var start time.Time
	var wg sync.WaitGroup
	for _, topic := range topics {
		for p := range partitions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1,
					MaxBytes: 16 << 20, MaxWait: 250 * time.Millisecond, QueueCapacity: 1000})
				defer r.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				for {
					m, err := r.FetchMessage(ctx)
					if err != nil {
						b.Errorf("consume-only %s/%d: %v", topic, p, err)
						return
					}
					first.Do(func() { start = time.Now() })
					if m.Offset >= m.HighWaterMark-1 {
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	return time.Since(start)
}

// runUntilConsumed runs the engine until it consumed total messages.
func runUntilConsumed(b *testing.B, cfg Config, total int) time.Duration {
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- Run(ctx, cfg, Deps{Logger: zerolog.Nop(), Registerer: reg, Sinks: []Sink{&recorder{}}})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
	}()
	var first time.Time
	for {
		c := consumed(reg)
		if c > 0 && first.IsZero() {
			first = time.Now() // from the first message, like consume-only: group join excluded
		}
		if c >= float64(total) {
			return time.Since(first)
		}
		select {
		case err := <-done:
			b.Fatalf("Run stopped early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(start) > 3*time.Minute {
			b.Fatalf("engine consumed %v of %d in 3m", consumed(reg), total)
		}
	}
}

func consumed(g prometheus.Gatherer) float64 {
	mfs, _ := g.Gather()
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "driftd_events_consumed_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
