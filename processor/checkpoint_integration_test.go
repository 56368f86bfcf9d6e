package processor

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/internal/testservices"
)

func testChangelog(t *testing.T) (*changelog, func() *changelog) {
	t.Helper()
	brokers := testservices.Kafka(t)
	topic := testservices.UniqueName(t, "chg")
	kc, err := newKafkaConn(&KafkaConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.transport.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kc.ensureTopics(ctx, TopicSpec{Name: topic, Partitions: 1, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	open := func() *changelog {
		c := newChangelog(kc, topic, "g")
		t.Cleanup(func() { _ = c.close() })
		return c
	}
	return open(), open
}

// testSnapshot has windows named by start, each with state bytes of its
// own size (some over a chunk), and some pending joins.
func testSnapshot(off int64, states map[int64][]byte) *snapshot {
	s := &snapshot{Version: snapshotVersion, PredOffset: off, OutOffset: off / 2, MaxTS: 1000 + off, Watermark: off}
	for start := int64(0); start < 100; start++ {
		if st, ok := states[start]; ok {
			s.Windows = append(s.Windows, snapWindow{Model: "m/odel", Version: "v1", Start: start, BaselineID: "b", State: st})
		}
	}
	s.Preds = []snapPred{{ID: fmt.Sprint("p", off), TS: off, Model: "m/odel", Version: "v1", Pred: Value{Kind: Number, Num: 1}}}
	return s
}

func fill(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

func loadOne(t *testing.T, c *changelog) savedSnapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := c.load(ctx, []int{3})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	s, ok := got[3]
	if !ok {
		t.Fatal("load found no checkpoint for partition 3")
	}
	return s
}

func sameSnapshot(t *testing.T, got savedSnapshot, wantEpoch uint64, want *snapshot) {
	t.Helper()
	if got.snap == nil {
		t.Fatalf("epoch %d: not a format-2 checkpoint", got.epoch)
	}
	if got.epoch != wantEpoch {
		t.Errorf("epoch = %d, want %d", got.epoch, wantEpoch)
	}
	if !reflect.DeepEqual(got.snap, want) {
		t.Errorf("restored snapshot differs from the one saved at epoch %d:\n got %+v\nwant %+v", wantEpoch, brief(got.snap), brief(want))
	}
}

func brief(s *snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "offsets %d/%d preds %d windows:", s.PredOffset, s.OutOffset, len(s.Preds))
	for _, w := range s.Windows {
		fmt.Fprintf(&b, " %d:%d", w.Start, len(w.State))
	}
	return b.String()
}

// TestChangelogIncrementalIntegration: a checkpoint rewrites only the
// windows that changed, a restore (by a new changelog, as after a
// rebalance) returns exactly the last saved snapshot, and windows that
// are gone are deleted from the topic.
func TestChangelogIncrementalIntegration(t *testing.T) {
	c, open := testChangelog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	big := fill(3*chunkSize+17, 'a') // four chunks
	states := map[int64][]byte{1: big, 2: fill(100, 'b'), 3: fill(10, 'c')}
	s1 := testSnapshot(10, states)
	w1, size1, err := c.save(ctx, 3, 1, s1)
	if err != nil {
		t.Fatal(err)
	}
	if w1 != size1 || size1 < len(big)+110 {
		t.Errorf("first save wrote %d of %d bytes; want all of it, at least %d", w1, size1, len(big)+110)
	}
	// Window 3 changes (a new slice), 1 and 2 keep their bytes.
	states[3] = fill(20, 'C')
	s2 := testSnapshot(20, states)
	w2, size2, err := c.save(ctx, 3, 2, s2)
	if err != nil {
		t.Fatal(err)
	}
	if w2 >= 2000 || size2 < len(big) {
		t.Errorf("second save wrote %d bytes of %d; only window 3 and the body changed", w2, size2)
	}
	sameSnapshot(t, loadOne(t, open()), 2, s2)

	// A new owner restores, drops window 2, changes window 1, and saves
	// twice; what it restored is the base of what it writes.
	c2 := open()
	got := loadOne(t, c2)
	states = map[int64][]byte{1: got.snap.Windows[0].State, 3: got.snap.Windows[2].State}
	states[1] = append(fill(2*chunkSize, 'z'), 'y') // three chunks in the other slot
	s3 := testSnapshot(30, states)
	if _, _, err := c2.save(ctx, 3, 3, s3); err != nil {
		t.Fatal(err)
	}
	s4 := testSnapshot(40, states)
	w4, _, err := c2.save(ctx, 3, 4, s4)
	if err != nil {
		t.Fatal(err)
	}
	if w4 >= 2000 {
		t.Errorf("a save with no window changed wrote %d bytes", w4)
	}
	sameSnapshot(t, loadOne(t, open()), 4, s4)

	// A generation without partition 3 forgets its log (and the window
	// states it holds).
	if _, err := c2.load(ctx, []int{5}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c2.parts[3]; ok {
		t.Error("partition 3's log is kept after a generation that does not own it")
	}

	// Window 2's segment was deleted by tombstones.
	latest := readLatest(t, c)
	for k := range latest {
		if strings.Contains(k, "/w/") && strings.Contains(k, "v1/2/") {
			t.Errorf("key %q of dropped window 2 is still in the changelog", k)
		}
	}
}

// TestChangelogCrashBeforeRootIntegration: when a save stops after its
// segments but before its root (a crash), a restore returns the previous
// checkpoint whole, and the next save after the restore is correct.
func TestChangelogCrashBeforeRootIntegration(t *testing.T) {
	c, open := testChangelog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	states := map[int64][]byte{1: fill(chunkSize+5, 'a'), 2: fill(50, 'b')}
	s1 := testSnapshot(10, states)
	if _, _, err := c.save(ctx, 3, 1, s1); err != nil {
		t.Fatal(err)
	}
	states[1], states[2] = fill(chunkSize+9, 'A'), fill(60, 'B')
	states[7] = fill(70, 'n')
	plan, err := c.plan(3, 2, testSnapshot(20, states))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.writer.WriteMessages(ctx, plan.segments...); err != nil {
		t.Fatal(err)
	}
	// Crash: no root, no commit.
	c2 := open()
	got := loadOne(t, c2)
	sameSnapshot(t, got, 1, s1)

	states = map[int64][]byte{1: got.snap.Windows[0].State, 2: fill(61, 'x')}
	s2 := testSnapshot(30, states)
	if _, _, err := c2.save(ctx, 3, 2, s2); err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, loadOne(t, open()), 2, s2)
	// The orphan window 7 written before the crash is deleted by the save
	// after the restore.
	for k := range readLatest(t, c) {
		if strings.Contains(k, "v1/7/") {
			t.Errorf("orphan key %q is still in the changelog", k)
		}
	}
}

// TestChangelogReadsFormat1Integration: a checkpoint written by driftd
// before incremental checkpoints (whole snapshot in chunks, 16-byte root)
// still restores.
func TestChangelogReadsFormat1Integration(t *testing.T) {
	c, open := testChangelog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := testSnapshot(10, map[int64][]byte{1: fill(chunkSize+3, 'a')})
	data, err := s.encode()
	if err != nil {
		t.Fatal(err)
	}
	const epoch = 7
	var msgs []kafka.Message
	for i := 0; i*chunkSize < len(data); i++ {
		chunk := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "g/3/%d/%d", epoch%2, i),
			Value: append(binary.BigEndian.AppendUint64(nil, epoch), chunk...)})
	}
	root := binary.BigEndian.AppendUint64(nil, epoch)
	root = binary.BigEndian.AppendUint32(root, uint32(len(msgs)))
	root = binary.BigEndian.AppendUint32(root, crc32.ChecksumIEEE(data))
	msgs = append(msgs, kafka.Message{Key: []byte("g/3"), Value: root})
	if err := c.writer.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	got := loadOne(t, open())
	if got.epoch != epoch || !bytes.Equal(got.data, data) {
		t.Fatalf("format 1: epoch %d, %d bytes; want epoch %d, %d bytes", got.epoch, len(got.data), epoch, len(data))
	}
}

// readLatest returns the latest value of every key of group "g".
func readLatest(t *testing.T, c *changelog) map[string][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A save after the last one flushes pending tombstones first.
	latest := map[string][]byte{}
	conn, err := kafka.DialLeader(ctx, "tcp", c.kc.brokers[0], c.topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, last, err := conn.ReadOffsets()
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: c.kc.brokers, Topic: c.topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Value == nil {
			delete(latest, string(m.Key))
		} else {
			latest[string(m.Key)] = m.Value
		}
		if m.Offset >= last-1 {
			return latest
		}
	}
}
