package processor

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// refJoin is a reference model of joinStore: the same policy written
// plainly, with entries in maps and queues of ids, so the slab-based store
// can be checked against it. Queues keep removed entries as tombstones and
// compact at the same threshold, because expiry stops at the first queued
// entry not old enough, live or not, and the model must agree on that.
type refJoin struct {
	maxEntries  int
	maxBytes    int64
	preds, outs refSet
	seq         uint64
	stats       JoinStats
	compactions int
}

type refSet struct {
	m map[string]refEntry
	q []refQueued
}

type refEntry struct {
	seq uint64
	p   pendingPrediction
	o   waitingOutcome
}

type refQueued struct {
	id  string
	seq uint64
	at  int64
}

func newRefJoin(maxEntries int, maxBytes int64) *refJoin {
	return &refJoin{maxEntries: maxEntries, maxBytes: maxBytes,
		preds: refSet{m: map[string]refEntry{}}, outs: refSet{m: map[string]refEntry{}}}
}

func (r *refJoin) drop(s *refSet, id string) {
	delete(s.m, id)
	r.stats.Entries--
	r.stats.Bytes -= int64(len(id)) + pendingEntryOverhead
}

func (r *refJoin) put(s *refSet, id string, at int64, e refEntry) {
	size := int64(len(id)) + pendingEntryOverhead
	for r.stats.Entries > 0 && (r.stats.Entries+1 > int64(r.maxEntries) || r.stats.Bytes+size > r.maxBytes) {
		if !r.popLive(&r.outs) && !r.popLive(&r.preds) {
			break
		}
		r.stats.Evicted++
	}
	r.seq++
	e.seq = r.seq
	s.m[id] = e
	s.q = append(s.q, refQueued{id, r.seq, at})
	r.stats.Entries++
	r.stats.Bytes += size
}

func (r *refJoin) popLive(s *refSet) bool {
	for len(s.q) > 0 {
		e := s.q[0]
		s.q = s.q[1:]
		if cur, ok := s.m[e.id]; ok && cur.seq == e.seq {
			r.drop(s, e.id)
			return true
		}
	}
	return false
}

func (r *refJoin) addPrediction(id string, p pendingPrediction) {
	if _, ok := r.preds.m[id]; ok {
		r.drop(&r.preds, id)
	}
	r.put(&r.preds, id, p.ts, refEntry{p: p})
}

func (r *refJoin) parkOutcome(id string, o waitingOutcome) {
	if _, ok := r.outs.m[id]; ok {
		r.drop(&r.outs, id)
		r.stats.OrphanOutcomes++
	}
	r.put(&r.outs, id, o.arrived, refEntry{o: o})
}

func (r *refJoin) take(s *refSet, id string) (refEntry, bool) {
	e, ok := s.m[id]
	if ok {
		r.drop(s, id)
	}
	return e, ok
}

func (r *refJoin) expire(horizonStart, waitStart int64) {
	expireSet := func(s *refSet, before int64, counter *int64) {
		for len(s.q) > 0 && s.q[0].at < before {
			e := s.q[0]
			s.q = s.q[1:]
			if cur, ok := s.m[e.id]; ok && cur.seq == e.seq {
				r.drop(s, e.id)
				*counter++
			}
		}
	}
	expireSet(&r.preds, horizonStart, &r.stats.Expired)
	expireSet(&r.outs, waitStart, &r.stats.OrphanOutcomes)
	for _, s := range []*refSet{&r.preds, &r.outs} {
		if len(s.q) > 2*len(s.m)+1024 {
			var kept []refQueued
			for _, e := range s.q {
				if cur, ok := s.m[e.id]; ok && cur.seq == e.seq {
					kept = append(kept, e)
				}
			}
			s.q = kept
			r.compactions++
		}
	}
}

// snapshot lists the live entries in queue order, as a checkpoint holds them.
func (r *refJoin) snapshot() ([]snapPred, []snapOut) {
	preds, outs := []snapPred{}, []snapOut{}
	for _, e := range r.preds.q {
		if cur, ok := r.preds.m[e.id]; ok && cur.seq == e.seq {
			p := cur.p
			preds = append(preds, snapPred{ID: e.id, TS: p.ts, Model: p.model, Version: p.version,
				WinStart: p.winStart, Pred: p.pred, Score: p.score, HasScore: p.hasScore})
		}
	}
	for _, e := range r.outs.q {
		if cur, ok := r.outs.m[e.id]; ok && cur.seq == e.seq {
			o := cur.o
			outs = append(outs, snapOut{ID: e.id, Arrived: o.arrived, Model: o.model, Label: o.label})
		}
	}
	return preds, outs
}

// checkSlab checks the store's own invariants: every index entry sits at
// or after its home position with no empty position between, and names a
// live slot holding an id of that hash; every other slot is free; the
// arena's regions do not overlap and its garbage is counted.
func checkSlab[T any](t *testing.T, what string, s *pendingSet[T], j *joinStore) {
	t.Helper()
	mask := len(s.index) - 1
	indexed := make([]bool, len(s.slots))
	n := 0
	for p, e := range s.index {
		if e == 0 {
			continue
		}
		n++
		for q := int(e>>32) & mask; q != p; q = (q + 1) & mask {
			if s.index[q] == 0 {
				t.Fatalf("%s: index entry at %d unreachable: empty position %d after its home", what, p, q)
			}
		}
		i := uint32(e) - 1
		sl := &s.slots[i]
		if indexed[i] || sl.seq == 0 || sl.h != uint32(e>>32) || j.id(s.idOf(sl)).h != sl.h {
			t.Fatalf("%s: index entry at %d names slot %d (seq %d, hash %x, id %q), twice: %v",
				what, p, i, sl.seq, sl.h, s.idOf(sl), indexed[i])
		}
		indexed[i] = true
	}
	if n != s.n || n+len(s.free) != len(s.slots) || 4*n > 3*len(s.index) {
		t.Fatalf("%s: %d indexed (n %d) + %d free != %d slots, index of %d", what, n, s.n, len(s.free), len(s.slots), len(s.index))
	}
	for _, i := range s.free {
		if sl := s.slots[i]; sl.seq != 0 || sl.n != 0 || indexed[i] {
			t.Fatalf("%s: free slot %d holds seq %d, an id of %d bytes", what, i, sl.seq, sl.n)
		}
	}
	owner := make([]int, len(s.ids))
	used := 0
	for k, sl := range s.slots {
		if sl.n > sl.c || sl.off+int(sl.c) > len(s.ids) {
			t.Fatalf("%s: slot %d id %d bytes in a region of %d at %d, arena %d", what, k, sl.n, sl.c, sl.off, len(s.ids))
		}
		for b := sl.off; b < sl.off+int(sl.c); b++ {
			if owner[b] != 0 {
				t.Fatalf("%s: slots %d and %d share arena byte %d", what, owner[b]-1, k, b)
			}
			owner[b] = k + 1
		}
		used += int(sl.c)
	}
	if used+s.garbage != len(s.ids) {
		t.Fatalf("%s: regions %d + garbage %d != arena %d", what, used, s.garbage, len(s.ids))
	}
}

// TestJoinStoreMatchesReference drives the join store and the reference
// model with the same random adds, takes, parks, expiries (event times out
// of order), evictions by entry and byte bounds, duplicates and
// checkpoint/restore cycles, and checks they agree on every result, every
// counter and the pending entries in queue order.
func TestJoinStoreMatchesReference(t *testing.T) {
	var compactions int
	var total JoinStats
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 99))
		// Half the runs have tight bounds and checkpoint; the others have
		// loose bounds and expire late, so tombstones pile up until the
		// queues compact.
		checkpoints := seed%2 == 0
		maxEntries, lagMin, lagMax, steps, nids := 1+r.IntN(60), 0, 600, 6000, 1+r.IntN(120)
		if !checkpoints {
			maxEntries, lagMin, lagMax, steps, nids = 200+r.IntN(2000), 1500, 1000, 12000, 100+r.IntN(400)
		}
		maxBytes := int64(1+r.IntN(maxEntries+20)) * (pendingEntryOverhead + 4)
		// In a third of the runs ids share 64 hashes and 4 home
		// positions, so index probes pass over other ids of the same hash
		// and removals shift long probe runs.
		hashMask := ^uint32(0)
		if seed%3 == 1 {
			hashMask = 0xf0000003
		}
		newStore := func() *joinStore {
			j := newJoinStore(maxEntries, maxBytes)
			j.hashMask = hashMask
			return j
		}
		j, ref := newStore(), newRefJoin(maxEntries, maxBytes)
		ids := make([]string, nids)
		for i := range ids {
			ids[i] = strings.Repeat("x", r.IntN(6)) + fmt.Sprint(i) // lengths vary, so bytes matter
		}
		labels := []Value{{}, {Kind: String, Str: "0"}, {Kind: String, Str: "1"}, {Kind: Number, Num: 2.5}}
		for step := range steps {
			now := int64(step / 4)
			id := ids[r.IntN(len(ids))]
			var op string
			switch n := r.IntN(100); {
			case n < 30:
				op = "addPrediction"
				p := pendingPrediction{ts: now + int64(r.IntN(200)) - 100, model: fmt.Sprint("m", r.IntN(3)),
					version: fmt.Sprint("v", r.IntN(2)), winStart: now / 60, pred: labels[r.IntN(len(labels))],
					score: r.Float64(), hasScore: r.IntN(2) == 0}
				j.addPrediction(j.id([]byte(id)), p)
				ref.addPrediction(id, p)
			case n < 55:
				op = "takePrediction"
				got, gotOK := j.takePrediction(j.id([]byte(id)))
				want, wantOK := ref.take(&ref.preds, id)
				if gotOK != wantOK || got != want.p {
					t.Fatalf("seed %d step %d: takePrediction(%q) = %+v, %v; want %+v, %v", seed, step, id, got, gotOK, want.p, wantOK)
				}
			case n < 75:
				op = "parkOutcome"
				o := waitingOutcome{arrived: now, model: fmt.Sprint("m", r.IntN(3)), label: labels[r.IntN(len(labels))]}
				j.parkOutcome(j.id([]byte(id)), o)
				ref.parkOutcome(id, o)
			case n < 92:
				op = "takeOutcome"
				got, gotOK := j.takeOutcome(j.id([]byte(id)))
				want, wantOK := ref.take(&ref.outs, id)
				if gotOK != wantOK || got != want.o {
					t.Fatalf("seed %d step %d: takeOutcome(%q) = %+v, %v; want %+v, %v", seed, step, id, got, gotOK, want.o, wantOK)
				}
			case n < 99 || !checkpoints:
				op = "expire"
				h, w := now-int64(lagMin+r.IntN(lagMax)), now-int64(lagMin+r.IntN(lagMax))
				j.expire(h, w)
				ref.expire(h, w)
			default:
				op = "checkpoint"
				var s snapshot
				j.freezeInto(&s)
				s.JoinStats = j.stats
				j = newStore()
				j.restore(&s)
				preds, outs := ref.snapshot()
				st := ref.stats
				ref = newRefJoin(maxEntries, maxBytes)
				for _, p := range preds {
					ref.addPrediction(p.ID, pendingPrediction{ts: p.TS, model: p.Model, version: p.Version,
						winStart: p.WinStart, pred: p.Pred, score: p.Score, hasScore: p.HasScore})
				}
				for _, o := range outs {
					ref.parkOutcome(o.ID, waitingOutcome{arrived: o.Arrived, model: o.Model, label: o.Label})
				}
				st.Entries, st.Bytes = ref.stats.Entries, ref.stats.Bytes
				ref.stats = st
			}
			if j.stats != ref.stats {
				t.Fatalf("seed %d step %d after %s: stats %+v, want %+v", seed, step, op, j.stats, ref.stats)
			}
			if j.stats.Entries > int64(maxEntries) || j.stats.Bytes > maxBytes && j.stats.Entries > 1 {
				t.Fatalf("seed %d step %d after %s: over the bounds: %+v", seed, step, op, j.stats)
			}
			if j.stats.Entries > 64 && step%64 != 0 && op != "checkpoint" {
				continue // a full comparison every step would be quadratic
			}
			var s snapshot
			j.freezeInto(&s)
			preds, outs := ref.snapshot()
			if !reflect.DeepEqual(s.Preds, preds) || !reflect.DeepEqual(s.Outs, outs) {
				t.Fatalf("seed %d step %d after %s: pending\n%+v\n%+v\nwant\n%+v\n%+v", seed, step, op, s.Preds, s.Outs, preds, outs)
			}
			checkSlab(t, "preds", &j.preds, j)
			checkSlab(t, "outs", &j.outs, j)
		}
		compactions += ref.compactions
		total.Expired += ref.stats.Expired
		total.Evicted += ref.stats.Evicted
		total.OrphanOutcomes += ref.stats.OrphanOutcomes
	}
	// Each path must have been taken, or the test proves nothing about it.
	if compactions == 0 || total.Expired == 0 || total.Evicted == 0 || total.OrphanOutcomes == 0 {
		t.Errorf("paths not exercised: %d compactions, totals %+v", compactions, total)
	}
	t.Logf("%d compactions, totals %+v", compactions, total)
}

// TestJoinQueueMemoryBounded: when expiry, not compaction, keeps a queue
// short (a short horizon, every prediction joined), the queue's buffer
// must not keep the popped prefix and grow with every event ever queued.
func TestJoinQueueMemoryBounded(t *testing.T) {
	const lag, events = 1000, 200_000
	j := newJoinStore(1<<20, 1<<40)
	ids := make([]string, events)
	for i := range ids {
		ids[i] = fmt.Sprint("e", i)
	}
	for i := range events {
		j.addPrediction(j.id([]byte(ids[i])), pendingPrediction{ts: int64(i)})
		if i >= 10 {
			if _, ok := j.takePrediction(j.id([]byte(ids[i-10]))); !ok {
				t.Fatalf("prediction %d not pending", i-10)
			}
		}
		j.expire(int64(i-lag), 0)
	}
	if j.stats.Entries != 10 || j.stats.Expired != 0 {
		t.Fatalf("stats %+v", j.stats)
	}
	if q := &j.preds.q; q.len() > lag+1 || cap(q.buf) > 4*(lag+1) {
		t.Errorf("queue holds %d entries in a buffer of %d after %d events", q.len(), cap(q.buf), events)
	}
}
