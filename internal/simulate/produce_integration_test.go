package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/testservices"
	"github.com/segmentio/kafka-go"
)

// TestProduceIntegration produces a small scenario to the real broker and
// reads back exactly the events the file mode writes for the same seed:
// the same count, the same bytes, keyed by model, each model on the same
// partition in both topics, in generation order within a partition.
func TestProduceIntegration(t *testing.T) {
	brokers := testservices.Kafka(t)
	topics := Topics{
		Predictions: testservices.UniqueName(t, "predictions"),
		Outcomes:    testservices.UniqueName(t, "outcomes"),
	}
	const partitions = 3
	testservices.CreateTopics(t, brokers, partitions, topics.Predictions, topics.Outcomes)

	sc := demoScenario(t, 5)
	sc.Duration = 2 * time.Minute // 600 rows per model: 1,800 predictions, 1,800 outcomes
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	var wantPreds, wantOuts bytes.Buffer
	if _, err := WriteFiles(context.Background(), NewGenerator(sc, 4), &wantPreds, &wantOuts, 0); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Produce(ctx, brokers, topics, NewGenerator(sc, 4), 0)
	if err != nil {
		t.Fatalf("producing: %v (stats %+v)", err, st)
	}
	if st.Predictions != 1800 || st.Outcomes != 1800 {
		t.Fatalf("stats %+v, want 1800 predictions and 1800 outcomes", st)
	}

	gotPreds, predParts := readTopic(ctx, t, brokers, topics.Predictions, partitions)
	gotOuts, outParts := readTopic(ctx, t, brokers, topics.Outcomes, partitions)
	compareByModel(t, "predictions", wantPreds.Bytes(), gotPreds)
	compareByModel(t, "outcomes", wantOuts.Bytes(), gotOuts)
	for model, p := range predParts {
		if outParts[model] != p {
			t.Errorf("model %s: predictions on partition %d, outcomes on %d", model, p, outParts[model])
		}
	}
}

// readTopic reads every message of the topic and returns, per model key,
// the values in partition order, and each model's partition.
func readTopic(ctx context.Context, t *testing.T, brokers []string, topic string, partitions int) (map[string][]string, map[string]int) {
	t.Helper()
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: transport}
	reqs := make([]kafka.OffsetRequest, partitions)
	for p := range partitions {
		reqs[p] = kafka.LastOffsetOf(p)
	}
	offsets, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("listing offsets of %s: %v", topic, err)
	}
	values, parts := map[string][]string{}, map[string]int{}
	for _, po := range offsets.Topics[topic] {
		if po.Error != nil {
			t.Fatalf("offsets of %s/%d: %v", topic, po.Partition, po.Error)
		}
		if po.LastOffset == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: po.Partition, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("reading %s/%d: %v", topic, po.Partition, err)
			}
			key := string(m.Key)
			if p, seen := parts[key]; seen && p != po.Partition {
				t.Fatalf("%s: model %s on partitions %d and %d", topic, key, p, po.Partition)
			}
			parts[key] = po.Partition
			values[key] = append(values[key], string(m.Value))
			if m.Offset == po.LastOffset-1 {
				break
			}
		}
		if err := r.Close(); err != nil {
			t.Fatalf("closing reader: %v", err)
		}
	}
	return values, parts
}

// compareByModel checks that got holds exactly the JSON lines of want,
// grouped by their model and in the same order.
func compareByModel(t *testing.T, what string, want []byte, got map[string][]string) {
	t.Helper()
	wantBy := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(want), "\n"), "\n") {
		var ev struct{ Model string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		wantBy[ev.Model] = append(wantBy[ev.Model], line)
	}
	if !slices.Equal(keys(wantBy), keys(got)) {
		t.Fatalf("%s: models %v, want %v", what, keys(got), keys(wantBy))
	}
	for model, lines := range wantBy {
		if len(got[model]) != len(lines) {
			t.Errorf("%s of %s: read %d, want %d", what, model, len(got[model]), len(lines))
			continue
		}
		if !slices.Equal(got[model], lines) {
			t.Errorf("%s of %s: the messages differ from the file mode's", what, model)
		}
	}
}

func TestProduceRejectsMissingOrUncopartitionedTopicsIntegration(t *testing.T) {
	brokers := testservices.Kafka(t)
	a, b := testservices.UniqueName(t, "a"), testservices.UniqueName(t, "b")
	testservices.CreateTopics(t, brokers, 2, a)
	testservices.CreateTopics(t, brokers, 3, b)
	sc := demoScenario(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tt := range []struct {
		topics Topics
		want   string
	}{
		{Topics{a, b}, "are not co-partitioned"},
		{Topics{a, a + "_absent"}, a + "_absent"},
	} {
		st, err := Produce(ctx, brokers, tt.topics, NewGenerator(sc, 1), 0)
		if err == nil || !strings.Contains(err.Error(), tt.want) || st.Predictions != 0 {
			t.Errorf("topics %+v: err %v, stats %+v; want an error containing %q before producing", tt.topics, err, st, tt.want)
		}
	}
}
