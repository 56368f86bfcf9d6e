package processor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// partitionReader reads one partition from its leader with kafka-go's
// Conn and Batch, on the caller's goroutine.
//
// kafka.Reader would do the same work on a goroutine of its own and hand
// every message over a channel, with a lock, a deadline update and stats
// per message: measured on this project's benchmark events (500 bytes),
// 2.3 µs of CPU per message against 1.1 µs read straight from the batch.
// That difference is about a third of driftd's CPU budget per event when
// the broker shares the machine, so the partition worker's fetch loop
// reads batches itself. Nothing is committed here: offsets are committed
// by the worker, through the group generation, once the results are
// durable.
type partitionReader struct {
	dialer    *kafka.Dialer
	brokers   []string
	topic     string
	partition int
	log       zerolog.Logger

	minBytes, maxBytes int
	maxWait            time.Duration
	// readTimeout bounds each network wait inside a fetch response; the
	// deadline is renewed after every hand-off (see renew).
	readTimeout time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration

	next  int64 // offset of the next message to return; kafka.FirstOffset until resolved
	conn  *kafka.Conn
	stop  func() bool // unregisters the context watch on conn
	batch *kafka.Batch
	fails int // consecutive failed fetches, for the backoff
	// whole is set when a value did not fit the buffer readValue was
	// given: the next response is read whole, by ReadMessage.
	whole bool
	// lost, when set, is told of offsets [from, first) that retention
	// deleted before they were read. What that means is the owner's: data
	// lost for the worker's stream reader, only a key for a reader that
	// looks dead letters' keys up again (which leaves it nil).
	lost func(from, first int64)
}

func newPartitionReader(kc *kafkaConn, topic string, partition int, offset int64, log zerolog.Logger) *partitionReader {
	return &partitionReader{dialer: kc.fetchDialer, brokers: kc.brokers, topic: topic, partition: partition,
		log: log.With().Str("topic", topic).Logger(), next: offset,
		minBytes: 1, maxBytes: 16 << 20, maxWait: 250 * time.Millisecond, readTimeout: 30 * time.Second,
		backoffMin: 50 * time.Millisecond, backoffMax: time.Second}
}

// fetch starts the next fetch response, waiting up to maxWait for data.
// Failures (a lost connection, a leader change, an offset out of range)
// are logged and retried with backoff; fetch returns an error only when
// ctx ends. The response may hold no message.
func (r *partitionReader) fetch(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.fails > 0 {
			sleepCtx(ctx, jitter(min(r.backoffMin<<min(r.fails-1, 10), r.backoffMax)))
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r.conn == nil {
			if err := r.connect(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.failed(err, "connecting to the partition leader")
				continue
			}
		}
		// The reader's offset, not the connection's, is the truth: the
		// next message is always r.next, so nothing is read twice.
		r.seek()
		_ = r.conn.SetReadDeadline(time.Now().Add(r.maxWait + r.readTimeout))
		b := r.conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: r.minBytes, MaxBytes: r.maxBytes, MaxWait: r.maxWait})
		if err := b.Err(); err != nil && !errors.Is(err, io.EOF) {
			_ = b.Close()
			if r.recover(ctx, err) {
				continue
			}
			return ctx.Err()
		}
		r.batch = b
		return nil
	}
}

// read returns the next message of the current fetch response; false
// when the response is done (the next fetch continues after it).
func (r *partitionReader) read(ctx context.Context) (kafka.Message, bool) {
	if r.batch == nil {
		return kafka.Message{}, false
	}
	m, err := r.batch.ReadMessage()
	if err == nil {
		r.next = m.Offset + 1
		return m, true
	}
	r.endResponse(ctx)
	return kafka.Message{}, false
}

// endResponse closes the current fetch response after a read failed or
// it ended. Close returns the batch's error, except io.EOF (the response
// ended) and io.ErrShortBuffer: a value too big for readValue's buffer,
// after which the connection is still in step, positioned at that
// message, and the next response is read whole.
func (r *partitionReader) endResponse(ctx context.Context) {
	b := r.batch
	r.batch = nil
	if cerr := b.Close(); cerr != nil {
		if errors.Is(cerr, io.ErrShortBuffer) {
			r.whole, r.fails = true, 0
			return
		}
		r.recover(ctx, cerr)
		return
	}
	// Control records (transaction markers) have offsets but no message,
	// so the batch's own offset is where the next fetch goes.
	if off := b.Offset(); off > r.next {
		r.next = off
	}
	r.fails = 0
}

// readValue is read without the key and without an allocation: the
// message's value is copied into buf (Value = buf[:n]) and its Key is left
// unset. kafka-go's ReadMessage allocates key and value for every message;
// with its garbage that was about 0.4 µs of the 0.8 µs a message cost the
// fetch stage. The key is wanted only for a dead letter, and is read again
// by offset then (keyAt). owned reports a message read whole instead (its
// Key and Value are its own, not in buf): the one after a value that did
// not fit buf, which kafka-go reports by ending the response (the
// connection stays in step, positioned at that message), and the rest of
// the response after it.
func (r *partitionReader) readValue(ctx context.Context, buf []byte) (m fetched, owned, ok bool) {
	if r.batch == nil {
		return fetched{}, false, false
	}
	if r.whole {
		// Whole to the end of the response: the next value-only read
		// would meet the big value again, ahead of the requested offset
		// in its record batch, and cost a fetch per message.
		km, ok := r.read(ctx)
		if !ok {
			r.whole = false
		}
		return fetched{Offset: km.Offset, HighWaterMark: km.HighWaterMark, Key: km.Key, Value: km.Value}, true, ok
	}
	for {
		n, err := r.batch.Read(buf)
		if err != nil {
			break
		}
		// Read, unlike ReadMessage, returns the records of the response's
		// first record batch that precede the requested offset.
		off := r.batch.Offset() - 1
		if off < r.next {
			continue
		}
		r.next = off + 1
		return fetched{Offset: off, HighWaterMark: r.batch.HighWaterMark(), Value: buf[:n:n]}, false, true
	}
	r.endResponse(ctx)
	return fetched{}, false, false
}

// fetched is a message as the pipeline carries it from reader to worker:
// the topic and partition are the reader's. kafka.Message is 152 bytes
// (headers, time, writer data the pipeline never uses) and was copied
// four times on its way, once into every decoded batch slot.
type fetched struct {
	Offset        int64
	HighWaterMark int64
	Key, Value    []byte
}

// keyAt returns the key of the message at offset off, reading from there
// (or on from where the reader is, when off is just ahead); found is false
// when the partition has no message at off any more (retention or
// compaction removed it). It waits, retrying, until ctx ends.
func (r *partitionReader) keyAt(ctx context.Context, off int64) (key []byte, found bool, err error) {
	if off < r.next || off-r.next > keyReadAhead {
		if r.batch != nil {
			_ = r.batch.Close()
			r.batch = nil
		}
		r.next = off
	}
	for {
		if r.batch == nil {
			if err := r.fetch(ctx); err != nil {
				return nil, false, err
			}
		}
		for {
			m, ok := r.read(ctx)
			if !ok {
				break
			}
			switch {
			case m.Offset == off:
				return m.Key, true, nil
			case m.Offset > off:
				return nil, false, nil
			}
		}
		if r.next > off {
			return nil, false, nil
		}
	}
}

// keyReadAhead is how far keyAt reads on instead of fetching at the
// offset: rejects close together share a fetch.
const keyReadAhead = 1000

// renew extends the read deadline: the caller was away (handing off
// decoded messages) and the connection must not time out meanwhile.
func (r *partitionReader) renew() {
	if r.conn != nil {
		_ = r.conn.SetReadDeadline(time.Now().Add(r.readTimeout))
	}
}

// recover decides what a failed fetch or read means; false when ctx
// ended.
func (r *partitionReader) recover(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		r.disconnect()
		return false
	}
	// kafka-go stops reading a fetch response at the broker's error code
	// and leaves the rest of it on the connection: Batch.Close discards
	// only records, and closes the connection only for errors that are not
	// the broker's. The next request there takes those bytes for its own
	// response and fails (io.ErrNoProgress): the offsets after an
	// out-of-range fetch would never be read, and the reader would fetch
	// the same deleted offset again until its context ended. An error
	// from the broker therefore costs the connection. Except
	// RequestTimedOut: kafka-go reports a long poll that ended empty
	// (an idle partition, every maxWait) with it, after reading the whole
	// response; dropping the connection there redialed every idle
	// partition four times a second.
	var brokerErr kafka.Error
	if errors.As(err, &brokerErr) && !errors.Is(err, kafka.RequestTimedOut) {
		r.disconnect()
	}
	switch {
	case errors.Is(err, kafka.OffsetOutOfRange):
		if cerr := r.connect(ctx); cerr != nil {
			r.failed(cerr, "reconnecting after an out-of-range fetch")
			return true
		}
		first, last, oerr := r.conn.ReadOffsets()
		if oerr != nil {
			r.failed(oerr, "reading the partition's offsets after an out-of-range fetch")
			return true
		}
		switch {
		case r.next < first:
			// Retention deleted what was not yet read; there is nothing
			// left to read of it. The same choice as auto.offset.reset
			// = earliest.
			if r.lost != nil {
				r.lost(r.next, first)
			}
			r.next, r.fails = first, 0
			r.seek()
		case r.next < last:
			r.fails = 0 // produced meanwhile: fetch again
		default:
			// Past the end: a topic recreated with the same name, or a
			// broker behind. Wait for data rather than skip.
			r.failed(err, fmt.Sprintf("offset %d is past the partition's end %d", r.next, last))
		}
	case errors.Is(err, kafka.RequestTimedOut):
		r.fails = 0
	default:
		// Leader moved, connection lost, deadline passed: start over on a
		// new connection from the next offset.
		r.failed(err, "fetching")
		r.disconnect()
	}
	return true
}

func (r *partitionReader) failed(err error, what string) {
	r.fails++
	ev := r.log.Warn()
	if r.fails > 5 {
		ev = r.log.Error()
	}
	ev.Err(err).Int64("offset", r.next).Int("attempt", r.fails).Msg(what + "; retrying")
}

// connect dials the partition's leader through the first broker that
// answers, and positions the connection at r.next.
func (r *partitionReader) connect(ctx context.Context) error {
	var errs []error
	for _, b := range r.brokers {
		conn, err := r.dialer.DialLeader(ctx, "tcp", b, r.topic, r.partition)
		if err != nil {
			errs = append(errs, fmt.Errorf("via %s: %w", b, err))
			continue
		}
		r.conn = conn
		// Closing the connection is what unblocks a read when ctx ends.
		r.stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
		if r.next < 0 {
			first, last, err := conn.ReadOffsets()
			if err != nil {
				r.disconnect()
				return fmt.Errorf("reading the first offset of %s/%d: %w", r.topic, r.partition, err)
			}
			if r.next == kafka.LastOffset {
				r.next = last
			} else {
				r.next = first
			}
		}
		r.seek()
		return nil
	}
	return errors.Join(errs...)
}

func (r *partitionReader) seek() {
	if r.conn != nil {
		// Unchecked: an offset out of range comes back from the fetch,
		// where recover handles it.
		_, _ = r.conn.Seek(r.next, kafka.SeekAbsolute|kafka.SeekDontCheck)
	}
}

func (r *partitionReader) disconnect() {
	if r.batch != nil {
		_ = r.batch.Close()
		r.batch = nil
	}
	if r.conn != nil {
		r.stop()
		_ = r.conn.Close()
		r.conn = nil
	}
}

// close releases the connection.
func (r *partitionReader) close() { r.disconnect() }
