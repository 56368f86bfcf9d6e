package processor

import (
	"math"
	"math/bits"
	"strconv"
	"time"
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
	ev      *Event              // the event being decoded
	own     Event               // the event Decode returns
	scratch []byte              // unescaped strings
	// intern maps bytes to one shared string; gen marks the last event
	// that used the string as a feature name, so one lookup both interns
	// and detects a duplicate feature.
	intern      map[string]*interned
	maxInterned int // maxInterned, lowered by tests
	gen         uint32
	// Events of one model carry the same keys in the same order: byPos[i]
	// is the name seen last at feature position i, compared before the
	// map is asked. model and version remember the last ones seen.
	byPos          []*interned
	model, version string
	// modelTok and versionTok are model and version as the message
	// writes them, '"', s, '"', when they are plain (else zero): equal
	// input bytes are the same string, so they need no scan or compare.
	modelTok, versionTok token
	// top[k] is 1 + the index in topNames of the key last seen k-th
	// in the event, written plain with the colon right after it; 0 for
	// none. Events of one producer carry their keys in one order.
	top [16]uint8
	// tsLo and tsHi are the first 16 bytes of the last timestamp read
	// the fast way, YYYY-MM-DDTHH:MM, and tsMinute that minute in Unix
	// milliseconds, once tsKept.
	tsLo, tsHi uint64
	tsMinute   int64
	tsKept     bool
	// allowed is the last model found in models.
	allowed     string
	valueCaches int // value caches made, bounded by maxValueCaches
	// scalars caches the short string values of labels and predictions.
	scalars interned

	b     []byte
	i     int
	depth int
}

// NewDecoder returns a decoder enforcing limits; models, if not empty, is
// the allow-list of model names.
func NewDecoder(limits LimitsConfig, models []string) *Decoder {
	d := &Decoder{limits: limits, intern: make(map[string]*interned), maxInterned: maxInterned}
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
	if err := d.DecodeTo(kind, msg, &d.own); err != nil {
		return nil, err
	}
	return &d.own, nil
}

// DecodeTo is Decode into ev, reusing ev's Features and EventID buffers, so
// a caller keeping events does not copy them out of the decoder. ev shares
// no buffer with the decoder or msg. After an error ev holds a partial
// event.
func (d *Decoder) DecodeTo(kind EventKind, msg []byte, ev *Event) error {
	if len(msg) > d.limits.MaxMessageBytes {
		return &DecodeError{ReasonOversize, strconv.Itoa(len(msg)) + " bytes > limits.max_message_bytes " + strconv.Itoa(d.limits.MaxMessageBytes)}
	}
	ev.reset(kind)
	d.ev = ev
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
	d.b, d.ev = nil, nil
	return err
}

// The top-level fields: fEventID is bit 0 and topNames[0], and so on.
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

var topNames = [...]string{"event_id", "model", "model_version", "ts", "features", "prediction",
	"label", "latency_ms", "segment", "schema_version", "prediction_ts"}

// topTokens are the key tokens '"', name, '":' of topNames.
var topTokens = func() (t [len(topNames)]token) {
	for i, n := range topNames {
		t[i] = makeToken(`"` + n + `":`)
	}
	return t
}()

var (
	labelToken = makeToken(`"label":`)
	scoreToken = makeToken(`"score":`)
)

// topField is the bit of a top-level key, 0 for an unknown one.
func topField(key []byte) uint32 {
	for i, n := range topNames {
		if n == string(key) {
			return 1 << i
		}
	}
	return 0
}

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
	for k := 0; ; k++ {
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' && k == 0 {
			d.i++
			break
		}
		// The key seen k-th last time, if the input holds its token
		// here, is what str and colon would read; else they read it.
		var bit uint32
		if t := int(d.top[k&15]) - 1; k < len(d.top) && t >= 0 && topTokens[t].at(d.b, d.i) {
			d.i += len(topTokens[t].s)
			bit = 1 << t
		} else {
			start := d.i
			key, err := d.str()
			if err != nil {
				return err
			}
			if err := d.colon(); err != nil {
				return err
			}
			bit = topField(key)
			if k < len(d.top) {
				d.top[k] = 0
				if t := bits.TrailingZeros32(bit); bit != 0 && d.i-start == len(topTokens[t].s) && topTokens[t].at(d.b, start) {
					d.top[k] = uint8(t + 1)
				}
			}
		}
		bit, err := d.field(bit)
		if err != nil {
			return err
		}
		if bit != 0 {
			if got&bit != 0 {
				return &DecodeError{ReasonDuplicateKey, "duplicate top-level key " + quote([]byte(topNames[bits.TrailingZeros32(bit)]))}
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
	if d.models != nil && d.ev.Model != d.allowed {
		if _, ok := d.models[d.ev.Model]; !ok {
			return &DecodeError{ReasonUnknownModel, "model " + strconv.Quote(d.ev.Model) + " is not in models"}
		}
		d.allowed = d.ev.Model
	}
	return nil
}

// field reads the value of the top-level field bit (0: an unknown key)
// and returns the bit to check for a duplicate, 0 for none.
func (d *Decoder) field(bit uint32) (uint32, error) {
	e := d.ev
	switch bit {
	case fEventID:
		b, err := d.nonEmptyString("event_id", maxEventIDLen)
		if err != nil {
			return 0, err
		}
		e.EventID = append(e.EventID[:0], b...)
		return fEventID, nil
	case fModel:
		err := d.repeatedString("model", &d.model, &d.modelTok)
		e.Model = d.model
		return fModel, err
	case fVersion:
		err := d.repeatedString("model_version", &d.version, &d.versionTok)
		e.Version = d.version
		return fVersion, err
	case fTS:
		ts, err := d.timestamp("ts")
		e.TS = ts
		return fTS, err
	case fPredTS:
		ts, err := d.timestamp("prediction_ts")
		e.PredictionTS, e.HasPredictionTS = ts, err == nil
		return fPredTS, err
	case fFeatures:
		if e.Kind != Prediction {
			return 0, d.skip()
		}
		return fFeatures, d.features()
	case fPrediction:
		return fPrediction, d.prediction()
	case fLabel:
		if e.Kind != Outcome {
			return 0, d.skip()
		}
		v, err := d.scalar("label")
		if err == nil && v.Kind == Missing {
			err = &DecodeError{ReasonBadFieldType, "label must not be null"}
		}
		e.Label = v
		return fLabel, err
	case fLatency:
		v, err := d.scalar("latency_ms")
		if err != nil {
			return 0, err
		}
		if v.Kind != Number || v.Num < 0 || math.IsInf(v.Num, 0) {
			return 0, &DecodeError{ReasonBadLatency, "latency_ms must be a non-negative number"}
		}
		e.LatencyMS, e.HasLatency = v.Num, true
		return fLatency, nil
	case fSegment:
		d.ws()
		if d.i < len(d.b) && d.b[d.i] != '{' && !d.lit("null") {
			return 0, &DecodeError{ReasonBadFieldType, "segment must be an object"}
		}
		return fSegment, d.skip()
	case fSchema:
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

// repeatedString reads the non-empty string field into *last, interning
// it only when it differs from *last: consecutive events of a partition
// mostly repeat the model and version. tok is *last as a plain string
// token, or zero.
func (d *Decoder) repeatedString(field string, last *string, tok *token) error {
	if tok.s != "" && tok.at(d.b, d.i) {
		d.i += len(tok.s)
		return nil
	}
	b, err := d.nonEmptyString(field, d.limits.MaxStringLen)
	if err != nil {
		return err
	}
	if string(b) != *last {
		e := d.internEntry(b)
		*last, *tok = e.s, token{}
		if e.plain && len(e.s) <= 64 {
			*tok = makeToken(`"` + e.s + `"`)
		}
	}
	return nil
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
		var ok bool
		if ms, ok = d.tsMilli(b); !ok {
			t, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(b), len(b)))
			if err != nil {
				return 0, &DecodeError{ReasonBadTimestamp, field + " " + quote(b) + " is not RFC 3339"}
			}
			ms = t.UnixMilli()
		}
	} else {
		raw, _, _, err := d.number()
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
		if d.featureRun() {
			return nil
		}
		e, err := d.featureName()
		if err != nil {
			return err
		}
		if e.gen == d.gen {
			return &DecodeError{ReasonDuplicateKey, "duplicate feature " + quote([]byte(e.s))}
		}
		e.gen = d.gen
		if d.i < len(d.b) && d.b[d.i] == ':' {
			d.i++
		} else if err := d.colon(); err != nil {
			return err
		}
		v, err := d.featureValue(e)
		if err != nil {
			if de, ok := err.(*DecodeError); ok && de.Reason == ReasonBadFieldType {
				de.Reason = ReasonBadFeatureValue
			}
			return err
		}
		d.addFeature(e.s, v)
		if d.i < len(d.b) && d.b[d.i] == ',' {
			d.i++ // featureName skips the whitespace after it
			continue
		}
		done, err := d.next('}')
		if err != nil || done {
			return err
		}
	}
}

// addFeature appends a feature storing its fields one by one: appending a
// Feature literal builds it on the stack with 8-byte stores and copies it
// with 16-byte loads, which the CPU cannot forward from those stores, and
// that stall cost more than any other line of the decoder.
func (d *Decoder) addFeature(name string, v Value) {
	fs := d.ev.Features
	if len(fs) < cap(fs) {
		fs = fs[:len(fs)+1]
	} else {
		fs = append(fs, Feature{})
	}
	f := &fs[len(fs)-1]
	f.Name = name
	f.Value.Kind, f.Value.Num, f.Value.Str = v.Kind, v.Num, v.Str
	d.ev.Features = fs
}

// featureRun reads from d.i the commonest features one after another:
// the name seen at this position before, written plain with the colon
// right after it (its key token), then an exact decimal (see number) or a
// string of plain bytes, then ',' or '}', all with no whitespace. It stops
// before the first feature that is anything else, which the general way
// then reads and finds what is wrong with it, or its value by the slower
// paths; a duplicate name stops it too, so that the general way reports
// it. done is true when it read the closing '}'. It keeps the input, the
// position and the features in locals: a loop storing them in d reloads
// them for every feature.
func (d *Decoder) featureRun() (done bool) {
	b, i, fs := d.b, d.i, d.ev.Features
	pos := d.byPos[:min(len(d.byPos), d.limits.MaxFeatures)]
	gen, maxStr := d.gen, d.limits.MaxStringLen
	for p := len(fs); p < len(pos); p++ {
		e := pos[p]
		if e == nil || e.key == nil || e.gen == gen || !e.key.at(b, i) {
			break
		}
		j := i + len(e.key.s)
		if j >= len(b) {
			break
		}
		var str string
		var num float64
		kind := String
		if b[j] == '"' {
			j++
			s := j
			for j < len(b) && strPlain[b[j]] {
				j++
			}
			if j+1 >= len(b) || b[j] != '"' || (b[j+1] != ',' && b[j+1] != '}') || j-s > maxStr {
				break
			}
			str = d.internValue(e, b[s:j])
			j++
		} else {
			// The commonest number, (0|[1-9][0-9]*)(\.[0-9]+)? of at
			// most 15 digits, read here: calling scanDecimal and
			// exactDecimal and passing a decimal back cost more than
			// the scan. Under 10^15 < 2^53 its digits are exact in
			// float64, so the division is exactDecimal's, and rounds
			// correctly.
			k, m, frac := j, uint64(0), 0
			if c := b[k]; c-'1' < 9 {
				for k < len(b) && b[k]-'0' < 10 {
					m = m*10 + uint64(b[k]-'0')
					k++
				}
			} else if c == '0' {
				k++
			}
			if k < len(b) && b[k] == '.' && k > j {
				k++
				s := k
				for k < len(b) && b[k]-'0' < 10 {
					m = m*10 + uint64(b[k]-'0')
					k++
				}
				if frac = k - s; frac == 0 {
					k = j // not a number: the general scan reports it
				}
			}
			if k > j && k-j-min(frac, 1) <= 15 && k < len(b) && (b[k] == ',' || b[k] == '}') {
				num = float64(m) / pow10[frac]
			} else {
				x, k2, ok := scanDecimal(b, j)
				if !ok || k2 >= len(b) || (b[k2] != ',' && b[k2] != '}') {
					break
				}
				if num, ok = x.exact(); !ok {
					break
				}
				k = k2
			}
			kind, j = Number, k
		}
		e.gen = gen
		// Fields one by one, for the reason addFeature gives.
		if len(fs) < cap(fs) {
			fs = fs[:len(fs)+1]
		} else {
			fs = append(fs, Feature{})
		}
		f := &fs[len(fs)-1]
		f.Name = e.s
		f.Value.Kind, f.Value.Num, f.Value.Str = kind, num, str
		i = j + 1
		if b[j] == '}' {
			done = true
			break
		}
	}
	d.i, d.ev.Features = i, fs
	return done
}

// featureName reads and interns the name of the next feature. Events of
// one model carry the same names in the same order, so it first tries the
// name seen at this position before: when that name is plain ASCII (see
// strPlain), the message holding exactly '"', name, '"' is that string.
func (d *Decoder) featureName() (*interned, error) {
	p := len(d.ev.Features)
	d.ws()
	if p < len(d.byPos) {
		if e := d.byPos[p]; e != nil && e.plain {
			if end := d.i + 1 + len(e.s); end < len(d.b) && d.b[d.i] == '"' && d.b[end] == '"' && string(d.b[d.i+1:end]) == e.s {
				if p >= d.limits.MaxFeatures {
					return nil, &DecodeError{ReasonTooManyFeatures, "more than limits.max_features " + strconv.Itoa(d.limits.MaxFeatures)}
				}
				d.i = end + 1
				return e, nil
			}
		}
	}
	key, err := d.str()
	if err != nil {
		return nil, err
	}
	if p >= d.limits.MaxFeatures {
		return nil, &DecodeError{ReasonTooManyFeatures, "more than limits.max_features " + strconv.Itoa(d.limits.MaxFeatures)}
	}
	if len(key) == 0 {
		return nil, &DecodeError{ReasonBadFeatureValue, "empty feature name"}
	}
	if len(key) > d.limits.MaxStringLen {
		return nil, &DecodeError{ReasonStringTooLong, "feature name is " + strconv.Itoa(len(key)) + " bytes"}
	}
	if p >= len(d.byPos) {
		// p < limits.max_features, so byPos stays bounded.
		d.byPos = append(d.byPos, make([]*interned, p+1-len(d.byPos))...)
	}
	e := d.byPos[p]
	if e == nil || e.s != string(key) {
		e = d.internEntry(key)
		if e.transient {
			return e, d.duplicateOf(e.s)
		}
		if e.plain && e.key == nil {
			t := makeToken(`"` + e.s + `":`)
			e.key = &t
		}
		d.byPos[p] = e
	}
	return e, nil
}

// duplicateOf finds a duplicate of a feature whose entry is transient by
// looking through the event's features; only input that filled the
// intern map comes here.
func (d *Decoder) duplicateOf(name string) error {
	for _, f := range d.ev.Features {
		if f.Name == name {
			return &DecodeError{ReasonDuplicateKey, "duplicate feature " + quote([]byte(name))}
		}
	}
	return nil
}

// featureValue reads the value of feature e: numbers and short strings
// take the fast paths, the rest goes through scalarIn.
func (d *Decoder) featureValue(e *interned) (Value, error) {
	d.ws()
	if d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			b, err := d.str()
			if err != nil {
				return Value{}, err
			}
			if len(b) > d.limits.MaxStringLen {
				return Value{}, &DecodeError{ReasonStringTooLong, "features." + e.s + " is " + strconv.Itoa(len(b)) + " bytes, limit " + strconv.Itoa(d.limits.MaxStringLen)}
			}
			return Value{Kind: String, Str: d.internValue(e, b)}, nil
		case c == '-' || c-'0' < 10:
			f, err := d.float("features.", e.s)
			return Value{Kind: Number, Num: f}, err
		}
	}
	return d.scalarIn("features.", e.s)
}

// float reads a number at d.i as float64; prefix+name is the field for
// errors.
func (d *Decoder) float(prefix, name string) (float64, error) {
	raw, f, exact, err := d.number()
	if err != nil || exact {
		return f, err
	}
	f, err = strconv.ParseFloat(unsafe.String(unsafe.SliceData(raw), len(raw)), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, malformed("bad number " + quote(raw))
	}
	if math.IsInf(f, 0) {
		return 0, &DecodeError{ReasonBadFieldType, prefix + name + " " + quote(raw) + " overflows float64"}
	}
	return f, nil
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
			// The two keys as producers write them are what str and
			// colon would read.
			var key string
			if labelToken.at(d.b, d.i) {
				key, d.i = "label", d.i+len(labelToken.s)
			} else if scoreToken.at(d.b, d.i) {
				key, d.i = "score", d.i+len(scoreToken.s)
			} else {
				b, err := d.str()
				if err != nil {
					return err
				}
				if err := d.colon(); err != nil {
					return err
				}
				key = unsafe.String(unsafe.SliceData(b), len(b))
			}
			switch key {
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
		return Value{Kind: String, Str: d.internValue(&d.scalars, b)}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		f, err := d.float(prefix, name)
		return Value{Kind: Number, Num: f}, err
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
