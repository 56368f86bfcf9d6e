package processor

import "github.com/driftd/driftd/stats"

// ValueKind tells what a feature, prediction or label value holds.
type ValueKind = stats.ValueKind

// Value kinds. A JSON null is Missing.
const (
	Missing = stats.Missing
	Number  = stats.Number
	String  = stats.String
)

// Value is one feature, prediction or label value of an event: the
// accumulators' own type, so events reach them without a conversion per
// value.
type Value = stats.Value

// EventKind says which topic schema an event follows.
type EventKind uint8

// Event kinds.
const (
	Prediction EventKind = iota + 1
	Outcome
)

func (k EventKind) String() string {
	switch k {
	case Prediction:
		return "prediction"
	case Outcome:
		return "outcome"
	}
	return "unknown"
}

// Feature is one named feature value; Name is interned.
type Feature struct {
	Name  string
	Value Value
}

// Event is a decoded v1 event. It is owned by the Decoder and valid until
// the next Decode: EventID aliases the decoder's buffers (copy it to keep
// it), Features is reused. Model, Version, feature names and string values
// are interned and may be kept.
type Event struct {
	Kind    EventKind
	EventID []byte
	Model   string
	Version string // may be "" on an outcome
	TS      int64  // event time, Unix milliseconds

	Features []Feature // predictions only

	// Prediction is the model's output: a label (String) or a number. An
	// outcome may carry it too, so it can be joined without waiting.
	Prediction    Value
	HasPrediction bool
	Score         float64
	HasScore      bool
	// PredictionTS is the carried prediction's event time (outcomes).
	PredictionTS    int64
	HasPredictionTS bool

	Label Value // outcomes: the true target

	LatencyMS  float64
	HasLatency bool
}

// reset empties e for a new event of kind, keeping its buffers. It zeroes
// e in place and then stores the three fields: assigning a literal with
// them built it on the stack with 8-byte stores and copied it with 16-byte
// loads, which the CPU cannot forward from those stores, and that stall
// was a tenth of an outcome's decode.
func (e *Event) reset(kind EventKind) {
	feats, id := e.Features[:0], e.EventID[:0]
	*e = Event{}
	e.Kind, e.Features, e.EventID = kind, feats, id
}
