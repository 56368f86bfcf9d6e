// Design notes (processor/)
//
// File map:
//
//	config.go          engine config, defaults, Validate (every problem with its key path), Secret
//	event.go decode.go v1 events and the zero-allocation scanner; reject reasons
//	decode_lex.go decode_num.go decode_intern.go
//	                   the scanner's fast paths (string classes, exact decimals, RFC 3339, interning)
//	fetch.go           partitionReader: a partition read straight from kafka-go Conn/Batch
//	join.go            bounded pending-join store (entries and bytes, evict oldest, expiry)
//	window.go          partitionEngine: watermark, tumbling windows, lateness, rolling views, revisions
//	snapshot.go        partition state <-> bytes (gob; accumulators via MarshalBinary)
//	state.go           windowState (what the engine needs of an accumulator; state_stats.go adapts stats)
//	state_stats.go     stats.WindowAccumulator behind windowState
//	checkpoint.go      changelog: incremental checkpoints (a segment per window, body, root), restore
//	kafka.go           dialer/transport (TLS, SASL), fetch read buffers, co-partitioning check, EnsureTopics
//	run.go worker.go   Run, the consumer-group generation loop, one worker per partition pair
//	sink.go            Sink and RejectSink contracts
//	admin.go metrics.go /metrics /healthz /readyz pprof; Prometheus metrics
//
// Invariants:
//
//   - One goroutine owns a partition pair (predictions p, outcomes p): its
//     engine and join store are never shared. Each topic of the pair is
//     fetched on one goroutine and decoded on another (in offset order),
//     which hand the worker batches of owned events
//     (outcomes wait while they are ahead of the predictions in event time
//     and predictions are on their way, so the cheap topic cannot run
//     ahead and fill the join store);
//     a flush is written on another goroutine from a frozen copy (results,
//     snapshot, offsets taken at one instant) while the worker goes on. Range assignment gives
//     partition p of both topics to the same member; start-up refuses topics
//     with different partition counts, and a generation that assigns one
//     without the other.
//   - A checkpoint holds the engine state together with the next offsets of
//     both topics. Restore resumes from those offsets, not the group's
//     committed ones, so state and input position can never disagree; the
//     group commit (same offsets) only reports progress and lag.
//   - Flush order: dead letters, then sinks in order, then reject stats,
//     then the checkpoint, then the commit; one flush is written at a
//     time, so epochs and results stay in order. A crash anywhere replays from
//     the previous checkpoint, so results are delivered at least once.
//   - Replays do not double-count because every emission is a pure function
//     of the input: window identity is (model, version, start, span) with
//     starts aligned to the epoch, and Revision = 1 + labels + late events
//     (a rolling view sums its windows'). Revisions only grow with content,
//     so whatever a crashed run wrote is outranked by the complete result.
//     Determinism needs per-partition event order (Kafka's) and joins that
//     do not depend on the interleaving of the two topics: label_horizon and
//     outcome_wait must exceed the consumer skew between them. Idle-timeout
//     advance is processing-time driven and is the one non-replayable input.
//   - The watermark is per partition: max prediction event time minus
//     allowed lateness. A window closes when the watermark passes its end, is
//     kept (for late labels and rolling views) for label_horizon + lateness +
//     K windows, then dropped after a last emission.
//   - kafka-go ends a generation only after every worker returned; a worker
//     checkpoints on the way out, so the next owner restores the latest state.
//   - A checkpoint rewrites only the windows whose encoded state changed;
//     every segment alternates between two slots and the root is written
//     last, so a crash anywhere leaves the previous checkpoint whole.
//   - Every produce request stays under the broker's 1 MiB default: the
//     changelog writes 256 KiB chunks, dead letters keep at most 512 KiB of
//     the original message.

package processor
