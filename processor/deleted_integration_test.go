package processor

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/driftd/driftd/internal/testservices"
)

// kafka-go v0.4 has no DeleteRecords call, but its protocol package
// encodes any message type registered with it. DeleteRecords moves a
// partition's log start offset at once, which is what retention does
// eventually; waiting for retention would make these tests slow and
// timing-dependent. Versions 0 and 1 share one layout and are not
// "flexible" (compact encoding), so no tagged fields are needed.
func init() {
	protocol.Register(&deleteRecordsRequest{}, &deleteRecordsResponse{})
}

type deleteRecordsRequest struct {
	Topics    []deleteRecordsTopic `kafka:"min=v0,max=v1"`
	TimeoutMs int32                `kafka:"min=v0,max=v1"`
}

type deleteRecordsTopic struct {
	Name       string                   `kafka:"min=v0,max=v1"`
	Partitions []deleteRecordsPartition `kafka:"min=v0,max=v1"`
}

type deleteRecordsPartition struct {
	PartitionIndex int32 `kafka:"min=v0,max=v1"`
	// Offset is the new log start offset: every record before it goes.
	Offset int64 `kafka:"min=v0,max=v1"`
}

func (*deleteRecordsRequest) ApiKey() protocol.ApiKey { return protocol.DeleteRecords }

// Broker routes the request to the partition's leader, the only broker
// that accepts it.
func (r *deleteRecordsRequest) Broker(c protocol.Cluster) (protocol.Broker, error) {
	t := r.Topics[0]
	p, ok := c.Topics[t.Name].Partitions[t.Partitions[0].PartitionIndex]
	if !ok {
		return protocol.Broker{}, fmt.Errorf("no leader known for %s/%d", t.Name, t.Partitions[0].PartitionIndex)
	}
	return c.Brokers[p.Leader], nil
}

type deleteRecordsResponse struct {
	ThrottleTimeMs int32                      `kafka:"min=v0,max=v1"`
	Topics         []deleteRecordsTopicResult `kafka:"min=v0,max=v1"`
}

type deleteRecordsTopicResult struct {
	Name       string                         `kafka:"min=v0,max=v1"`
	Partitions []deleteRecordsPartitionResult `kafka:"min=v0,max=v1"`
}

type deleteRecordsPartitionResult struct {
	PartitionIndex int32 `kafka:"min=v0,max=v1"`
	LowWatermark   int64 `kafka:"min=v0,max=v1"`
	ErrorCode      int16 `kafka:"min=v0,max=v1"`
}

func (*deleteRecordsResponse) ApiKey() protocol.ApiKey { return protocol.DeleteRecords }

// deleteRecordsBefore deletes the records of partition 0 before offset
// and checks, with a separate ListOffsets, that the log now starts there:
// a test of deleted offsets proves nothing if the deletion did not happen.
func deleteRecordsBefore(t *testing.T, brokers []string, topic string, offset int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A transport of its own: one made before the topic existed would
	// route by metadata that does not list it.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	res, err := tr.RoundTrip(ctx, kafka.TCP(brokers...), &deleteRecordsRequest{TimeoutMs: 10000,
		Topics: []deleteRecordsTopic{{Name: topic, Partitions: []deleteRecordsPartition{{PartitionIndex: 0, Offset: offset}}}}})
	if err != nil {
		t.Fatalf("deleting the records of %s before offset %d: %v", topic, offset, err)
	}
	rs := res.(*deleteRecordsResponse)
	if len(rs.Topics) != 1 || len(rs.Topics[0].Partitions) != 1 {
		t.Fatalf("DeleteRecords response for one partition has %+v", rs.Topics)
	}
	p := rs.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("deleting the records of %s before offset %d: %v", topic, offset, kafka.Error(p.ErrorCode))
	}
	if p.LowWatermark != offset {
		t.Fatalf("after DeleteRecords the log of %s starts at %d, want %d", topic, p.LowWatermark, offset)
	}
	conn, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, 0)
	if err != nil {
		t.Fatalf("dialing the leader of %s: %v", topic, err)
	}
	defer conn.Close()
	if first, err := conn.ReadFirstOffset(); err != nil || first != offset {
		t.Fatalf("first offset of %s after DeleteRecords: %d, %v; want %d", topic, first, err, offset)
	}
}

// Offsets of the topic made by topicWithDeletedHead.
const (
	keyedMessages = 300
	// keyedBatch records go in each produce request, so the log holds
	// record batches [0,40), [40,80), … and the log start below falls
	// inside one: offset 129 shares its record batch with 130, which
	// is still readable, while the broker must refuse 129.
	keyedBatch      = 40
	deletedBefore   = 130
	lastKeyedOffset = keyedMessages - 1
)

// topicWithDeletedHead makes a one-partition topic whose offset i held
// key "key-i", with every record before deletedBefore deleted.
func topicWithDeletedHead(t *testing.T) (brokers []string, topic string) {
	t.Helper()
	brokers = testservices.Kafka(t)
	topic = testservices.UniqueName(t, "keyat")
	testservices.CreateTopics(t, brokers, 1, topic)
	tr := &kafka.Transport{} // the shared one may not know the new topic yet
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: partitionZero{}, Transport: tr,
		BatchSize: keyedBatch, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for from := 0; from < keyedMessages; from += keyedBatch {
		msgs := make([]kafka.Message, 0, keyedBatch)
		for i := from; i < min(from+keyedBatch, keyedMessages); i++ {
			msgs = append(msgs, kafka.Message{Key: []byte(keyOf(int64(i))), Value: []byte(strconv.Itoa(i))})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatalf("producing offsets %d..: %v", from, err)
		}
	}
	deleteRecordsBefore(t, brokers, topic, deletedBefore)
	return brokers, topic
}

func keyOf(off int64) string { return "key-" + strconv.FormatInt(off, 10) }

// keyAtPromptly calls keyAt and fails the test on an error or a wait: the
// dead-letter path gives keyAt 30 s for all of a flush's keys, so a
// deleted message that is waited for, instead of reported missing, would
// stall the stream that long and lose the keys of the messages after it.
func keyAtPromptly(t *testing.T, r *partitionReader, off int64) (key []byte, found bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	key, found, err := r.keyAt(ctx, off)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("keyAt(%d): error %v after %s, want found or not found", off, err, elapsed.Round(time.Millisecond))
	}
	// A fetch at the log's end waits maxWait (250 ms) for data; the rest
	// is a few round trips to a local broker.
	if elapsed > 5*time.Second {
		t.Errorf("keyAt(%d) took %s", off, elapsed.Round(time.Millisecond))
	}
	return key, found
}

// wantKeys checks keyAt for each offset in turn on one reader: deleted
// offsets are not found, the others have their own key.
func wantKeys(t *testing.T, r *partitionReader, offsets ...int64) {
	t.Helper()
	for _, off := range offsets {
		key, found := keyAtPromptly(t, r, off)
		deleted := off < deletedBefore
		switch {
		case deleted && (found || key != nil):
			t.Errorf("keyAt(%d), deleted: found %v, key %q; want not found", off, found, key)
		case !deleted && (!found || string(key) != keyOf(off)):
			t.Errorf("keyAt(%d): found %v, key %q; want %q", off, found, key, keyOf(off))
		}
	}
}

// TestPartitionReaderKeyAtDeletedIntegration: keyAt reports a message
// deleted from the log (the log start offset moved past it) as not found,
// promptly and without an error, whether the reader is new, ahead of the
// offset or behind it, including an offset in the same record batch as
// the first one left; the keys of the messages left are still found by
// the same reader afterwards. With every record deleted, keyAt still
// answers not found.
func TestPartitionReaderKeyAtDeletedIntegration(t *testing.T) {
	brokers, topic := topicWithDeletedHead(t)

	t.Run("new reader at a deleted offset", func(t *testing.T) {
		// As readDeadLetterKeys makes it: positioned at the offset asked for.
		for _, off := range []int64{0, 57, deletedBefore - 1} {
			r, _ := testReader(t, topic, off)
			wantKeys(t, r, off)
		}
	})
	t.Run("offsets left", func(t *testing.T) {
		r, _ := testReader(t, topic, deletedBefore)
		wantKeys(t, r, deletedBefore, deletedBefore+1, 200, lastKeyedOffset)
	})
	t.Run("in offset order, as dead letters ask", func(t *testing.T) {
		r, _ := testReader(t, topic, 3)
		wantKeys(t, r, 3, 60, deletedBefore-1, deletedBefore, 145, lastKeyedOffset)
	})
	t.Run("reader ahead of the deleted offset", func(t *testing.T) {
		r, _ := testReader(t, topic, 250)
		wantKeys(t, r, 250, 100, deletedBefore-1, 251)
	})
	t.Run("reader behind the deleted offset", func(t *testing.T) {
		// Within keyReadAhead keyAt reads on from the reader's own
		// offset, which is deleted too, instead of fetching at off.
		r, _ := testReader(t, topic, 0)
		if 100-r.next > keyReadAhead {
			t.Fatal("offset 100 is beyond keyReadAhead; the case does not test reading on")
		}
		wantKeys(t, r, 100, 140)
	})
	// Last: it deletes what the subtests above read.
	t.Run("every record deleted", func(t *testing.T) {
		deleteRecordsBefore(t, brokers, topic, keyedMessages)
		r, _ := testReader(t, topic, 200)
		for _, off := range []int64{200, lastKeyedOffset, 5} {
			if key, found := keyAtPromptly(t, r, off); found || key != nil {
				t.Errorf("keyAt(%d) with every record deleted: found %v, key %q", off, found, key)
			}
		}
	})
}

// TestDeadLetterKeysDeletedIntegration: a dead letter whose source
// message was deleted before its key could be read again goes out marked
// driftd.key_unavailable and without a key; the dead letters of the same
// flush whose messages are left get their keys.
func TestDeadLetterKeysDeletedIntegration(t *testing.T) {
	brokers, topic := topicWithDeletedHead(t)
	kc, err := newKafkaConn(&KafkaConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.transport.CloseIdleConnections)
	w := &worker{r: &runner{kc: kc}, partition: 0, log: zerolog.Nop()}

	offsets := []int64{10, deletedBefore - 1, deletedBefore, 200}
	job := &flushJob{}
	for i, off := range offsets {
		job.dlq = append(job.dlq, kafka.Message{Value: []byte(strconv.FormatInt(off, 10)),
			Headers: []kafka.Header{{Key: "driftd.reason", Value: []byte("test")}}})
		job.dlqKeys = append(job.dlqKeys, deadLetterKey{index: i, topic: topic, offset: off})
	}
	start := time.Now()
	w.readDeadLetterKeys(context.Background(), job)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("reading %d dead letters' keys took %s", len(offsets), d.Round(time.Millisecond))
	}
	for i, off := range offsets {
		m := job.dlq[i]
		unavailable := ""
		for _, h := range m.Headers {
			if h.Key == "driftd.key_unavailable" {
				unavailable = string(h.Value)
			}
		}
		if off < deletedBefore {
			if unavailable != "true" || m.Key != nil {
				t.Errorf("dead letter of deleted offset %d: key %q, driftd.key_unavailable %q; want no key, \"true\"", off, m.Key, unavailable)
			}
		} else if unavailable != "" || string(m.Key) != keyOf(off) {
			t.Errorf("dead letter of offset %d: key %q, driftd.key_unavailable %q; want %q, no header", off, m.Key, unavailable, keyOf(off))
		}
	}
}

// TestPartitionReaderDeletedBeforeReadIntegration: a reader whose next
// offset was deleted before it got there (retention overtook it) goes on
// from the first offset left, in order, instead of retrying the deleted
// one.
func TestPartitionReaderDeletedBeforeReadIntegration(t *testing.T) {
	_, topic := topicWithDeletedHead(t)
	r, _ := testReader(t, topic, 7)
	var skipped int64
	r.lost = func(from, first int64) { skipped += first - from }
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	want := int64(deletedBefore)
	for want <= lastKeyedOffset {
		if err := r.fetch(ctx); err != nil {
			t.Fatalf("fetch for offset %d: %v", want, err)
		}
		for {
			m, ok := r.read(ctx)
			if !ok {
				break
			}
			if m.Offset != want || string(m.Key) != keyOf(want) {
				t.Fatalf("read offset %d key %q, want offset %d %q", m.Offset, m.Key, want, keyOf(want))
			}
			want++
		}
	}
	// Offsets 7..129 were never read: the metric must say so, once.
	if skipped != deletedBefore-7 {
		t.Errorf("reported %d offsets skipped by retention, want %d", skipped, deletedBefore-7)
	}
}
