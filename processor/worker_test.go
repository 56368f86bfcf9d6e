package processor

import (
	"testing"
)

// TestOutcomeMayGo: an outcome batch ahead of the predictions in event time
// waits while predictions are on their way, and goes once they caught up
// or nothing more is coming.
func TestOutcomeMayGo(t *testing.T) {
	cfg := testEngineConfig()
	pred := &input{ch: make(chan *decodedBatch, 1), raw: make(chan *rawChunk, 1)}
	w := &worker{eng: newPartitionEngine(paramsFrom(&cfg), cfg.Join, countFactory, 0)}
	w.in[Prediction] = pred
	w.eng.maxTS = 1000
	batch := func(ts int64) *decodedBatch {
		b := &decodedBatch{kind: Outcome, items: make([]decodedMsg, 2)}
		b.items[0].err = &DecodeError{Reason: ReasonMalformedJSON} // rejects carry no time
		b.items[1].ev.TS = ts
		return b
	}
	pred.ch <- &decodedBatch{} // a prediction batch is on its way
	if !w.outcomeMayGo(batch(1000)) {
		t.Error("an outcome not later than the latest prediction should go")
	}
	if w.outcomeMayGo(batch(1001)) {
		t.Error("an outcome ahead of the predictions should wait while one is on its way")
	}
	<-pred.ch
	pred.raw <- &rawChunk{msgs: []fetched{{}}} // a raw chunk is on its way
	if w.outcomeMayGo(batch(1001)) {
		t.Error("an outcome ahead should wait while a raw chunk of predictions is on its way")
	}
	<-pred.raw
	pred.decoding.Store(true)
	if w.outcomeMayGo(batch(1001)) {
		t.Error("an outcome ahead should wait while the decoder holds predictions")
	}
	pred.decoding.Store(false)
	pred.fetching.Store(true)
	if w.outcomeMayGo(batch(1001)) {
		t.Error("an outcome ahead should wait while the reader holds predictions")
	}
	pred.fetching.Store(false)
	if !w.outcomeMayGo(batch(1001)) {
		t.Error("with no prediction on its way the outcome should go")
	}
	if !w.outcomeMayGo(&decodedBatch{items: make([]decodedMsg, 1)[:0]}) {
		t.Error("an empty batch should go")
	}
}
