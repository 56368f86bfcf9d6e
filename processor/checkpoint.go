package processor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// changelog checkpoints partition state to a compacted, single-partition
// Kafka topic, so state moves with a partition when the group rebalances.
//
// Layout: a snapshot is split into chunks written under
// "<group>/<partition>/<slot>/<i>" and then a manifest under
// "<group>/<partition>". Slots alternate between two key sets, so a crash
// between the chunks and the manifest leaves the previous manifest's
// chunks intact; compaction keeps exactly the latest of each key.
type changelog struct {
	kc     *kafkaConn
	topic  string
	group  string
	writer *kafka.Writer
}

const chunkSize = 256 << 10

func newChangelog(kc *kafkaConn, topic, group string) *changelog {
	return &changelog{kc: kc, topic: topic, group: group, writer: &kafka.Writer{
		Addr: kafka.TCP(kc.brokers...), Topic: topic, Transport: kc.transport,
		Balancer: partitionZero{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond,
		// One produce request must stay under the broker's message.max.bytes
		// (1 MiB by default): at most three chunks per request.
		BatchBytes: 900 << 10,
	}}
}

type partitionZero struct{}

func (partitionZero) Balance(kafka.Message, ...int) int { return 0 }

func (c *changelog) close() error { return c.writer.Close() }

func (c *changelog) manifestKey(p int) string { return c.group + "/" + strconv.Itoa(p) }

// save writes data as epoch's snapshot of partition p; it returns once the
// broker acknowledged every record.
func (c *changelog) save(ctx context.Context, p int, epoch uint64, data []byte) error {
	slot := epoch % 2
	var msgs []kafka.Message
	for i := 0; i == 0 || i*chunkSize < len(data); i++ {
		chunk := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(chunk)), epoch)
		msgs = append(msgs, kafka.Message{
			Key:   fmt.Appendf(nil, "%s/%d/%d", c.manifestKey(p), slot, i),
			Value: append(v, chunk...),
		})
	}
	if err := c.writer.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("writing checkpoint chunks: %w", err)
	}
	m := binary.BigEndian.AppendUint64(nil, epoch)
	m = binary.BigEndian.AppendUint32(m, uint32(len(msgs)))
	m = binary.BigEndian.AppendUint32(m, crc32.ChecksumIEEE(data))
	if err := c.writer.WriteMessages(ctx, kafka.Message{Key: []byte(c.manifestKey(p)), Value: m}); err != nil {
		return fmt.Errorf("writing checkpoint manifest: %w", err)
	}
	return nil
}

type savedSnapshot struct {
	epoch uint64
	data  []byte
}

// load reads the changelog to its end and returns the latest complete
// snapshot of each of partitions.
func (c *changelog) load(ctx context.Context, partitions []int) (map[int]savedSnapshot, error) {
	res, err := c.kc.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		c.topic: {kafka.FirstOffsetOf(0), kafka.LastOffsetOf(0)}}})
	if err != nil {
		return nil, fmt.Errorf("listing changelog offsets: %w", err)
	}
	var first, last int64
	for _, po := range res.Topics[c.topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("listing changelog offsets: %w", po.Error)
		}
		first, last = po.FirstOffset, po.LastOffset
	}
	latest := map[string][]byte{}
	if last > first {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: c.kc.brokers, Dialer: c.kc.dialer, Topic: c.topic,
			Partition: 0, MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 200 * time.Millisecond})
		defer r.Close()
		if err := r.SetOffset(first); err != nil {
			return nil, fmt.Errorf("seeking changelog: %w", err)
		}
		prefix := c.group + "/"
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				return nil, fmt.Errorf("reading changelog: %w", err)
			}
			if k := string(m.Key); strings.HasPrefix(k, prefix) {
				latest[k] = m.Value
			}
			if m.Offset >= last-1 {
				break
			}
		}
	}
	out := map[int]savedSnapshot{}
	for _, p := range partitions {
		s, ok, err := assemble(latest, c.manifestKey(p))
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, err)
		}
		if ok {
			out[p] = s
		}
	}
	return out, nil
}

var errCorruptCheckpoint = errors.New("corrupt checkpoint")

func assemble(latest map[string][]byte, key string) (savedSnapshot, bool, error) {
	m, ok := latest[key]
	if !ok {
		return savedSnapshot{}, false, nil
	}
	if len(m) != 16 {
		return savedSnapshot{}, false, fmt.Errorf("%w: manifest %q is %d bytes", errCorruptCheckpoint, key, len(m))
	}
	epoch := binary.BigEndian.Uint64(m)
	n := int(binary.BigEndian.Uint32(m[8:]))
	sum := binary.BigEndian.Uint32(m[12:])
	var data []byte
	for i := range n {
		v := latest[fmt.Sprintf("%s/%d/%d", key, epoch%2, i)]
		if len(v) < 8 || binary.BigEndian.Uint64(v) != epoch {
			return savedSnapshot{}, false, fmt.Errorf("%w: %s chunk %d of epoch %d missing", errCorruptCheckpoint, key, i, epoch)
		}
		data = append(data, v[8:]...)
	}
	if crc32.ChecksumIEEE(data) != sum {
		return savedSnapshot{}, false, fmt.Errorf("%w: %s epoch %d checksum mismatch", errCorruptCheckpoint, key, epoch)
	}
	return savedSnapshot{epoch: epoch, data: data}, true, nil
}
