package simulate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/semaphore"
)

// Topics names the Kafka topics the events go to.
type Topics struct {
	Predictions, Outcomes string
}

// maxInFlight bounds the messages handed to the writer and not yet
// acknowledged, so a generator faster than the broker waits instead of
// buffering without bound.
const maxInFlight = 100_000

// Produce writes every event of gen to Kafka, keyed by model name (both
// topics with the same partitioner, as driftd's co-partitioning needs), at
// most rate messages per wall second (0: as fast as possible). Writes are
// asynchronous and batched, but nothing is dropped: every batch the broker
// rejects after retries is counted, and Produce returns an error naming
// how many messages failed. The topics must exist with equal partition
// counts.
func Produce(ctx context.Context, brokers []string, topics Topics, gen *Generator, rate float64) (Stats, error) {
	// An own transport, so its connections close when the run ends rather
	// than idling in kafka-go's shared default one.
	transport := &kafka.Transport{DialTimeout: 10 * time.Second}
	defer transport.CloseIdleConnections()
	if err := checkTopics(ctx, transport, brokers, topics); err != nil {
		return Stats{}, err
	}
	s := newKafkaSink(transport, brokers, topics)
	start := time.Now()
	st, err := pump(ctx, gen, rate, 2000, s)
	if cerr := s.close(); err == nil {
		err = cerr
	}
	// Until the last acknowledgement, not the last hand-over.
	st.Elapsed = time.Since(start)
	return st, err
}

// checkTopics fails early, with the reason, when a topic is missing or the
// two are not co-partitioned, rather than letting the writer retry.
func checkTopics(ctx context.Context, transport *kafka.Transport, brokers []string, topics Topics) error {
	if topics.Predictions == "" || topics.Outcomes == "" {
		return errors.New("both a predictions and an outcomes topic are required")
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topics.Predictions, topics.Outcomes}})
	if err != nil {
		return fmt.Errorf("reading topic metadata from %v: %w", brokers, err)
	}
	parts := map[string]int{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return fmt.Errorf("topic %q: %w", t.Name, t.Error)
		}
		parts[t.Name] = len(t.Partitions)
	}
	for _, name := range []string{topics.Predictions, topics.Outcomes} {
		if parts[name] == 0 {
			return fmt.Errorf("topic %q does not exist on %v", name, brokers)
		}
	}
	if p, o := parts[topics.Predictions], parts[topics.Outcomes]; p != o {
		return fmt.Errorf("topics %q (%d partitions) and %q (%d partitions) are not co-partitioned: driftd needs equal partition counts",
			topics.Predictions, p, topics.Outcomes, o)
	}
	return nil
}

type kafkaSink struct {
	w        *kafka.Writer
	topics   Topics
	keys     map[string][]byte
	inflight *semaphore.Weighted

	// The writer keeps references to message bytes until it completes
	// them, so each chunk gets a fresh arena and message slice.
	arena []byte
	msgs  []kafka.Message

	mu       sync.Mutex
	sent     int64
	failed   int64
	firstErr error
}

func newKafkaSink(transport *kafka.Transport, brokers []string, topics Topics) *kafkaSink {
	s := &kafkaSink{topics: topics, keys: map[string][]byte{}, inflight: semaphore.NewWeighted(maxInFlight)}
	s.w = &kafka.Writer{
		Addr:      kafka.TCP(brokers...),
		Transport: transport,
		// Murmur2 is the Java client's partitioner: other producers keyed
		// by model name land on the same partitions.
		Balancer:     &kafka.Murmur2Balancer{},
		BatchSize:    5000,
		BatchBytes:   1 << 20,
		BatchTimeout: 10 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
		Async:        true,
		Completion:   s.completed,
	}
	return s
}

func (s *kafkaSink) completed(msgs []kafka.Message, err error) {
	if err != nil {
		s.mu.Lock()
		s.failed += int64(len(msgs))
		if s.firstErr == nil {
			s.firstErr = err
		}
		s.mu.Unlock()
	}
	s.inflight.Release(int64(len(msgs)))
}

func (s *kafkaSink) send(ev Event) error {
	key, ok := s.keys[ev.Model]
	if !ok {
		key = []byte(ev.Model)
		s.keys[ev.Model] = key
	}
	topic := s.topics.Predictions
	if ev.Kind == Outcome {
		topic = s.topics.Outcomes
	}
	start := len(s.arena)
	s.arena = append(s.arena, ev.Value...)
	// A full slice expression, so a later append to the arena can never
	// write into a message handed to the writer.
	s.msgs = append(s.msgs, kafka.Message{Topic: topic, Key: key, Value: s.arena[start:len(s.arena):len(s.arena)]})
	return nil
}

func (s *kafkaSink) flush(ctx context.Context) error {
	if len(s.msgs) == 0 {
		return s.err()
	}
	if err := s.inflight.Acquire(ctx, int64(len(s.msgs))); err != nil {
		return fmt.Errorf("waiting for acknowledgements: %w", err)
	}
	// Counted before the hand-over, so a completion never reports more
	// failures than messages sent.
	s.mu.Lock()
	s.sent += int64(len(s.msgs))
	s.mu.Unlock()
	if err := s.w.WriteMessages(ctx, s.msgs...); err != nil {
		s.mu.Lock()
		s.sent -= int64(len(s.msgs))
		s.mu.Unlock()
		s.inflight.Release(int64(len(s.msgs)))
		return fmt.Errorf("producing: %w", err)
	}
	s.arena = make([]byte, 0, cap(s.arena))
	s.msgs = make([]kafka.Message, 0, cap(s.msgs))
	return s.err()
}

// err reports failed deliveries so far, so a run stops soon after the
// broker starts rejecting messages instead of generating the rest.
func (s *kafkaSink) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed > 0 {
		return fmt.Errorf("producing: %d of %d messages failed: %w", s.failed, s.sent, s.firstErr)
	}
	return nil
}

// close waits for every handed-over message to be acknowledged or failed.
func (s *kafkaSink) close() error {
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("closing kafka writer: %w", err)
	}
	return s.err()
}
