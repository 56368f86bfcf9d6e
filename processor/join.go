package processor

// pendingEntryOverhead approximates the memory of one pending entry beyond
// its key bytes: map slot, entry value and queue slot. BenchmarkJoinEntryBytes
// measures the real figure; keep the two close.
const pendingEntryOverhead = 160

// pendingPrediction is a prediction waiting for its outcome.
type pendingPrediction struct {
	seq      uint64
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
	seq     uint64
	arrived int64 // processing time, ms
	model   string
	label   Value
}

type queued struct {
	id  string
	seq uint64
	at  int64 // event time (predictions) or arrival time (outcomes)
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
	preds      map[string]pendingPrediction
	outs       map[string]waitingOutcome
	predQ      fifo
	outQ       fifo
	seq        uint64
	stats      JoinStats
}

func newJoinStore(maxEntries int, maxBytes int64) *joinStore {
	return &joinStore{maxEntries: maxEntries, maxBytes: maxBytes,
		preds: map[string]pendingPrediction{}, outs: map[string]waitingOutcome{}}
}

func entryBytes(id string) int64 { return int64(len(id)) + pendingEntryOverhead }

// addPrediction stores p under id, which the store keeps (pass a string the
// caller will not mutate). A prediction whose id is already pending
// replaces it.
func (j *joinStore) addPrediction(id string, p pendingPrediction) {
	if _, ok := j.preds[id]; ok {
		j.removePrediction(id)
	}
	j.makeRoom(entryBytes(id))
	j.seq++
	p.seq = j.seq
	j.preds[id] = p
	j.predQ.push(queued{id: id, seq: p.seq, at: p.ts})
	j.stats.Entries++
	j.stats.Bytes += entryBytes(id)
}

// takePrediction removes and returns the prediction pending under id.
func (j *joinStore) takePrediction(id []byte) (pendingPrediction, bool) {
	p, ok := j.preds[string(id)]
	if ok {
		j.removePrediction(string(id))
	}
	return p, ok
}

func (j *joinStore) removePrediction(id string) {
	delete(j.preds, id)
	j.stats.Entries--
	j.stats.Bytes -= entryBytes(id)
}

// parkOutcome keeps an outcome that arrived before its prediction.
func (j *joinStore) parkOutcome(id string, o waitingOutcome) {
	if _, ok := j.outs[id]; ok {
		j.removeOutcome(id)
		j.stats.OrphanOutcomes++ // the earlier duplicate will never join
	}
	j.makeRoom(entryBytes(id))
	j.seq++
	o.seq = j.seq
	j.outs[id] = o
	j.outQ.push(queued{id: id, seq: o.seq, at: o.arrived})
	j.stats.Entries++
	j.stats.Bytes += entryBytes(id)
}

func (j *joinStore) takeOutcome(id []byte) (waitingOutcome, bool) {
	o, ok := j.outs[string(id)]
	if ok {
		j.removeOutcome(string(id))
	}
	return o, ok
}

func (j *joinStore) removeOutcome(id string) {
	delete(j.outs, id)
	j.stats.Entries--
	j.stats.Bytes -= entryBytes(id)
}

// makeRoom evicts the oldest entries until one of size more fits.
func (j *joinStore) makeRoom(size int64) {
	for j.stats.Entries > 0 && (j.stats.Entries+1 > int64(j.maxEntries) || j.stats.Bytes+size > j.maxBytes) {
		// Waiting outcomes are cheaper to lose than predictions: evict
		// them first.
		if j.popLive(&j.outQ, false) || j.popLive(&j.predQ, true) {
			j.stats.Evicted++
			continue
		}
		return
	}
}

// popLive removes the oldest still-present entry of q; false if none.
func (j *joinStore) popLive(q *fifo, preds bool) bool {
	for q.len() > 0 {
		e := q.pop()
		if preds {
			if p, ok := j.preds[e.id]; ok && p.seq == e.seq {
				j.removePrediction(e.id)
				return true
			}
		} else if o, ok := j.outs[e.id]; ok && o.seq == e.seq {
			j.removeOutcome(e.id)
			return true
		}
	}
	return false
}

// expire drops predictions older than horizonStart (event time) and
// outcomes that arrived before waitStart (processing time).
func (j *joinStore) expire(horizonStart, waitStart int64) {
	for j.predQ.len() > 0 && j.predQ.peek().at < horizonStart {
		e := j.predQ.pop()
		if p, ok := j.preds[e.id]; ok && p.seq == e.seq {
			j.removePrediction(e.id)
			j.stats.Expired++
		}
	}
	for j.outQ.len() > 0 && j.outQ.peek().at < waitStart {
		e := j.outQ.pop()
		if o, ok := j.outs[e.id]; ok && o.seq == e.seq {
			j.removeOutcome(e.id)
			j.stats.OrphanOutcomes++
		}
	}
	j.compact()
}

// compact drops tombstones once they outnumber live entries, so the queues
// stay O(live entries) however many joins happened.
func (j *joinStore) compact() {
	if j.predQ.len() > 2*len(j.preds)+1024 {
		j.predQ.filter(func(e queued) bool { p, ok := j.preds[e.id]; return ok && p.seq == e.seq })
	}
	if j.outQ.len() > 2*len(j.outs)+1024 {
		j.outQ.filter(func(e queued) bool { o, ok := j.outs[e.id]; return ok && o.seq == e.seq })
	}
}

// fifo is a queue of ids in insertion order; entries removed from the maps
// stay as tombstones until popped or compacted.
type fifo struct {
	buf  []queued
	head int
}

func (q *fifo) push(e queued) { q.buf = append(q.buf, e) }
func (q *fifo) len() int      { return len(q.buf) - q.head }
func (q *fifo) peek() queued  { return q.buf[q.head] }
func (q *fifo) pop() queued {
	e := q.buf[q.head]
	q.buf[q.head] = queued{}
	q.head++
	return e
}

// filter keeps the entries live reports true for, in order.
func (q *fifo) filter(live func(queued) bool) {
	out := q.buf[:0]
	for _, e := range q.buf[q.head:] {
		if live(e) {
			out = append(out, e)
		}
	}
	clear(q.buf[len(out):])
	q.buf, q.head = out, 0
}
