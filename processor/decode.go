package processor

import (
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Reject reasons: a small, stable enum used in dead-letter headers and as a
// metric label.
const (
	ReasonOversize          = "oversize"
	ReasonMalformedJSON     = "malformed_json"
	ReasonInvalidUTF8       = "invalid_utf8"
	ReasonTooDeep           = "too_deep"
	ReasonDuplicateKey      = "duplicate_key"
	ReasonMissingField      = "missing_field"
	ReasonBadFieldType      = "bad_field_type"
	ReasonBadTimestamp      = "bad_timestamp"
	ReasonTooManyFeatures   = "too_many_features"
	ReasonBadFeatureValue   = "bad_feature_value"
	ReasonStringTooLong     = "string_too_long"
	ReasonUnsupportedSchema = "unsupported_schema"
	ReasonUnknownModel      = "unknown_model"
	ReasonBadLatency        = "bad_latency"
)

// DecodeError is why an event was rejected: Reason is the enum above,
// Detail names the field and quotes the offending input briefly.
type DecodeError struct {
	Reason string
	Detail string
}

func (e *DecodeError) Error() string { return e.Reason + ": " + e.Detail }

// Limits the decoder enforces.
const (
	maxDepth      = 32
	maxInterned   = 200_000
	minTimestamp  = 0                 // 1970-01-01
	maxTimestamp  = 7_258_118_400_000 // 2200-01-01
	maxEventIDLen = 256
)

// Decoder decodes v1 events with a hand-written scanner: encoding/json
// allocates per event for maps and strings, this does not once names and
// categories are interned (see BenchmarkDecode*). A Decoder is not safe for
// concurrent use; use one per partition.
type Decoder struct {
	limits  LimitsConfig
	models  map[string]struct{} // allow-list; nil = all
	ev      Event
	scratch []byte // unescaped strings
	idbuf   []byte
	// intern maps bytes to one shared string; gen marks the last event
	// that used the string as a feature name, so one lookup both interns
	// and detects a duplicate feature.
	intern map[string]*interned
	gen    uint32

	b     []byte
	i     int
	depth int
}

// NewDecoder returns a decoder enforcing limits; models, if not empty, is
// the allow-list of model names.
func NewDecoder(limits LimitsConfig, models []string) *Decoder {
	d := &Decoder{limits: limits, intern: make(map[string]*interned)}
	if len(models) > 0 {
		d.models = make(map[string]struct{}, len(models))
		for _, m := range models {
			d.models[m] = struct{}{}
		}
	}
	return d
}

// Decode parses msg as an event of kind. The returned event is valid until
// the next call. A rejected message returns a *DecodeError.
func (d *Decoder) Decode(kind EventKind, msg []byte) (*Event, error) {
	if len(msg) > d.limits.MaxMessageBytes {
		return nil, &DecodeError{ReasonOversize, strconv.Itoa(len(msg)) + " bytes > limits.max_message_bytes " + strconv.Itoa(d.limits.MaxMessageBytes)}
	}
	d.ev.reset(kind)
	d.b, d.i, d.depth = msg, 0, 0
	d.scratch = d.scratch[:0]
	d.gen++
	if d.gen == 0 { // wrapped: forget old generations
		for _, e := range d.intern {
			e.gen = 0
		}
		d.gen = 1
	}
	err := d.object()
	d.b = nil
	if err != nil {
		return nil, err
	}
	return &d.ev, nil
}

const (
	fEventID = 1 << iota
	fModel
	fVersion
	fTS
	fFeatures
	fPrediction
	fLabel
	fLatency
	fSegment
	fSchema
	fPredTS
)

func (d *Decoder) object() error {
	d.ws()
	if d.i >= len(d.b) {
		return malformed("empty message")
	}
	if d.b[d.i] != '{' {
		return malformed("event is not a JSON object")
	}
	d.i++
	var got uint32
	for first := true; ; first = false {
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' && first {
			d.i++
			break
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		if err := d.colon(); err != nil {
			return err
		}
		bit, err := d.field(key)
		if err != nil {
			return err
		}
		if bit != 0 {
			if got&bit != 0 {
				return &DecodeError{ReasonDuplicateKey, "duplicate top-level key " + quote(key)}
			}
			got |= bit
		}
		done, err := d.next('}')
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return malformed("data after the event object at byte " + strconv.Itoa(d.i))
	}
	return d.check(got)
}

func (d *Decoder) check(got uint32) error {
	missing := func(name string) error {
		return &DecodeError{ReasonMissingField, name + " is required in a " + d.ev.Kind.String()}
	}
	switch {
	case got&fEventID == 0:
		return missing("event_id")
	case got&fModel == 0:
		return missing("model")
	case got&fTS == 0:
		return missing("ts")
	}
	if d.ev.Kind == Prediction {
		switch {
		case got&fVersion == 0:
			return missing("model_version")
		case got&fFeatures == 0:
			return missing("features")
		case got&fPrediction == 0:
			return missing("prediction")
		}
	} else if got&fLabel == 0 {
		return missing("label")
	}
	if d.ev.Kind == Outcome && d.ev.HasPrediction && (!d.ev.HasPredictionTS || d.ev.Version == "") {
		return &DecodeError{ReasonMissingField, "an outcome carrying its prediction needs prediction_ts and model_version"}
	}
	if d.models != nil {
		if _, ok := d.models[d.ev.Model]; !ok {
			return &DecodeError{ReasonUnknownModel, "model " + strconv.Quote(d.ev.Model) + " is not in models"}
		}
	}
	return nil
}

func (d *Decoder) field(key []byte) (uint32, error) {
	e := &d.ev
	switch string(key) {
	case "event_id":
		b, err := d.nonEmptyString("event_id", maxEventIDLen)
		if err != nil {
			return 0, err
		}
		d.idbuf = append(d.idbuf[:0], b...)
		e.EventID = d.idbuf
		return fEventID, nil
	case "model":
		b, err := d.nonEmptyString("model", d.limits.MaxStringLen)
		e.Model = d.internBytes(b)
		return fModel, err
	case "model_version":
		b, err := d.nonEmptyString("model_version", d.limits.MaxStringLen)
		e.Version = d.internBytes(b)
		return fVersion, err
	case "ts":
		ts, err := d.timestamp("ts")
		e.TS = ts
		return fTS, err
	case "prediction_ts":
		ts, err := d.timestamp("prediction_ts")
		e.PredictionTS, e.HasPredictionTS = ts, err == nil
		return fPredTS, err
	case "features":
		if e.Kind != Prediction {
			return 0, d.skip()
		}
		return fFeatures, d.features()
	case "prediction":
		return fPrediction, d.prediction()
	case "label":
		if e.Kind != Outcome {
			return 0, d.skip()
		}
		v, err := d.scalar("label")
		if err == nil && v.Kind == Missing {
			err = &DecodeError{ReasonBadFieldType, "label must not be null"}
		}
		e.Label = v
		return fLabel, err
	case "latency_ms":
		v, err := d.scalar("latency_ms")
		if err != nil {
			return 0, err
		}
		if v.Kind != Number || v.Num < 0 || math.IsInf(v.Num, 0) {
			return 0, &DecodeError{ReasonBadLatency, "latency_ms must be a non-negative number"}
		}
		e.LatencyMS, e.HasLatency = v.Num, true
		return fLatency, nil
	case "segment":
		d.ws()
		if d.i < len(d.b) && d.b[d.i] != '{' && !d.lit("null") {
			return 0, &DecodeError{ReasonBadFieldType, "segment must be an object"}
		}
		return fSegment, d.skip()
	case "schema_version":
		v, err := d.scalar("schema_version")
		if err != nil {
			return 0, err
		}
		if v.Kind != Number || v.Num != 1 {
			return 0, &DecodeError{ReasonUnsupportedSchema, "schema_version must be 1"}
		}
		return fSchema, nil
	}
	return 0, d.skip() // unknown keys are allowed for forward compatibility
}

func (d *Decoder) nonEmptyString(field string, max int) ([]byte, error) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		if err := d.skip(); err != nil {
			return nil, err
		}
		return nil, &DecodeError{ReasonBadFieldType, field + " must be a string"}
	}
	b, err := d.str()
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, &DecodeError{ReasonMissingField, field + " must not be empty"}
	}
	if len(b) > max {
		return nil, &DecodeError{ReasonStringTooLong, field + " is " + strconv.Itoa(len(b)) + " bytes, limit " + strconv.Itoa(max)}
	}
	return b, nil
}

func (d *Decoder) timestamp(field string) (int64, error) {
	d.ws()
	if d.i >= len(d.b) {
		return 0, malformed("unexpected end in " + field)
	}
	var ms int64
	if d.b[d.i] == '"' {
		b, err := d.str()
		if err != nil {
			return 0, err
		}
		t, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(b), len(b)))
		if err != nil {
			return 0, &DecodeError{ReasonBadTimestamp, field + " " + quote(b) + " is not RFC 3339"}
		}
		ms = t.UnixMilli()
	} else {
		raw, err := d.number()
		if err != nil {
			return 0, &DecodeError{ReasonBadTimestamp, field + " must be an RFC 3339 string or epoch milliseconds"}
		}
		n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(raw), len(raw)), 10, 64)
		if err != nil {
			return 0, &DecodeError{ReasonBadTimestamp, field + " " + quote(raw) + " is not integer epoch milliseconds"}
		}
		ms = n
	}
	if ms < minTimestamp || ms >= maxTimestamp {
		return 0, &DecodeError{ReasonBadTimestamp, field + " is outside 1970..2200"}
	}
	return ms, nil
}

func (d *Decoder) features() error {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		if err := d.skip(); err != nil {
			return err
		}
		return &DecodeError{ReasonBadFieldType, "features must be an object"}
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		if len(d.ev.Features) >= d.limits.MaxFeatures {
			return &DecodeError{ReasonTooManyFeatures, "more than limits.max_features " + strconv.Itoa(d.limits.MaxFeatures)}
		}
		if len(key) == 0 {
			return &DecodeError{ReasonBadFeatureValue, "empty feature name"}
		}
		if len(key) > d.limits.MaxStringLen {
			return &DecodeError{ReasonStringTooLong, "feature name is " + strconv.Itoa(len(key)) + " bytes"}
		}
		e := d.internEntry(key)
		if e.gen == d.gen {
			return &DecodeError{ReasonDuplicateKey, "duplicate feature " + quote(key)}
		}
		e.gen = d.gen
		name := e.s
		if err := d.colon(); err != nil {
			return err
		}
		v, err := d.scalarIn("features.", name)
		if err != nil {
			if de, ok := err.(*DecodeError); ok && de.Reason == ReasonBadFieldType {
				de.Reason = ReasonBadFeatureValue
			}
			return err
		}
		d.ev.Features = append(d.ev.Features, Feature{Name: name, Value: v})
		done, err := d.next('}')
		if err != nil || done {
			return err
		}
	}
}

func (d *Decoder) prediction() error {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '{' {
		d.i++
		var got uint32
		for first := true; ; first = false {
			d.ws()
			if first && d.i < len(d.b) && d.b[d.i] == '}' {
				d.i++
				break
			}
			key, err := d.str()
			if err != nil {
				return err
			}
			if err := d.colon(); err != nil {
				return err
			}
			switch string(key) {
			case "label":
				if got&1 != 0 {
					return &DecodeError{ReasonDuplicateKey, "duplicate prediction.label"}
				}
				got |= 1
				v, err := d.scalar("prediction.label")
				if err != nil {
					return err
				}
				d.ev.Prediction, d.ev.HasPrediction = v, v.Kind != Missing
			case "score":
				if got&2 != 0 {
					return &DecodeError{ReasonDuplicateKey, "duplicate prediction.score"}
				}
				got |= 2
				v, err := d.scalar("prediction.score")
				if err != nil {
					return err
				}
				if v.Kind == String {
					return &DecodeError{ReasonBadFieldType, "prediction.score must be a number"}
				}
				if v.Kind == Number && !math.IsInf(v.Num, 0) {
					d.ev.Score, d.ev.HasScore = v.Num, true
				}
			default:
				if err := d.skip(); err != nil {
					return err
				}
			}
			done, err := d.next('}')
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
		if !d.ev.HasPrediction && d.ev.HasScore {
			d.ev.Prediction, d.ev.HasPrediction = Value{Kind: Number, Num: d.ev.Score}, true
		}
		return nil
	}
	v, err := d.scalar("prediction")
	d.ev.Prediction, d.ev.HasPrediction = v, v.Kind != Missing
	return err
}

// scalar reads a feature-like value: number, string, bool (as the string
// "true"/"false") or null. Objects and arrays are rejected.
func (d *Decoder) scalar(field string) (Value, error) { return d.scalarIn(field, "") }

// scalarIn names the field prefix+name in errors; the two parts are joined
// only on error so the hot path does not allocate.
func (d *Decoder) scalarIn(prefix, name string) (Value, error) {
	d.ws()
	if d.i >= len(d.b) {
		return Value{}, malformed("unexpected end in " + prefix + name)
	}
	switch c := d.b[d.i]; {
	case c == '"':
		b, err := d.str()
		if err != nil {
			return Value{}, err
		}
		if len(b) > d.limits.MaxStringLen {
			return Value{}, &DecodeError{ReasonStringTooLong, prefix + name + " is " + strconv.Itoa(len(b)) + " bytes, limit " + strconv.Itoa(d.limits.MaxStringLen)}
		}
		return Value{Kind: String, Str: d.internBytes(b)}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		raw, err := d.number()
		if err != nil {
			return Value{}, err
		}
		f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(raw), len(raw)), 64)
		if err != nil && !math.IsInf(f, 0) {
			return Value{}, malformed("bad number " + quote(raw))
		}
		if math.IsInf(f, 0) {
			return Value{}, &DecodeError{ReasonBadFieldType, prefix + name + " " + quote(raw) + " overflows float64"}
		}
		return Value{Kind: Number, Num: f}, nil
	case d.lit("null"):
		d.i += 4
		return Value{}, nil
	case d.lit("true"):
		d.i += 4
		return Value{Kind: String, Str: "true"}, nil
	case d.lit("false"):
		d.i += 5
		return Value{Kind: String, Str: "false"}, nil
	case c == '{' || c == '[':
		if err := d.skip(); err != nil {
			return Value{}, err
		}
		return Value{}, &DecodeError{ReasonBadFieldType, prefix + name + " must be a number, string, boolean or null"}
	}
	return Value{}, malformed("unexpected " + quote(d.b[d.i:d.i+1]) + " in " + prefix + name)
}

type interned struct {
	s   string
	gen uint32
}

func (d *Decoder) internBytes(b []byte) string { return d.internEntry(b).s }

func (d *Decoder) internEntry(b []byte) *interned {
	if e, ok := d.intern[string(b)]; ok {
		return e
	}
	e := &interned{s: string(b)}
	if len(d.intern) < maxInterned {
		d.intern[e.s] = e
	}
	return e
}

// --- lexical layer ---

func malformed(detail string) error { return &DecodeError{ReasonMalformedJSON, detail} }

func quote(b []byte) string {
	if len(b) > 40 {
		return strconv.QuoteToASCII(string(b[:40])) + "…"
	}
	return strconv.QuoteToASCII(string(b))
}

func (d *Decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *Decoder) lit(s string) bool {
	return len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s
}

func (d *Decoder) colon() error {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return malformed("expected ':' at byte " + strconv.Itoa(d.i))
	}
	d.i++
	return nil
}

// next consumes ',' (more members follow) or the closing byte (done).
func (d *Decoder) next(closing byte) (done bool, err error) {
	d.ws()
	if d.i >= len(d.b) {
		return false, malformed("unexpected end of input")
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		d.ws()
		return false, nil
	case closing:
		d.i++
		return true, nil
	}
	return false, malformed("expected ',' or '" + string(closing) + "' at byte " + strconv.Itoa(d.i))
}

// str reads a JSON string and returns its content, unescaped. The bytes
// alias the message or the scratch buffer; valid until the next Decode.
func (d *Decoder) str() ([]byte, error) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, malformed("expected a string at byte " + strconv.Itoa(d.i))
	}
	d.i++
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil, &DecodeError{ReasonInvalidUTF8, "string at byte " + strconv.Itoa(start) + " is not valid UTF-8"}
			}
			return s, nil
		case c == '\\':
			return d.strEscaped(start)
		case c < 0x20:
			return nil, malformed("control character in string at byte " + strconv.Itoa(d.i))
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
	return nil, malformed("unterminated string")
}

func (d *Decoder) strEscaped(start int) ([]byte, error) {
	out := len(d.scratch)
	d.scratch = append(d.scratch, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			s := d.scratch[out:]
			if !utf8.Valid(s) {
				return nil, &DecodeError{ReasonInvalidUTF8, "string at byte " + strconv.Itoa(start) + " is not valid UTF-8"}
			}
			return s, nil
		case c < 0x20:
			return nil, malformed("control character in string at byte " + strconv.Itoa(d.i))
		case c != '\\':
			d.scratch = append(d.scratch, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return nil, malformed("unterminated escape")
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			d.scratch = append(d.scratch, e)
		case 'b':
			d.scratch = append(d.scratch, '\b')
		case 'f':
			d.scratch = append(d.scratch, '\f')
		case 'n':
			d.scratch = append(d.scratch, '\n')
		case 'r':
			d.scratch = append(d.scratch, '\r')
		case 't':
			d.scratch = append(d.scratch, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, malformed("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.lit(`\u`) {
					d.i += 2
					if r2, ok = d.hex4(); !ok {
						return nil, malformed("bad \\u escape")
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
				} else {
					r = utf8.RuneError
					if r2 >= 0 {
						d.scratch = utf8.AppendRune(d.scratch, utf8.RuneError)
						r = r2
						if utf16.IsSurrogate(r2) {
							r = utf8.RuneError
						}
					}
				}
			}
			d.scratch = utf8.AppendRune(d.scratch, r)
		default:
			return nil, malformed("bad escape \\" + string(rune(e)))
		}
	}
	return nil, malformed("unterminated string")
}

func (d *Decoder) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// number scans a JSON number per RFC 8259 and returns its bytes.
func (d *Decoder) number() ([]byte, error) {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	if d.i >= len(d.b) {
		return nil, malformed("bad number")
	}
	if d.b[d.i] == '0' {
		d.i++
	} else if !d.digits() {
		return nil, malformed("bad number at byte " + strconv.Itoa(start))
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if !d.digits() {
			return nil, malformed("bad number at byte " + strconv.Itoa(start))
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if !d.digits() {
			return nil, malformed("bad number at byte " + strconv.Itoa(start))
		}
	}
	return d.b[start:d.i], nil
}

func (d *Decoder) digits() bool {
	s := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > s
}

// skip consumes any JSON value, validating it, up to maxDepth nesting.
func (d *Decoder) skip() error {
	d.ws()
	if d.i >= len(d.b) {
		return malformed("unexpected end of input")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := d.number()
		return err
	case d.lit("null"), d.lit("true"):
		d.i += 4
		return nil
	case d.lit("false"):
		d.i += 5
		return nil
	case c == '{' || c == '[':
		d.depth++
		if d.depth > maxDepth {
			return &DecodeError{ReasonTooDeep, "nesting deeper than " + strconv.Itoa(maxDepth)}
		}
		defer func() { d.depth-- }()
		d.i++
		d.ws()
		closing := byte(']')
		if c == '{' {
			closing = '}'
		}
		if d.i < len(d.b) && d.b[d.i] == closing {
			d.i++
			return nil
		}
		for {
			if c == '{' {
				if _, err := d.str(); err != nil {
					return err
				}
				if err := d.colon(); err != nil {
					return err
				}
			}
			if err := d.skip(); err != nil {
				return err
			}
			done, err := d.next(closing)
			if err != nil || done {
				return err
			}
		}
	}
	return malformed("unexpected " + quote(d.b[d.i:d.i+1]) + " at byte " + strconv.Itoa(d.i))
}
