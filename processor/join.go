package processor

import (
	"bytes"
	"hash/maphash"
	"weak"
)

// pendingEntryOverhead approximates the memory of one pending entry beyond
// its id bytes: index slot, slab slot, queue slot and the slack of their
// growth. BenchmarkJoinEntryBytes measures the real figure (ids included);
// keep the two close.
const pendingEntryOverhead = 200

// pendingPrediction is a prediction waiting for its outcome.
type pendingPrediction struct {
	ts       int64 // event time, ms
	model    string
	version  string
	winStart int64
	pred     Value
	score    float64
	hasScore bool
	// win is the window the prediction went to, so its outcome need not
	// look it up. Weak: a prediction pending past its window's drop must
	// not keep the window's state alive. Nil after a restore.
	win weak.Pointer[window]
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
	// seed is random per store: ids come from the input, and a fixed hash
	// would let crafted ids collide into long probe runs.
	seed maphash.Seed
	// hashMask is all ones; tests narrow it to force collisions.
	hashMask uint32
	preds    pendingSet[pendingPrediction]
	outs     pendingSet[waitingOutcome]
	seq      uint64
	stats    JoinStats
}

func newJoinStore(maxEntries int, maxBytes int64) *joinStore {
	return &joinStore{maxEntries: maxEntries, maxBytes: maxBytes, seed: maphash.MakeSeed(), hashMask: ^uint32(0),
		preds: newPendingSet[pendingPrediction](), outs: newPendingSet[waitingOutcome]()}
}

// joinID is an event id with its hash. An event looks its id up in both
// sets (a prediction takes a waiting outcome, else is added), so the hash
// is computed once per event rather than once per table operation.
type joinID struct {
	b []byte
	h uint32
}

// id hashes b, which the store copies if it keeps it.
func (j *joinStore) id(b []byte) joinID {
	return joinID{b: b, h: uint32(maphash.Bytes(j.seed, b)) & j.hashMask}
}

func entryBytes(idLen int) int64 { return int64(idLen) + pendingEntryOverhead }

// addPrediction stores p under id. A prediction whose id is already
// pending replaces it.
func (j *joinStore) addPrediction(id joinID, p pendingPrediction) {
	if pos, i, ok := j.preds.find(id); ok {
		j.removed(j.preds.removeAt(pos, i))
	}
	j.makeRoom(entryBytes(len(id.b)))
	j.seq++
	j.preds.add(id, j.seq, p.ts, p)
	j.added(len(id.b))
}

// takePrediction removes and returns the prediction pending under id.
func (j *joinStore) takePrediction(id joinID) (pendingPrediction, bool) {
	pos, i, ok := j.preds.find(id)
	if !ok {
		return pendingPrediction{}, false
	}
	p := j.preds.slots[i].v
	j.removed(j.preds.removeAt(pos, i))
	return p, true
}

// parkOutcome keeps an outcome that arrived before its prediction.
func (j *joinStore) parkOutcome(id joinID, o waitingOutcome) {
	if pos, i, ok := j.outs.find(id); ok {
		j.removed(j.outs.removeAt(pos, i))
		j.stats.OrphanOutcomes++ // the earlier duplicate will never join
	}
	j.makeRoom(entryBytes(len(id.b)))
	j.seq++
	j.outs.add(id, j.seq, o.arrived, o)
	j.added(len(id.b))
}

func (j *joinStore) takeOutcome(id joinID) (waitingOutcome, bool) {
	pos, i, ok := j.outs.find(id)
	if !ok {
		return waitingOutcome{}, false
	}
	o := j.outs.slots[i].v
	j.removed(j.outs.removeAt(pos, i))
	return o, true
}

func (j *joinStore) added(idLen int) {
	j.stats.Entries++
	j.stats.Bytes += entryBytes(idLen)
}

func (j *joinStore) removed(idLen int) {
	j.stats.Entries--
	j.stats.Bytes -= entryBytes(idLen)
}

// makeRoom evicts the oldest entries until one of size more fits.
func (j *joinStore) makeRoom(size int64) {
	for j.stats.Entries > 0 && (j.stats.Entries+1 > int64(j.maxEntries) || j.stats.Bytes+size > j.maxBytes) {
		// Waiting outcomes are cheaper to lose than predictions: evict
		// them first.
		n, ok := j.outs.popLive()
		if !ok {
			n, ok = j.preds.popLive()
		}
		if !ok {
			return
		}
		j.removed(n)
		j.stats.Evicted++
	}
}

// expire drops predictions older than horizonStart (event time) and
// outcomes that arrived before waitStart (processing time).
func (j *joinStore) expire(horizonStart, waitStart int64) {
	for {
		n, ok := j.preds.popBefore(horizonStart)
		if !ok {
			break
		}
		j.removed(n)
		j.stats.Expired++
	}
	for {
		n, ok := j.outs.popBefore(waitStart)
		if !ok {
			break
		}
		j.removed(n)
		j.stats.OrphanOutcomes++
	}
	j.preds.compact()
	j.outs.compact()
}

// Ids are at most maxIDLen bytes, so a slot records lengths in 16 bits;
// the decoder's bound must fit (a compile error otherwise).
const maxIDLen = 1<<16 - 1

const _ = maxIDLen - maxEventIDLen + uint(0)

// pendingSet is one kind of pending entry. Entries live in a slab of
// slots, their ids in one byte arena, and an open-addressing index maps
// id hashes to slot numbers: no string is allocated per entry, an id is
// hashed once per event (see joinID), and a lookup touches the index, one
// slot and its id bytes. The queue checks whether an entry is still there
// by comparing sequence numbers in the slab, with no lookup. A freed slot
// is reused by the next add, with its arena bytes if the new id fits; its
// old queue entries no longer match its sequence number.
type pendingSet[T any] struct {
	// index is a linear-probing table, a power of two long and at most
	// 3/4 full: each entry is hash<<32 | slot+1, 0 when empty. Keeping
	// the hash in the entry lets most probes of other ids fail without
	// reading their slot, and lets the table grow without rehashing ids.
	index []uint64
	n     int // live entries
	slots []pendingSlot[T]
	free  []uint32 // indices of free slots
	// ids holds every slot's id bytes, live or free; garbage counts the
	// bytes of regions no slot holds any more (left when a reused slot
	// needed a longer id), dropped when the arena would otherwise grow.
	ids     []byte
	garbage int
	q       fifo
}

type pendingSlot[T any] struct {
	seq  uint64 // 0 while free; sequence numbers start at 1
	off  int    // the id is ids[off : off+n], in a region of c bytes
	n, c uint16
	h    uint32 // the id's hash, to find its index entry on removal
	v    T
}

func newPendingSet[T any]() pendingSet[T] { return pendingSet[T]{index: make([]uint64, 16)} }

func (s *pendingSet[T]) len() int { return s.n }

func (s *pendingSet[T]) idOf(sl *pendingSlot[T]) []byte { return s.ids[sl.off : sl.off+int(sl.n)] }

// find returns the index position and slot of id, or false and the
// empty position where the probe ended.
func (s *pendingSet[T]) find(id joinID) (pos int, slot uint32, ok bool) {
	mask := len(s.index) - 1
	for p := int(id.h) & mask; ; p = (p + 1) & mask {
		e := s.index[p]
		if e == 0 {
			return p, 0, false
		}
		if uint32(e>>32) == id.h {
			i := uint32(e) - 1
			if bytes.Equal(s.idOf(&s.slots[i]), id.b) {
				return p, i, true
			}
		}
	}
}

// add stores v under id, which must not be present, queued at at.
func (s *pendingSet[T]) add(id joinID, seq uint64, at int64, v T) {
	if len(id.b) > maxIDLen {
		panic("processor: event id longer than maxIDLen")
	}
	var i uint32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = uint32(len(s.slots))
		s.slots = append(s.slots, pendingSlot[T]{})
	}
	s.storeID(i, id.b)
	sl := &s.slots[i]
	sl.seq, sl.h, sl.v = seq, id.h, v
	s.insert(id.h, i)
	s.q.push(queued{seq: seq, at: at, slot: i})
}

// storeID puts b in slot i's arena region, or in a new one if it does
// not fit.
func (s *pendingSet[T]) storeID(i uint32, b []byte) {
	sl := &s.slots[i]
	if len(b) > int(sl.c) {
		if len(s.ids)+len(b) > cap(s.ids) && 2*s.garbage > len(s.ids) {
			s.compactIDs()
		}
		s.garbage += int(sl.c)
		sl.off, sl.c = len(s.ids), uint16(len(b))
		s.ids = append(s.ids, b...)
	}
	sl.n = uint16(len(b))
	copy(s.ids[sl.off:], b)
}

// compactIDs copies every slot's region into a new arena, dropping the
// garbage. It runs only instead of growing an arena that is more than
// half garbage, so each byte it copies paid for one appended since.
func (s *pendingSet[T]) compactIDs() {
	ids := make([]byte, 0, 2*(len(s.ids)-s.garbage))
	for k := range s.slots {
		sl := &s.slots[k]
		ids = append(ids, s.ids[sl.off:sl.off+int(sl.c)]...)
		sl.off = len(ids) - int(sl.c)
	}
	s.ids, s.garbage = ids, 0
}

func (s *pendingSet[T]) insert(h uint32, slot uint32) {
	if 4*(s.n+1) > 3*len(s.index) {
		s.grow()
	}
	mask := len(s.index) - 1
	p := int(h) & mask
	for s.index[p] != 0 {
		p = (p + 1) & mask
	}
	s.index[p] = uint64(h)<<32 | uint64(slot+1)
	s.n++
}

func (s *pendingSet[T]) grow() {
	old := s.index
	s.index = make([]uint64, 2*len(old))
	mask := len(s.index) - 1
	for _, e := range old {
		if e == 0 {
			continue
		}
		p := int(e>>32) & mask
		for s.index[p] != 0 {
			p = (p + 1) & mask
		}
		s.index[p] = e
	}
}

// unindex empties position pos, moving later entries of its probe run
// back so that every entry stays reachable from its home position
// without tombstones.
func (s *pendingSet[T]) unindex(pos int) {
	mask := len(s.index) - 1
	for q := (pos + 1) & mask; ; q = (q + 1) & mask {
		e := s.index[q]
		if e == 0 {
			break
		}
		// e may fill pos if pos lies between its home and q.
		if home := int(e>>32) & mask; (q-home)&mask >= (q-pos)&mask {
			s.index[pos] = e
			pos = q
		}
	}
	s.index[pos] = 0
	s.n--
}

// removeAt frees slot i, which must be live and indexed at pos, and
// returns its id's length.
func (s *pendingSet[T]) removeAt(pos int, i uint32) int {
	s.unindex(pos)
	sl := &s.slots[i]
	n := int(sl.n)
	// The region stays with the slot for its next id.
	*sl = pendingSlot[T]{off: sl.off, c: sl.c} // lets the strings in v go
	s.free = append(s.free, i)
	return n
}

// remove frees slot i, which must be live, and returns its id's length.
func (s *pendingSet[T]) remove(i uint32) int {
	e := uint64(s.slots[i].h)<<32 | uint64(i+1)
	mask := len(s.index) - 1
	p := int(s.slots[i].h) & mask
	for s.index[p] != e {
		p = (p + 1) & mask
	}
	return s.removeAt(p, i)
}

func (s *pendingSet[T]) live(e queued) bool { return s.slots[e.slot].seq == e.seq }

// popLive removes the oldest live entry and returns its id's length;
// false if none.
func (s *pendingSet[T]) popLive() (int, bool) {
	for s.q.len() > 0 {
		if e := s.q.pop(); s.live(e) {
			return s.remove(e.slot), true
		}
	}
	return 0, false
}

// popBefore removes the entry at the head of the queue if it was queued
// before t and is live, and returns its id's length. Queue order is
// insertion order: it stops at the first entry (live or not) queued at t
// or later.
func (s *pendingSet[T]) popBefore(t int64) (int, bool) {
	for s.q.len() > 0 && s.q.peek().at < t {
		if e := s.q.pop(); s.live(e) {
			return s.remove(e.slot), true
		}
	}
	return 0, false
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
