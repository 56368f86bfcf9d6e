// Package testservices finds the real Kafka broker and ClickHouse server that
// integration tests talk to.
//
// Order of preference: addresses from the environment
// (DRIFTD_TEST_KAFKA_BROKERS, DRIFTD_TEST_CLICKHOUSE_ADDR, set by `make test`
// after it starts the local services), else containers started with
// testcontainers-go when a Docker engine answers, else the test is skipped
// with the reason — except under DRIFTD_REQUIRE_SERVICES=1, where a missing
// service fails the test, so CI can never pass by skipping.
package testservices

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Environment variables read by this package.
const (
	EnvKafka     = "DRIFTD_TEST_KAFKA_BROKERS"
	EnvKafkaSASL = "DRIFTD_TEST_KAFKA_SASL_BROKERS"
	EnvKafkaTLS  = "DRIFTD_TEST_KAFKA_TLS_BROKERS"
	// EnvKafkaTLSDir holds ca.pem, client.pem and client-key.pem for
	// the TLS listener.
	EnvKafkaTLSDir = "DRIFTD_TEST_KAFKA_TLS_DIR"
	EnvClickHouse  = "DRIFTD_TEST_CLICKHOUSE_ADDR"
	EnvRequire     = "DRIFTD_REQUIRE_SERVICES"
)

// KafkaSASLPlainUser and KafkaSASLPlainPassword are the PLAIN user that
// the local broker's SASL listener knows (deploy/local/kafka.sh).
const (
	KafkaSASLPlainUser     = "driftd-plain"
	KafkaSASLPlainPassword = "plain-test-secret"
)

// Container images used when no address is given and Docker answers.
const (
	kafkaImage      = "apache/kafka:4.1.1"
	clickhouseImage = "clickhouse/clickhouse-server:25.8"
)

// Kafka returns the brokers of a real Kafka cluster.
func Kafka(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(EnvKafka); env != "" {
		return strings.Split(env, ",")
	}
	addr := containerAddr(t, &kafkaContainer)
	return []string{addr}
}

// KafkaSASL returns the brokers of the listener, on the same cluster as
// Kafka's, that requires SASL (PLAIN with KafkaSASLPlainUser, and
// SCRAM-SHA-256/512 for users created through the open listener). Only
// the local broker of `make services-up` has one: there is no container
// fallback, so without DRIFTD_TEST_KAFKA_SASL_BROKERS the test is skipped
// (failed under DRIFTD_REQUIRE_SERVICES=1).
func KafkaSASL(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(EnvKafkaSASL); env != "" {
		return strings.Split(env, ",")
	}
	missing(t, "no Kafka SASL listener: set %s (make services-up starts one on 127.0.0.1:19094)", EnvKafkaSASL)
	return nil
}

// KafkaTLS returns the brokers of the listener, on the same cluster as
// Kafka's, that requires TLS with a client certificate, and the folder with
// its CA (ca.pem) and a client certificate it accepts (client.pem,
// client-key.pem). Like KafkaSASL, only the local broker has one.
func KafkaTLS(t testing.TB) (brokers []string, certDir string) {
	t.Helper()
	env, dir := os.Getenv(EnvKafkaTLS), os.Getenv(EnvKafkaTLSDir)
	if env == "" || dir == "" {
		missing(t, "no Kafka TLS listener: set %s and %s (make services-up starts one on 127.0.0.1:19095, certificates in .local/kafka/tls)",
			EnvKafkaTLS, EnvKafkaTLSDir)
		return nil, ""
	}
	return strings.Split(env, ","), dir
}

// ClickHouse returns the native-protocol address of a real ClickHouse server.
func ClickHouse(t testing.TB) string {
	t.Helper()
	if env := os.Getenv(EnvClickHouse); env != "" {
		return env
	}
	return containerAddr(t, &clickhouseContainer)
}

// missing skips the test, or fails it when services are required.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s (and %s=1 forbids skipping)", msg, EnvRequire)
		return
	}
	t.Skip(msg)
}

// UniqueName returns prefix joined with the test's name and a random suffix,
// restricted to characters valid in Kafka topic and ClickHouse database
// names, so parallel and repeated runs never share state.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("reading random bytes: %v", err)
	}
	name := strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	return prefix + "_" + name + "_" + hex.EncodeToString(b[:])
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_]`)

// CreateTopics creates the topics with the given partition count and waits
// until every partition has a leader (kafka-go group readers misbehave on
// leaderless partitions). Topics are deleted when the test ends.
func CreateTopics(t testing.TB, brokers []string, partitions int, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// An own transport, closed when the test ends, so goleak in a package's
	// TestMain does not see kafka-go's shared default transport.
	transport := &kafka.Transport{}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}
	configs := make([]kafka.TopicConfig, len(topics))
	for i, name := range topics {
		configs[i] = kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}
	}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: configs})
	if err != nil {
		t.Fatalf("creating topics %v: %v", topics, err)
	}
	for name, terr := range resp.Errors {
		if terr != nil {
			t.Fatalf("creating topic %s: %v", name, terr)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
		transport.CloseIdleConnections()
	})
	for {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err == nil && allLed(meta, partitions) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for leaders of %v: %v (last metadata error: %v)", topics, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func allLed(meta *kafka.MetadataResponse, partitions int) bool {
	for _, topic := range meta.Topics {
		if topic.Error != nil || len(topic.Partitions) != partitions {
			return false
		}
		for _, p := range topic.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return false
			}
		}
	}
	return true
}

// Database creates a fresh ClickHouse database for the test, dropped when
// the test ends, and returns its name.
func Database(t testing.TB, addr string) string {
	t.Helper()
	name := UniqueName(t, "t")
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("opening clickhouse %s: %v", addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
		_ = conn.Close()
	})
	return name
}

// A lazily started container shared by every test of the process.
type sharedContainer struct {
	once sync.Once
	addr string
	err  error
	// start runs once; it returns the reachable address.
	start func(ctx context.Context) (string, error)
	name  string
}

var kafkaContainer = sharedContainer{name: "kafka", start: startKafka}
var clickhouseContainer = sharedContainer{name: "clickhouse", start: startClickHouse}

func containerAddr(t testing.TB, c *sharedContainer) string {
	t.Helper()
	c.once.Do(func() {
		if !dockerAnswers() {
			c.err = errNoDocker
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		c.addr, c.err = c.start(ctx)
	})
	if c.err == errNoDocker {
		missing(t, "no %s: set %s or %s, or run a Docker engine for testcontainers",
			c.name, EnvKafka, EnvClickHouse)
	}
	if c.err != nil {
		missing(t, "starting %s container: %v", c.name, c.err)
	}
	return c.addr
}

var errNoDocker = fmt.Errorf("no docker engine")

func dockerAnswers() bool {
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return false
	}
	defer provider.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return provider.Health(ctx) == nil
}

func startKafka(ctx context.Context) (string, error) {
	// Kafka must advertise the address clients dial, so the host port is
	// chosen up front and bound explicitly rather than randomly mapped.
	port, err := freePort()
	if err != nil {
		return "", err
	}
	req := testcontainers.GenericContainerRequest{
		Started: true,
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        kafkaImage,
			ExposedPorts: []string{fmt.Sprintf("%d:%d/tcp", port, port)},
			Env: map[string]string{
				"KAFKA_NODE_ID":                                  "1",
				"KAFKA_PROCESS_ROLES":                            "broker,controller",
				"KAFKA_LISTENERS":                                fmt.Sprintf("PLAINTEXT://:%d,CONTROLLER://:9093", port),
				"KAFKA_ADVERTISED_LISTENERS":                     fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", port),
				"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
				"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
				"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@localhost:9093",
				"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
				"KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS":             "1",
				"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
				"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
				"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
				"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                "false",
			},
			WaitingFor: wait.ForLog("Kafka Server started").WithStartupTimeout(2 * time.Minute),
		},
	}
	if _, err := testcontainers.GenericContainer(ctx, req); err != nil {
		return "", fmt.Errorf("starting %s: %w", kafkaImage, err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}

func startClickHouse(ctx context.Context) (string, error) {
	req := testcontainers.GenericContainerRequest{
		Started: true,
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        clickhouseImage,
			ExposedPorts: []string{"9000/tcp"},
			Env:          map[string]string{"CLICKHOUSE_SKIP_USER_SETUP": "1"},
			WaitingFor:   wait.ForListeningPort("9000/tcp").WithStartupTimeout(2 * time.Minute),
		},
	}
	c, err := testcontainers.GenericContainer(ctx, req)
	if err != nil {
		return "", fmt.Errorf("starting %s: %w", clickhouseImage, err)
	}
	endpoint, err := c.PortEndpoint(ctx, "9000/tcp", "")
	if err != nil {
		return "", fmt.Errorf("finding clickhouse port: %w", err)
	}
	return endpoint, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
