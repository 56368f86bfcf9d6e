package processor

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// snapshotVersion is bumped when the checkpoint layout changes; a restore
// refuses other versions rather than misreading them.
const snapshotVersion = 1

// snapshot is a partition's checkpointed state. Offsets are the next
// offsets to read: the state reflects exactly the messages before them,
// so a restore resumes there and nothing is counted twice.
type snapshot struct {
	Version    int
	PredOffset int64
	OutOffset  int64
	MaxTS      int64
	Watermark  int64
	Windows    []snapWindow
	Preds      []snapPred // in queue (insertion) order
	Outs       []snapOut
	Stats      EngineStats
	JoinStats  JoinStats
}

type snapWindow struct {
	Model, Version string
	Start          int64
	BaselineID     string
	Closed, Dirty  bool
	Late           int64
	Emitted        uint64
	State          []byte
}

type snapPred struct {
	ID             string
	TS             int64
	Model, Version string
	WinStart       int64
	Pred           Value
	Score          float64
	HasScore       bool
}

type snapOut struct {
	ID      string
	Arrived int64
	Model   string
	Label   Value
}

// snapshot encodes the engine's state with the given next offsets.
func (e *partitionEngine) snapshot(predOffset, outOffset int64) ([]byte, error) {
	s, err := e.freeze(predOffset, outOffset)
	if err != nil {
		return nil, err
	}
	return s.encode()
}

// freeze copies the engine's state with the given next offsets into a
// snapshot that shares nothing mutable with the engine, so it can be
// encoded on another goroutine while the engine goes on. Window states
// are encoded here (they are live), but only those that changed since
// the last freeze; the others reuse their bytes.
func (e *partitionEngine) freeze(predOffset, outOffset int64) (*snapshot, error) {
	s := &snapshot{Version: snapshotVersion, PredOffset: predOffset, OutOffset: outOffset,
		MaxTS: e.maxTS, Watermark: e.watermark, Stats: e.stats, JoinStats: e.join.stats,
		Windows: make([]snapWindow, 0, len(e.windows))}
	for _, w := range e.windows {
		if w.dropped {
			continue // callers take results before snapshotting
		}
		if w.snap == nil {
			b, err := w.state.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("encoding window %s/%s@%d: %w", w.key.model, w.key.version, w.key.start, err)
			}
			w.snap = b
		}
		s.Windows = append(s.Windows, snapWindow{Model: w.key.model, Version: w.key.version, Start: w.key.start,
			BaselineID: w.baselineID, Closed: w.closed, Dirty: w.dirty, Late: w.late, Emitted: w.emitted, State: w.snap})
	}
	e.join.freezeInto(s)
	return s, nil
}

// encode is the snapshot's checkpoint bytes. Safe to call on any
// goroutine: a frozen snapshot is never written to.
func (s *snapshot) encode() ([]byte, error) { return s.appendEncoded(nil) }

// appendEncoded appends the snapshot's encoding to b.
func (s *snapshot) appendEncoded(b []byte) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	buf.Grow(s.sizeHint())
	if err := gob.NewEncoder(buf).Encode(s); err != nil {
		return nil, fmt.Errorf("encoding snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeSnapshot(b []byte) (*snapshot, error) {
	var s snapshot
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil {
		return nil, fmt.Errorf("decoding snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("snapshot version %d, want %d", s.Version, snapshotVersion)
	}
	return &s, nil
}

// sizeHint approximates the encoded size, so the buffer is sized once
// instead of doubling through megabytes of window state.
func (s *snapshot) sizeHint() int {
	n := 4096 + 64*(len(s.Preds)+len(s.Outs))
	for _, w := range s.Windows {
		n += len(w.State) + 128
	}
	for _, p := range s.Preds {
		n += len(p.ID)
	}
	for _, o := range s.Outs {
		n += len(o.ID)
	}
	return n
}

// restore replaces the engine's state with a snapshot and returns its
// next offsets. A window whose accumulator no longer restores (its
// baseline changed incompatibly between checkpoint and restore) is
// dropped and named in dropped, rather than failing the partition forever.
func (e *partitionEngine) restore(b []byte, now int64, jc JoinConfig) (predOffset, outOffset int64, dropped []string, err error) {
	s, err := decodeSnapshot(b)
	if err != nil {
		return 0, 0, nil, err
	}
	return e.restoreSnapshot(s, now, jc)
}

// restoreSnapshot is restore from a decoded snapshot; s must not be used
// afterwards (the engine keeps its window states).
func (e *partitionEngine) restoreSnapshot(s *snapshot, now int64, jc JoinConfig) (predOffset, outOffset int64, dropped []string, err error) {
	*e = *newPartitionEngine(e.p, jc, e.newState, now)
	e.maxTS, e.watermark, e.stats = s.MaxTS, s.Watermark, s.Stats
	for _, sw := range s.Windows {
		k := winKey{sw.Model, sw.Version, sw.Start}
		w := e.getWindow(k, true)
		if err := w.state.UnmarshalBinary(sw.State); err != nil {
			w.dropped = true // out of e.windows: see outcome
			delete(e.windows, k)
			dropped = append(dropped, fmt.Sprintf("%s/%s@%d: %v", k.model, k.version, k.start, err))
			continue
		}
		w.baselineID, w.closed, w.dirty, w.late, w.emitted = sw.BaselineID, sw.Closed, sw.Dirty, sw.Late, sw.Emitted
		w.snap = sw.State
	}
	if e.watermark != noTime {
		e.nextCheck = e.watermark // rescan once on the next advance
	}
	e.join.restore(s)
	return s.PredOffset, s.OutOffset, dropped, nil
}

// freezeInto copies the pending entries into s in queue order, so a
// restore queues them as they were. The ids are substrings of one copy
// of each arena: one allocation instead of one per entry.
func (j *joinStore) freezeInto(s *snapshot) {
	s.Preds = make([]snapPred, 0, j.preds.len())
	ids := string(j.preds.ids)
	for _, q := range j.preds.q.buf[j.preds.q.head:] {
		if sl := &j.preds.slots[q.slot]; sl.seq == q.seq {
			p := &sl.v
			s.Preds = append(s.Preds, snapPred{ID: ids[sl.off : sl.off+int(sl.n)], TS: p.ts, Model: p.model, Version: p.version,
				WinStart: p.winStart, Pred: p.pred, Score: p.score, HasScore: p.hasScore})
		}
	}
	s.Outs = make([]snapOut, 0, j.outs.len())
	ids = string(j.outs.ids)
	for _, q := range j.outs.q.buf[j.outs.q.head:] {
		if sl := &j.outs.slots[q.slot]; sl.seq == q.seq {
			o := &sl.v
			s.Outs = append(s.Outs, snapOut{ID: ids[sl.off : sl.off+int(sl.n)], Arrived: o.arrived, Model: o.model, Label: o.label})
		}
	}
}

// restore adds the pending entries of s, in their order, to an empty
// store and takes its counters; Entries and Bytes are recounted.
func (j *joinStore) restore(s *snapshot) {
	for _, p := range s.Preds {
		j.addPrediction(j.id([]byte(p.ID)), pendingPrediction{ts: p.TS, model: p.Model, version: p.Version,
			winStart: p.WinStart, pred: p.Pred, score: p.Score, hasScore: p.HasScore})
	}
	for _, o := range s.Outs {
		j.parkOutcome(j.id([]byte(o.ID)), waitingOutcome{arrived: o.Arrived, model: o.Model, label: o.Label})
	}
	st := j.stats
	j.stats = s.JoinStats
	j.stats.Entries, j.stats.Bytes = st.Entries, st.Bytes
}
