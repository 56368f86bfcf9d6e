package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// consumeOnly is the ceiling for any kafka-go based processor: one
// consumer-group reader over both topics that fetches every message, does
// nothing with it, and commits the last offsets at the end. It returns the
// time from the first message to the commit, and the CPU seconds this
// process and the broker (brokerPID, may be "") spent over it.
func consumeOnly(ctx context.Context, brokers []string, group string, topics []string, total int64, brokerPID string) (d time.Duration, cpu, brokerCPU float64, err error) {
	rd := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, GroupID: group, GroupTopics: topics,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 250 * time.Millisecond, QueueCapacity: 1000,
		StartOffset: kafka.FirstOffset, CommitInterval: 0,
	})
	defer rd.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	last := map[string]map[int]kafka.Message{}
	var start time.Time
	var cpu0, broker0 float64
	for n := int64(0); n < total; n++ {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("consume-only: fetched %d of %d: %w", n, total, err)
		}
		if n == 0 {
			start, cpu0, broker0 = time.Now(), selfCPU(), processCPU(brokerPID)
		}
		byPart := last[m.Topic]
		if byPart == nil {
			byPart = map[int]kafka.Message{}
			last[m.Topic] = byPart
		}
		byPart[m.Partition] = m
	}
	var msgs []kafka.Message
	for _, byPart := range last {
		for _, m := range byPart {
			msgs = append(msgs, m)
		}
	}
	if err := rd.CommitMessages(ctx, msgs...); err != nil && !errors.Is(err, context.Canceled) {
		return 0, 0, 0, fmt.Errorf("consume-only: committing: %w", err)
	}
	return time.Since(start), selfCPU() - cpu0, processCPU(brokerPID) - broker0, nil
}

// selfCPU is this process's user+system CPU seconds. The bench does
// nothing else while the ceiling runs but sample the load average.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
