package alerts

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// queue holds the deliveries not yet final, in memory, mirroring outbox/.
// Deliveries to one target about one model version go out in window order:
// only the oldest of such a lane is eligible, so a resolve never overtakes
// its trigger.
type queue struct {
	mu       sync.Mutex
	items    map[string]*delivery
	inFlight map[string]bool
}

func (q *queue) add(d *delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.items == nil {
		q.items, q.inFlight = map[string]*delivery{}, map[string]bool{}
	}
	q.items[d.ID] = d
}

func (q *queue) has(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.items[id]
	return ok
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *queue) remove(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.items, id)
	delete(q.inFlight, id)
}

func (q *queue) release(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, id)
}

func lane(d *delivery) string {
	return d.Target + "\x1f" + d.Notification.Model + "\x1f" + d.Notification.Version
}

func before(a, b *delivery) int {
	an, bn := &a.Notification, &b.Notification
	return cmp.Or(an.Window.Start.Compare(bn.Window.Start), cmp.Compare(an.Window.Revision, bn.Window.Revision),
		cmp.Compare(kindOrder(an.Kind), kindOrder(bn.Kind)), cmp.Compare(a.ID, b.ID))
}

func kindOrder(k string) int {
	if k == KindFiring {
		return 0
	}
	return 1
}

// take marks up to limit due deliveries in flight and returns them, with
// the earliest future attempt time among the rest (zero if none).
func (q *queue) take(now time.Time, limit int) ([]*delivery, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	heads := map[string]*delivery{}
	busy := map[string]bool{}
	for id, d := range q.items {
		l := lane(d)
		if q.inFlight[id] {
			busy[l] = true
			continue
		}
		if h := heads[l]; h == nil || before(d, h) < 0 {
			heads[l] = d
		}
	}
	var due []*delivery
	var next time.Time
	for l, d := range heads {
		if busy[l] {
			continue
		}
		if !d.NextAttempt.After(now) && len(q.inFlight) < limit {
			q.inFlight[d.ID] = true
			due = append(due, d)
			continue
		}
		if next.IsZero() || d.NextAttempt.Before(next) {
			next = d.NextAttempt
		}
	}
	slices.SortFunc(due, before)
	return due, next
}
