package alerts

import (
	"context"
	"errors"
	"sync"
)

type fakeRecorder struct {
	mu         sync.Mutex
	alerts     []AlertRecord
	deliveries []DeliveryRecord
	// deliveryCalls counts RecordDeliveries calls: each is an INSERT.
	deliveryCalls  int
	failAlerts     error
	failDeliveries error
	// block, when set, holds RecordDeliveries until it is closed.
	block chan struct{}
}

func (f *fakeRecorder) RecordAlerts(_ context.Context, recs []AlertRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAlerts != nil {
		return f.failAlerts
	}
	f.alerts = append(f.alerts, recs...)
	return nil
}

func (f *fakeRecorder) RecordDeliveries(ctx context.Context, recs []DeliveryRecord) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failDeliveries != nil {
		return f.failDeliveries
	}
	f.deliveries = append(f.deliveries, recs...)
	f.deliveryCalls++
	return nil
}

func (f *fakeRecorder) alertRecords() []AlertRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AlertRecord(nil), f.alerts...)
}

func (f *fakeRecorder) alertStates() []string {
	var out []string
	for _, r := range f.alertRecords() {
		out = append(out, r.State)
	}
	return out
}

func (f *fakeRecorder) deliveryRecords() []DeliveryRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]DeliveryRecord(nil), f.deliveries...)
}

var errRecorderDown = errors.New("clickhouse down")

func (f *fakeRecorder) deliveryInserts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deliveryCalls
}
