package simulate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

// A batch the broker rejects is reported with the count, and its
// in-flight budget is returned so the run can finish.
func TestKafkaSinkReportsRejectedBatches(t *testing.T) {
	s := newKafkaSink(&kafka.Transport{}, []string{"127.0.0.1:1"}, Topics{"p", "o"})
	ctx := context.Background()
	if err := s.inflight.Acquire(ctx, 5); err != nil {
		t.Fatal(err)
	}
	s.sent = 5
	s.completed(make([]kafka.Message, 3), nil)
	if err := s.err(); err != nil {
		t.Fatalf("after a delivered batch: %v", err)
	}
	rejected := errors.New("message too large")
	s.completed(make([]kafka.Message, 2), rejected)
	err := s.err()
	if !errors.Is(err, rejected) || !strings.Contains(err.Error(), "2 of 5 messages failed") {
		t.Fatalf("got %v", err)
	}
	if !s.inflight.TryAcquire(maxInFlight) {
		t.Fatal("in-flight budget not returned")
	}
}
