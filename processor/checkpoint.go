package processor

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/segmentio/kafka-go"
)

// changelog checkpoints partition state to a compacted, single-partition
// Kafka topic, so state moves with a partition when the group rebalances.
//
// A partition's checkpoint is written incrementally, because most of it
// does not change between two flushes: the windows behind the open one
// keep their bytes until a late label arrives, and together they are
// most of the state (MBs per model). Layout (format 2):
//
//   - one segment per window, under "<group>/<p>/w/<window>/<slot>/<i>",
//     rewritten only when the window's encoded state changed;
//   - the body (the rest of the snapshot, plus a reference to each
//     window's segment: key, epoch written, size, CRC-32) under
//     "<group>/<p>/<slot>/<i>", rewritten on every save;
//   - the root under "<group>/<p>": epoch and a reference to the body,
//     written last.
//
// Segments are split into chunks of at most chunkSize, each prefixed with
// the epoch it was written in. Each segment alternates between two slots,
// so the copy the durable root refers to is never overwritten before a
// newer root refers to the other: a crash anywhere leaves the previous
// checkpoint whole. Compaction keeps the latest record of each key;
// segments no longer referred to are deleted with tombstones. Format 1
// (the whole snapshot in chunks, a 16-byte root) is still read.
type changelog struct {
	kc     *kafkaConn
	topic  string
	group  string
	writer *kafka.Writer

	mu    sync.Mutex
	parts map[int]*partLog // by partition: what the durable checkpoint holds
}

// partLog is what the last durable checkpoint of a partition refers to.
// One flush at a time uses it (a partition's flushes are sequential).
type partLog struct {
	windows map[string]*savedWindow // by window segment id
	garbage []string                // keys to delete with the next save
}

// savedWindow is a window segment the durable root refers to.
type savedWindow struct {
	ref  segRef
	data []byte    // the encoded state written, compared by identity
	seen [2]uint32 // chunks known to exist in each slot
}

// segRef locates one segment and proves its content.
type segRef struct {
	key    string // chunk keys are key + "/<i>"
	epoch  uint64 // every chunk of the segment carries it
	chunks uint32
	size   uint32
	sum    uint32 // CRC-32 (IEEE) of the segment's bytes
}

const chunkSize = 256 << 10

// rootMagic starts a format-2 root; a format-1 root is 16 bytes of epoch,
// chunk count and CRC.
var rootMagic = []byte("DDC2")

func newChangelog(kc *kafkaConn, topic, group string) *changelog {
	return &changelog{kc: kc, topic: topic, group: group, parts: map[int]*partLog{}, writer: &kafka.Writer{
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

func (c *changelog) part(p int) *partLog {
	c.mu.Lock()
	defer c.mu.Unlock()
	pl := c.parts[p]
	if pl == nil {
		pl = &partLog{windows: map[string]*savedWindow{}}
		c.parts[p] = pl
	}
	return pl
}

// windowSegment is the id of a window's segment; lengths make it
// unambiguous whatever the names hold.
func (c *changelog) windowSegment(p int, w *snapWindow) string {
	return fmt.Sprintf("%s/w/%d:%s/%d:%s/%d", c.manifestKey(p), len(w.Model), w.Model, len(w.Version), w.Version, w.Start)
}

// savePlan is one save: the segments to write, then the root, then what
// the partition's log becomes once the root is durable.
type savePlan struct {
	segments []kafka.Message // window segments, body, tombstones
	root     kafka.Message
	written  int // bytes of state written
	size     int // bytes of state the checkpoint holds
	commit   func()
}

// save writes epoch's snapshot of partition p; it returns once the
// broker acknowledged every record, with the bytes of state written and
// the bytes the checkpoint holds.
func (c *changelog) save(ctx context.Context, p int, epoch uint64, s *snapshot) (written, size int, err error) {
	plan, err := c.plan(p, epoch, s)
	if err != nil {
		return 0, 0, err
	}
	if err := c.writer.WriteMessages(ctx, plan.segments...); err != nil {
		return 0, 0, fmt.Errorf("writing checkpoint segments: %w", err)
	}
	if err := c.writer.WriteMessages(ctx, plan.root); err != nil {
		return 0, 0, fmt.Errorf("writing checkpoint root: %w", err)
	}
	plan.commit()
	return plan.written, plan.size, nil
}

func (c *changelog) plan(p int, epoch uint64, s *snapshot) (*savePlan, error) {
	pl := c.part(p)
	plan := &savePlan{}
	for _, k := range pl.garbage {
		plan.segments = append(plan.segments, kafka.Message{Key: []byte(k)})
	}
	next := make(map[string]*savedWindow, len(s.Windows))
	refs := make([]segRef, len(s.Windows))
	var stale []string
	for i := range s.Windows {
		w := &s.Windows[i]
		id := c.windowSegment(p, w)
		plan.size += len(w.State)
		prev := pl.windows[id]
		if prev != nil && sameBytes(prev.data, w.State) {
			refs[i], next[id] = prev.ref, prev
			continue
		}
		sw := &savedWindow{data: w.State}
		slot := 0
		if prev != nil {
			sw.seen = prev.seen
			slot = 1 - slotOf(prev.ref.key)
		}
		ref, msgs := segment(fmt.Sprintf("%s/%d", id, slot), epoch, w.State)
		for i := ref.chunks; i < sw.seen[slot]; i++ {
			stale = append(stale, fmt.Sprintf("%s/%d", ref.key, i))
		}
		sw.ref, sw.seen[slot] = ref, ref.chunks
		plan.segments = append(plan.segments, msgs...)
		plan.written += len(w.State)
		refs[i], next[id] = ref, sw
	}
	body, err := encodeBody(s, refs)
	if err != nil {
		return nil, err
	}
	bref, msgs := segment(fmt.Sprintf("%s/%d", c.manifestKey(p), epoch%2), epoch, body)
	plan.segments = append(plan.segments, msgs...)
	plan.written += len(body)
	plan.size += len(body)
	root := append(append([]byte(nil), rootMagic...), encodeRef(nil, bref)...)
	plan.root = kafka.Message{Key: []byte(c.manifestKey(p)), Value: root}
	plan.commit = func() {
		pl.garbage = stale
		for id, sw := range pl.windows {
			if _, ok := next[id]; !ok {
				for slot := range sw.seen {
					for i := range sw.seen[slot] {
						pl.garbage = append(pl.garbage, fmt.Sprintf("%s/%d/%d", id, slot, i))
					}
				}
			}
		}
		pl.windows = next
	}
	return plan, nil
}

func slotOf(segKey string) int {
	if strings.HasSuffix(segKey, "/1") {
		return 1
	}
	return 0
}

// sameBytes reports whether a and b are the same slice: the engine keeps
// a window's encoded state until the window changes, and then encodes it
// into a new slice.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

// segment splits data into chunk records under key and returns its
// reference.
func segment(key string, epoch uint64, data []byte) (segRef, []kafka.Message) {
	ref := segRef{key: key, epoch: epoch, size: uint32(len(data)), sum: crc32.ChecksumIEEE(data)}
	var msgs []kafka.Message
	for i := 0; i == 0 || i*chunkSize < len(data); i++ {
		chunk := data[i*chunkSize : min(len(data), (i+1)*chunkSize)]
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(chunk)), epoch)
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "%s/%d", key, i), Value: append(v, chunk...)})
	}
	ref.chunks = uint32(len(msgs))
	return ref, msgs
}

func encodeRef(b []byte, r segRef) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.key)))
	b = append(b, r.key...)
	b = binary.BigEndian.AppendUint64(b, r.epoch)
	b = binary.BigEndian.AppendUint32(b, r.chunks)
	b = binary.BigEndian.AppendUint32(b, r.size)
	return binary.BigEndian.AppendUint32(b, r.sum)
}

func decodeRef(b []byte) (segRef, []byte, bool) {
	if len(b) < 2 {
		return segRef{}, nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n+20 {
		return segRef{}, nil, false
	}
	r := segRef{key: string(b[2 : 2+n])}
	b = b[2+n:]
	r.epoch = binary.BigEndian.Uint64(b)
	r.chunks = binary.BigEndian.Uint32(b[8:])
	r.size = binary.BigEndian.Uint32(b[12:])
	r.sum = binary.BigEndian.Uint32(b[16:])
	return r, b[20:], true
}

// encodeBody is the window references followed by the snapshot without
// the windows' states.
func encodeBody(s *snapshot, refs []segRef) ([]byte, error) {
	core := *s
	core.Windows = make([]snapWindow, len(s.Windows))
	copy(core.Windows, s.Windows)
	for i := range core.Windows {
		core.Windows[i].State = nil
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(refs)))
	for _, r := range refs {
		b = encodeRef(b, r)
	}
	return core.appendEncoded(b)
}

// readSegment reassembles and verifies a segment from the latest records.
func readSegment(latest map[string][]byte, r segRef) ([]byte, error) {
	data := make([]byte, 0, r.size)
	for i := range r.chunks {
		v := latest[fmt.Sprintf("%s/%d", r.key, i)]
		if len(v) < 8 || binary.BigEndian.Uint64(v) != r.epoch {
			return nil, fmt.Errorf("%w: %s chunk %d of epoch %d missing", errCorruptCheckpoint, r.key, i, r.epoch)
		}
		data = append(data, v[8:]...)
	}
	if uint32(len(data)) != r.size || crc32.ChecksumIEEE(data) != r.sum {
		return nil, fmt.Errorf("%w: %s of epoch %d: size or checksum mismatch", errCorruptCheckpoint, r.key, r.epoch)
	}
	return data, nil
}

// savedSnapshot is a restored checkpoint: format 2 arrives decoded in
// snap, format 1 as the encoded snapshot in data.
type savedSnapshot struct {
	epoch uint64
	snap  *snapshot
	data  []byte
}

// load reads the changelog to its end and returns the latest complete
// snapshot of each of partitions.
func (c *changelog) load(ctx context.Context, partitions []int) (map[int]savedSnapshot, error) {
	// A new generation: forget the partitions this instance no longer
	// owns, or their logs would keep old window states alive.
	c.mu.Lock()
	for p := range c.parts {
		if !slices.Contains(partitions, p) {
			delete(c.parts, p)
		}
	}
	c.mu.Unlock()
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
				if m.Value == nil {
					delete(latest, k) // a tombstone
				} else {
					latest[k] = m.Value
				}
			}
			if m.Offset >= last-1 {
				break
			}
		}
	}
	out := map[int]savedSnapshot{}
	for _, p := range partitions {
		s, ok, err := c.assemble(latest, p)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, err)
		}
		if ok {
			out[p] = s
		}
	}
	return out, nil
}

// assemble returns partition p's latest complete checkpoint, and resets
// the partition's log to it: segments it does not refer to are deleted by
// the next save.
func (c *changelog) assemble(latest map[string][]byte, p int) (savedSnapshot, bool, error) {
	key := c.manifestKey(p)
	pl := &partLog{windows: map[string]*savedWindow{}}
	c.mu.Lock()
	c.parts[p] = pl
	c.mu.Unlock()
	root, ok := latest[key]
	if !ok {
		return savedSnapshot{}, false, nil
	}
	if !bytes.HasPrefix(root, rootMagic) {
		return assembleV1(latest, key)
	}
	bref, rest, ok := decodeRef(root[len(rootMagic):])
	if !ok || len(rest) != 0 {
		return savedSnapshot{}, false, fmt.Errorf("%w: root %q is malformed", errCorruptCheckpoint, key)
	}
	body, err := readSegment(latest, bref)
	if err != nil {
		return savedSnapshot{}, false, err
	}
	if len(body) < 4 {
		return savedSnapshot{}, false, fmt.Errorf("%w: body of %q is %d bytes", errCorruptCheckpoint, key, len(body))
	}
	refs := make([]segRef, binary.BigEndian.Uint32(body))
	rest = body[4:]
	for i := range refs {
		if refs[i], rest, ok = decodeRef(rest); !ok {
			return savedSnapshot{}, false, fmt.Errorf("%w: body of %q: window reference %d is malformed", errCorruptCheckpoint, key, i)
		}
	}
	s, err := decodeSnapshot(rest)
	if err != nil {
		return savedSnapshot{}, false, fmt.Errorf("%w: %v", errCorruptCheckpoint, err)
	}
	if len(s.Windows) != len(refs) {
		return savedSnapshot{}, false, fmt.Errorf("%w: %q holds %d windows and %d references", errCorruptCheckpoint, key, len(s.Windows), len(refs))
	}
	live := map[string]bool{}
	for i := range s.Windows {
		w := &s.Windows[i]
		if w.State, err = readSegment(latest, refs[i]); err != nil {
			return savedSnapshot{}, false, err
		}
		sw := &savedWindow{ref: refs[i], data: w.State}
		sw.seen[slotOf(refs[i].key)] = refs[i].chunks
		pl.windows[c.windowSegment(p, w)] = sw
		for j := range refs[i].chunks {
			live[fmt.Sprintf("%s/%d", refs[i].key, j)] = true
		}
	}
	prefix := key + "/w/"
	for k := range latest {
		if strings.HasPrefix(k, prefix) && !live[k] {
			pl.garbage = append(pl.garbage, k)
		}
	}
	return savedSnapshot{epoch: bref.epoch, snap: s}, true, nil
}

var errCorruptCheckpoint = errors.New("corrupt checkpoint")

// assembleV1 reads a format-1 checkpoint (driftd before incremental
// checkpoints), so an upgrade resumes where the old version stopped.
func assembleV1(latest map[string][]byte, key string) (savedSnapshot, bool, error) {
	m := latest[key]
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
