package processor

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/internal/testservices"
)

// produceNumbered writes values "0".."n-1" (offset i holds strconv.Itoa(i)
// on a fresh topic) to partition 0, in a few produce calls so the log holds
// several record batches.
func produceNumbered(t *testing.T, brokers []string, topic string, from, n int) {
	t.Helper()
	// An own transport: the shared default one caches metadata and may
	// not know a topic created a moment ago ("Unknown Topic Or Partition"
	// at once, without a retry).
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: partitionZero{}, Transport: tr,
		BatchSize: 500, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	msgs := make([]kafka.Message, 0, n)
	for i := from; i < from+n; i++ {
		msgs = append(msgs, kafka.Message{Key: []byte("k"), Value: []byte(strconv.Itoa(i))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing %d messages: %v", n, err)
	}
}

// readN reads n messages with r and checks they are exactly the offsets
// from..from+n-1 in order, each holding its own number. between runs
// after every read message (tests break the connection there).
func readN(t *testing.T, ctx context.Context, r *partitionReader, from, n int, between func(i int)) {
	t.Helper()
	want := from
	for want < from+n {
		if err := r.fetch(ctx); err != nil {
			t.Fatalf("fetch at offset %d: %v", want, err)
		}
		for {
			m, ok := r.read(ctx)
			if !ok {
				break
			}
			if m.Offset != int64(want) || string(m.Value) != strconv.Itoa(want) {
				t.Fatalf("read offset %d value %q, want offset %d (lost or repeated messages)", m.Offset, m.Value, want)
			}
			if m.Topic != r.topic || m.Partition != 0 || m.HighWaterMark <= m.Offset {
				t.Fatalf("message metadata: topic %q partition %d high-water mark %d at offset %d", m.Topic, m.Partition, m.HighWaterMark, m.Offset)
			}
			want++
			if between != nil {
				between(want)
			}
			if want == from+n {
				return
			}
		}
	}
}

// connectionBreaker returns a hook that closes the reader's connection
// after every n-th message, as if the broker or the network dropped it;
// the test fails if fewer than 5 breaks happened, since then it did not
// test.
func connectionBreaker(t *testing.T, n int) func(r *partitionReader, i int) {
	breaks := 0
	t.Cleanup(func() {
		if breaks < 5 && !t.Failed() {
			t.Errorf("only %d connection breaks happened; the test did not test", breaks)
		}
	})
	return func(r *partitionReader, i int) {
		if i%n == 0 && r.conn != nil {
			_ = r.conn.Close()
			breaks++
		}
	}
}

func testReader(t *testing.T, topic string, offset int64) (*partitionReader, []string) {
	brokers := testservices.Kafka(t)
	kc, err := newKafkaConn(&KafkaConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.transport.CloseIdleConnections)
	r := newPartitionReader(kc, topic, 0, offset, zerolog.Nop())
	r.maxBytes = 64 << 10 // several fetch responses even for a small topic
	t.Cleanup(r.close)
	return r, brokers
}

// TestPartitionReaderIntegration: the reader returns every message exactly
// once and in order, from the first offset or from one in the middle, and
// resumes without loss or repeat after its connection breaks mid-response.
func TestPartitionReaderIntegration(t *testing.T) {
	brokers := testservices.Kafka(t)
	topic := testservices.UniqueName(t, "fetch")
	testservices.CreateTopics(t, brokers, 1, topic)
	const n = 20000
	produceNumbered(t, brokers, topic, 0, n)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("from the first offset", func(t *testing.T) {
		r, _ := testReader(t, topic, kafka.FirstOffset)
		readN(t, ctx, r, 0, n, nil)
	})
	t.Run("from an offset", func(t *testing.T) {
		r, _ := testReader(t, topic, 12345)
		readN(t, ctx, r, 12345, n-12345, nil)
	})
	t.Run("broken connections", func(t *testing.T) {
		r, _ := testReader(t, topic, kafka.FirstOffset)
		r.backoffMin = time.Millisecond
		breakConn := connectionBreaker(t, 3001)
		readN(t, ctx, r, 0, n, func(i int) { breakConn(r, i) })
	})
	t.Run("past the end waits for data", func(t *testing.T) {
		r, _ := testReader(t, topic, n+5)
		r.backoffMin, r.backoffMax = time.Millisecond, 20*time.Millisecond
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(300 * time.Millisecond)
			produceNumbered(t, brokers, topic, n, 10)
		}()
		readN(t, ctx, r, n+5, 5, nil)
		<-done
	})
}

// TestPartitionReaderIdleKeepsConnectionIntegration: long polls on an
// empty partition end empty every maxWait (kafka-go calls that
// RequestTimedOut) and must reuse the connection, not dial again: a
// redial per poll is two connections (leader lookup, leader) for every
// idle partition four times a second.
func TestPartitionReaderIdleKeepsConnectionIntegration(t *testing.T) {
	brokers := testservices.Kafka(t)
	topic := testservices.UniqueName(t, "fetchidle")
	testservices.CreateTopics(t, brokers, 1, topic)
	r, _ := testReader(t, topic, kafka.FirstOffset)
	r.maxWait = 50 * time.Millisecond
	var dials atomic.Int64
	counting := *r.dialer
	counting.DialFunc = func(ctx context.Context, network, address string) (net.Conn, error) {
		dials.Add(1)
		return dialBuffered(ctx, network, address)
	}
	r.dialer = &counting
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const polls = 12
	for range polls {
		if err := r.fetch(ctx); err != nil {
			t.Fatal(err)
		}
		if m, ok := r.read(ctx); ok {
			t.Fatalf("read offset %d from an empty partition", m.Offset)
		}
	}
	// The first connection costs a lookup and the leader; any more is a
	// redial.
	if n := dials.Load(); n > 2 {
		t.Errorf("%d dials for %d empty long polls, want at most 2", n, polls)
	}
}

// TestPartitionReaderStopsOnCancelIntegration: a fetch blocked on an empty
// partition returns promptly when its context ends.
func TestPartitionReaderStopsOnCancelIntegration(t *testing.T) {
	brokers := testservices.Kafka(t)
	topic := testservices.UniqueName(t, "fetchidle")
	testservices.CreateTopics(t, brokers, 1, topic)
	r, _ := testReader(t, topic, kafka.FirstOffset)
	r.maxWait = 10 * time.Second // the broker would hold the fetch this long
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		for {
			if err := r.fetch(ctx); err != nil {
				errc <- err
				return
			}
			for {
				if _, ok := r.read(ctx); !ok {
					break
				}
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("fetch returned nil after cancel")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("fetch took %s to notice the cancel", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("fetch still blocked 5 s after cancel")
	}
}

// TestPartitionReaderValuesIntegration: readValue returns every message
// exactly once and in order with its value in the caller's buffer, from
// the first offset or one in the middle of a record batch; a value too
// big for the buffer is read whole (owned, with its key), and so is the
// rest of its response, and reading goes on after it without loss or
// repeat, also after its connection breaks mid-response. keyAt finds the
// key of any offset, ahead of the reader or behind it.
func TestPartitionReaderValuesIntegration(t *testing.T) {
	brokers := testservices.Kafka(t)
	topic := testservices.UniqueName(t, "fetchvalues")
	testservices.CreateTopics(t, brokers, 1, topic)
	const n, bufSize = 3000, 1024
	big := func(i int) bool { return i%37 == 5 || i == 2000 }
	value := func(i int) string {
		pad := 3
		switch {
		case i == 2000:
			pad = 20000
		case big(i):
			pad = 5000
		}
		return strconv.Itoa(i) + ":" + strings.Repeat("x", pad)
	}
	tr := &kafka.Transport{} // the shared one may not know the new topic yet
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: partitionZero{}, Transport: tr,
		BatchSize: 400, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte("key-" + strconv.Itoa(i)), Value: []byte(value(i))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing: %v", err)
	}
	_ = w.Close()

	readValues := func(t *testing.T, from int, between func(r *partitionReader, i int)) {
		r, _ := testReader(t, topic, int64(from))
		r.backoffMin = time.Millisecond
		buf := make([]byte, bufSize)
		want, wholes := from, 0
		for want < n {
			if err := r.fetch(ctx); err != nil {
				t.Fatalf("fetch at offset %d: %v", want, err)
			}
			for {
				fits := len(value(want)) <= len(buf)
				m, owned, ok := r.readValue(ctx, buf)
				if !ok {
					break
				}
				if m.Offset != int64(want) || string(m.Value) != value(want) {
					t.Fatalf("read offset %d value %.20q, want offset %d %.20q (lost or repeated messages)", m.Offset, m.Value, want, value(want))
				}
				if !fits && !owned {
					t.Fatalf("offset %d: a value larger than the buffer was not read whole", want)
				}
				if owned {
					wholes++
					// As the worker does: room for twice the largest
					// value seen, so the next ones fit.
					if 2*len(m.Value) > len(buf) {
						buf = make([]byte, 2*len(m.Value))
					}
					if string(m.Key) != "key-"+strconv.Itoa(want) {
						t.Fatalf("offset %d read whole has key %q", want, m.Key)
					}
				} else if len(m.Key) != 0 || &m.Value[0] != &buf[0] {
					t.Fatalf("offset %d: a value-only read has key %q or a value outside the buffer", want, m.Key)
				}
				if m.HighWaterMark != n {
					t.Fatalf("offset %d: high-water mark %d, want %d", want, m.HighWaterMark, n)
				}
				want++
				if between != nil {
					between(r, want)
				}
			}
		}
		if wholes == 0 {
			t.Fatal("no value was larger than the buffer; the test did not test")
		}
		// After a value too big for the buffer the rest of its response
		// (here: its record batch, about 400 records) is read whole; the
		// buffer grows twice (to 10 KB, then 40 KB), so about two batches
		// are, and the rest takes the value-only path.
		if wholes > n/3 {
			t.Errorf("%d of %d messages read whole", wholes, n-from)
		}
	}
	t.Run("from the first offset", func(t *testing.T) { readValues(t, 0, nil) })
	t.Run("from an offset inside a record batch", func(t *testing.T) { readValues(t, 1234, nil) })
	t.Run("broken connections", func(t *testing.T) { readValues(t, 0, connectionBreaker(t, 301)) })
	t.Run("keys by offset", func(t *testing.T) {
		r, _ := testReader(t, topic, 0)
		for _, off := range []int64{5, 6, 7, 900, 2999, 1, 1500, 1501} {
			key, found, err := r.keyAt(ctx, off)
			if err != nil || !found || string(key) != "key-"+strconv.Itoa(int(off)) {
				t.Fatalf("keyAt(%d) = %q, found %v, err %v", off, key, found, err)
			}
		}
	})
}
