package processor

import "context"

// Sink receives window results: the ClickHouse writer, the alert engine.
//
// Contract: the processor calls WriteWindows from one goroutine at a time
// (never concurrently, across all partitions), with a non-empty batch
// sorted by model, version, window start, span. Several sinks are called in
// the order given to Run; a batch reaches the next sink only after the
// previous one accepted it. A nil return means the results are durable:
// the offsets they derive from may then be committed. An error makes the
// processor retry the same batch with backoff, and fetching stops
// meanwhile (back-pressure). The same (window, revision) may be delivered
// again after a retry or a crash, with identical content; keep the highest
// Revision per WindowID. The sink may keep the results (the processor does
// not reuse them) but must not modify them: every sink sees the same
// values.
type Sink interface {
	WriteWindows(ctx context.Context, results []WindowResult) error
}

// RejectSink receives counts of events rejected to the dead-letter topic.
//
// Called like Sink.WriteWindows (one goroutine at a time, retried on
// error). Counts are additive: one (minute, topic, reason) may arrive in
// several parts (from several partitions or flushes), so sum them. Delivery
// is at least once: after a crash a replay may count a reject again.
type RejectSink interface {
	WriteRejects(ctx context.Context, stats []RejectStat) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, results []WindowResult) error

// WriteWindows calls f.
func (f SinkFunc) WriteWindows(ctx context.Context, results []WindowResult) error {
	return f(ctx, results)
}
