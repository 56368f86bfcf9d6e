// Command probe checks that the local services answer real requests, for
// the scripts that start them: a Kafka metadata request, a ClickHouse query,
// and topic creation for the demo.
//
//	probe kafka ADDR                     metadata request; prints the broker's view
//	probe clickhouse ADDR                SELECT version(); prints the version
//	probe topics ADDR PARTITIONS NAME... creates topics if absent, waits for leaders
//	probe tls-certs DIR                  writes a test CA, server and client certificates (once)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) < 2 {
		return errors.New("usage: probe kafka|clickhouse|topics ADDR [...]")
	}
	switch args[0] {
	case "tls-certs":
		return writeTLSCerts(args[1])
	case "kafka":
		return probeKafka(ctx, args[1])
	case "clickhouse":
		return probeClickHouse(ctx, args[1])
	case "topics":
		if len(args) < 4 {
			return errors.New("usage: probe topics ADDR PARTITIONS NAME...")
		}
		partitions, err := strconv.Atoi(args[2])
		if err != nil || partitions < 1 {
			return fmt.Errorf("partitions %q: want a positive integer", args[2])
		}
		return createTopics(ctx, args[1], partitions, args[3:])
	}
	return fmt.Errorf("unknown probe %q", args[0])
}

func probeKafka(ctx context.Context, addr string) error {
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 5 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return fmt.Errorf("requesting metadata from %s: %w", addr, err)
	}
	versions, err := client.ApiVersions(ctx, &kafka.ApiVersionsRequest{})
	if err != nil {
		return fmt.Errorf("requesting api versions from %s: %w", addr, err)
	}
	fmt.Printf("cluster %s, %d broker(s), controller %d, %d topic(s), %d APIs\n",
		meta.ClusterID, len(meta.Brokers), meta.Controller.ID, len(meta.Topics), len(versions.ApiKeys))
	return nil
}

func probeClickHouse(ctx context.Context, addr string) error {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		DialTimeout: 3 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("opening clickhouse %s: %w", addr, err)
	}
	defer conn.Close()
	var version string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return fmt.Errorf("querying clickhouse %s: %w", addr, err)
	}
	fmt.Println(version)
	return nil
}

func createTopics(ctx context.Context, addr string, partitions int, names []string) error {
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second}
	configs := make([]kafka.TopicConfig, len(names))
	for i, name := range names {
		configs[i] = kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}
	}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: configs})
	if err != nil {
		return fmt.Errorf("creating topics on %s: %w", addr, err)
	}
	for name, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafka.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %w", name, terr)
		}
	}
	// Group readers misbehave on partitions without a leader yet, so wait.
	for {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
		if err == nil && allLed(meta) {
			for _, t := range meta.Topics {
				fmt.Printf("%s: %d partitions\n", t.Name, len(t.Partitions))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for topic leaders on %s: %w", addr, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func allLed(meta *kafka.MetadataResponse) bool {
	for _, t := range meta.Topics {
		if t.Error != nil || len(t.Partitions) == 0 {
			return false
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.ID < 0 || p.Leader.Host == "" {
				return false
			}
		}
	}
	return true
}
