package processor

// pendingEntryOverhead approximates the memory of one pending entry beyond
// its key bytes: map slot, slab slot and queue slot. BenchmarkJoinEntryBytes
// measures the real figure; keep the two close.
const pendingEntryOverhead = 172

// pendingPrediction is a prediction waiting for its outcome.
type pendingPrediction struct {
	ts       int64 // event time, ms
	model    string
	version  string
	winStart int64
	pred     Value
	score    float64
	hasScore bool
}

// waitingOutcome is an outcome that arrived before its prediction.
type waitingOutcome struct {
	arrived int64 // processing time, ms
	model   string
	label   Value
}

// JoinStats are the join store's counters, exported as metrics.
type JoinStats struct {
	Entries, Bytes                   int64
	Hits, Misses                     int64 // outcomes that found / did not find their prediction at once
	Expired, Evicted, OrphanOutcomes int64
}

// joinStore holds predictions waiting for outcomes and outcomes waiting for
// predictions, bounded by entries and bytes. Overflow policy: evict the
// oldest entry (counted). Expiry: predictions by event time (label
// horizon), outcomes by processing time (outcome wait). Not safe for
// concurrent use; one per partition.
type joinStore struct {
	maxEntries int
	maxBytes   int64
	preds      pendingSet[pendingPrediction]
	outs       pendingSet[waitingOutcome]
	seq        uint64
	stats      JoinStats
}

func newJoinStore(maxEntries int, maxBytes int64) *joinStore {
	return &joinStore{maxEntries: maxEntries, maxBytes: maxBytes,
		preds: newPendingSet[pendingPrediction](), outs: newPendingSet[waitingOutcome]()}
}

func entryBytes(id string) int64 { return int64(len(id)) + pendingEntryOverhead }

// addPrediction stores p under id, which the store keeps (pass a string the
// caller will not mutate). A prediction whose id is already pending
// replaces it.
func (j *joinStore) addPrediction(id string, p pendingPrediction) {
	if i, ok := j.preds.ids[id]; ok {
		j.removed(j.preds.remove(i))
	}
	j.makeRoom(entryBytes(id))
	j.seq++
	j.preds.add(id, j.seq, p.ts, p)
	j.added(id)
}

// takePrediction removes and returns the prediction pending under id.
func (j *joinStore) takePrediction(id []byte) (pendingPrediction, bool) {
	i, ok := j.preds.ids[string(id)]
	if !ok {
		return pendingPrediction{}, false
	}
	p := j.preds.slots[i].v
	j.removed(j.preds.remove(i))
	return p, true
}

// parkOutcome keeps an outcome that arrived before its prediction.
func (j *joinStore) parkOutcome(id string, o waitingOutcome) {
	if i, ok := j.outs.ids[id]; ok {
		j.removed(j.outs.remove(i))
		j.stats.OrphanOutcomes++ // the earlier duplicate will never join
	}
	j.makeRoom(entryBytes(id))
	j.seq++
	j.outs.add(id, j.seq, o.arrived, o)
	j.added(id)
}

func (j *joinStore) takeOutcome(id []byte) (waitingOutcome, bool) {
	i, ok := j.outs.ids[string(id)]
	if !ok {
		return waitingOutcome{}, false
	}
	o := j.outs.slots[i].v
	j.removed(j.outs.remove(i))
	return o, true
}

func (j *joinStore) added(id string) {
	j.stats.Entries++
	j.stats.Bytes += entryBytes(id)
}

func (j *joinStore) removed(id string) {
	j.stats.Entries--
	j.stats.Bytes -= entryBytes(id)
}

// makeRoom evicts the oldest entries until one of size more fits.
func (j *joinStore) makeRoom(size int64) {
	for j.stats.Entries > 0 && (j.stats.Entries+1 > int64(j.maxEntries) || j.stats.Bytes+size > j.maxBytes) {
		// Waiting outcomes are cheaper to lose than predictions: evict
		// them first.
		id, ok := j.outs.popLive()
		if !ok {
			id, ok = j.preds.popLive()
		}
		if !ok {
			return
		}
		j.removed(id)
		j.stats.Evicted++
	}
}

// expire drops predictions older than horizonStart (event time) and
// outcomes that arrived before waitStart (processing time).
func (j *joinStore) expire(horizonStart, waitStart int64) {
	for {
		id, ok := j.preds.popBefore(horizonStart)
		if !ok {
			break
		}
		j.removed(id)
		j.stats.Expired++
	}
	for {
		id, ok := j.outs.popBefore(waitStart)
		if !ok {
			break
		}
		j.removed(id)
		j.stats.OrphanOutcomes++
	}
	j.preds.compact()
	j.outs.compact()
}

// pendingSet is one kind of pending entry. Entries live in a slab of
// slots and the map holds only slot indices: map groups stay small, so a
// lookup touches little memory, and the queue checks whether an entry is
// still there by comparing sequence numbers in the slab, with no map
// lookup. A freed slot is reused by the next add; its old queue entries
// no longer match its sequence number.
type pendingSet[T any] struct {
	ids   map[string]uint32 // id → index in slots
	slots []pendingSlot[T]
	free  []uint32 // indices of free slots
	q     fifo
}

type pendingSlot[T any] struct {
	id  string
	seq uint64 // 0 while free; sequence numbers start at 1
	v   T
}

func newPendingSet[T any]() pendingSet[T] { return pendingSet[T]{ids: map[string]uint32{}} }

func (s *pendingSet[T]) len() int { return len(s.ids) }

// add stores v under id, which must not be present, queued at at.
func (s *pendingSet[T]) add(id string, seq uint64, at int64, v T) {
	var i uint32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = uint32(len(s.slots))
		s.slots = append(s.slots, pendingSlot[T]{})
	}
	s.slots[i] = pendingSlot[T]{id: id, seq: seq, v: v}
	s.ids[id] = i
	s.q.push(queued{seq: seq, at: at, slot: i})
}

// remove frees slot i, which must be live, and returns its id.
func (s *pendingSet[T]) remove(i uint32) string {
	id := s.slots[i].id
	delete(s.ids, id)
	s.slots[i] = pendingSlot[T]{} // lets the strings go
	s.free = append(s.free, i)
	return id
}

func (s *pendingSet[T]) live(e queued) bool { return s.slots[e.slot].seq == e.seq }

// popLive removes the oldest live entry and returns its id; false if none.
func (s *pendingSet[T]) popLive() (string, bool) {
	for s.q.len() > 0 {
		if e := s.q.pop(); s.live(e) {
			return s.remove(e.slot), true
		}
	}
	return "", false
}

// popBefore removes the entry at the head of the queue if it was queued
// before t and is live, and returns its id. Queue order is insertion
// order: it stops at the first entry (live or not) queued at t or later.
func (s *pendingSet[T]) popBefore(t int64) (string, bool) {
	for s.q.len() > 0 && s.q.peek().at < t {
		if e := s.q.pop(); s.live(e) {
			return s.remove(e.slot), true
		}
	}
	return "", false
}

// compact drops tombstones once they outnumber live entries, so the queue
// stays O(live entries) however many joins happened.
func (s *pendingSet[T]) compact() {
	if s.q.len() <= 2*s.len()+1024 {
		return
	}
	out := s.q.buf[:0]
	for _, e := range s.q.buf[s.q.head:] {
		if s.live(e) {
			out = append(out, e)
		}
	}
	clear(s.q.buf[len(out):])
	s.q.buf, s.q.head = out, 0
}

// queued is a queue entry: slot holds the entry while its sequence number
// is seq.
type queued struct {
	seq  uint64
	at   int64 // event time (predictions) or arrival time (outcomes)
	slot uint32
}

// fifo is a queue of slots in insertion order; entries removed from the
// set stay as tombstones until popped or compacted.
type fifo struct {
	buf  []queued
	head int
}

// push appends e. A full buffer whose popped prefix is at least half of
// it is reused instead of grown: when expiry, not compaction, keeps the
// queue short, appending alone would keep every entry ever popped.
func (q *fifo) push(e queued) {
	if len(q.buf) == cap(q.buf) && q.head > 0 && q.head >= len(q.buf)/2 {
		n := copy(q.buf, q.buf[q.head:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, e)
}

func (q *fifo) len() int     { return len(q.buf) - q.head }
func (q *fifo) peek() queued { return q.buf[q.head] }
func (q *fifo) pop() queued {
	e := q.buf[q.head]
	q.head++
	return e
}
