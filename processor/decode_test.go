package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func testLimits() LimitsConfig { return DefaultConfig().Limits }

// corpusFile splits "reason--what.kind.json" into its parts.
func corpusFile(t testing.TB, name string) (reason string, kind EventKind) {
	base := strings.TrimSuffix(name, ".json")
	switch {
	case strings.HasSuffix(base, ".prediction"):
		kind = Prediction
	case strings.HasSuffix(base, ".outcome"):
		kind = Outcome
	default:
		t.Fatalf("%s: name must end in .prediction.json or .outcome.json", name)
	}
	reason, _, _ = strings.Cut(base, "--")
	return reason, kind
}

func TestDecodeBadCorpus(t *testing.T) {
	files, err := filepath.Glob("../testdata/events/bad/*.json")
	if err != nil || len(files) < 25 {
		t.Fatalf("want >= 25 bad inputs, got %d (%v)", len(files), err)
	}
	d := NewDecoder(testLimits(), []string{"fraud", "churn"})
	reasons := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		want, kind := corpusFile(t, name)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Decode(kind, b)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: want reject %s, got %v", name, want, err)
			continue
		}
		if de.Reason != want {
			t.Errorf("%s: reason %s (%s), want %s", name, de.Reason, de.Detail, want)
		}
		reasons[de.Reason] = true
	}
	if len(reasons) < 12 {
		t.Errorf("corpus covers only %d reasons", len(reasons))
	}
}

func TestDecodeGoodCorpus(t *testing.T) {
	files, _ := filepath.Glob("../testdata/events/good/*.json")
	if len(files) < 10 {
		t.Fatalf("want >= 10 good inputs, got %d", len(files))
	}
	d := NewDecoder(testLimits(), nil)
	for _, f := range files {
		_, kind := corpusFile(t, filepath.Base(f))
		b, _ := os.ReadFile(f)
		ev, err := d.Decode(kind, b)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if ev.Model != "fraud" || len(ev.EventID) == 0 || ev.TS <= 0 {
			t.Errorf("%s: decoded %+v", filepath.Base(f), ev)
		}
	}
}

func TestDecodeFields(t *testing.T) {
	d := NewDecoder(testLimits(), nil)
	ev, err := d.Decode(Prediction, []byte(`{"event_id":"b1","model":"fraud","model_version":"v3",
		"ts":"2026-11-23T10:00:00.123Z","latency_ms":12,
		"features":{"amount":129.5,"country":"D\u00c9","age":null,"vip":true},
		"prediction":{"label":"1","score":0.87},"segment":{"channel":"web"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.EventID) != "b1" || ev.Model != "fraud" || ev.Version != "v3" || ev.TS != 1795428000123 {
		t.Fatalf("header: %+v", ev)
	}
	want := []Feature{{"amount", Value{Kind: Number, Num: 129.5}}, {"country", Value{Kind: String, Str: "DÉ"}},
		{"age", Value{}}, {"vip", Value{Kind: String, Str: "true"}}}
	if len(ev.Features) != len(want) {
		t.Fatalf("features %+v", ev.Features)
	}
	for i := range want {
		if ev.Features[i] != want[i] {
			t.Errorf("feature %d = %+v, want %+v", i, ev.Features[i], want[i])
		}
	}
	if ev.Prediction != (Value{Kind: String, Str: "1"}) || !ev.HasScore || ev.Score != 0.87 || !ev.HasLatency || ev.LatencyMS != 12 {
		t.Errorf("prediction/latency: %+v", ev)
	}
	ev, err = d.Decode(Outcome, []byte(`{"event_id":"b1","model":"fraud","ts":1795428000000,"label":2.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.TS != 1795428000000 || ev.Label != (Value{Kind: Number, Num: 2.5}) || ev.HasPrediction {
		t.Errorf("outcome: %+v", ev)
	}
}

// TestDecodeWarmCaches decodes events one after another so that each
// meets the names and values of the ones before at the same positions.
func TestDecodeWarmCaches(t *testing.T) {
	lim := testLimits()
	lim.MaxFeatures = 3
	d := NewDecoder(lim, nil)
	ev := func(features string) string {
		return `{"event_id":"e","model":"m","model_version":"v","ts":1,"prediction":1,"features":{` + features + `}}`
	}
	for _, c := range []struct {
		features string
		want     []Feature // nil: rejected with reason
		reason   string
	}{
		{`"a":1,"b":"x","é":"y"`, []Feature{{"a", Value{Kind: Number, Num: 1}}, {"b", Value{Kind: String, Str: "x"}}, {"é", Value{Kind: String, Str: "y"}}}, ""},
		{`"b":"x","a":2`, []Feature{{"b", Value{Kind: String, Str: "x"}}, {"a", Value{Kind: Number, Num: 2}}}, ""},
		{`"b":"x","a":2,"é":"z"`, []Feature{{"b", Value{Kind: String, Str: "x"}}, {"a", Value{Kind: Number, Num: 2}}, {"é", Value{Kind: String, Str: "z"}}}, ""},
		{`"bb":"x","a" : 3`, []Feature{{"bb", Value{Kind: String, Str: "x"}}, {"a", Value{Kind: Number, Num: 3}}}, ""},
		{`"b":"x","a":3`, []Feature{{"b", Value{Kind: String, Str: "x"}}, {"a", Value{Kind: Number, Num: 3}}}, ""},
		{`"\u0062":"\u0078","a":4`, []Feature{{"b", Value{Kind: String, Str: "x"}}, {"a", Value{Kind: Number, Num: 4}}}, ""},
		{`"b":"x","a\"":4`, []Feature{{"b", Value{Kind: String, Str: "x"}}, {`a"`, Value{Kind: Number, Num: 4}}}, ""},
		{`"b":"x","a":1,"b":2`, nil, ReasonDuplicateKey},
		{`"b":"x","\u0062":2`, nil, ReasonDuplicateKey},
		{`"b":"x","a":1,"é":2,"c":3`, nil, ReasonTooManyFeatures},
		{`"b":"x","a":1,"é":2,"b":3`, nil, ReasonTooManyFeatures},
		{`"b" "x"`, nil, ReasonMalformedJSON},
		{`"b":"x\n","a":1e2`, []Feature{{"b", Value{Kind: String, Str: "x\n"}}, {"a", Value{Kind: Number, Num: 100}}}, ""},
		{`"b":"x" ,"a":-0.5 `, []Feature{{"b", Value{Kind: String, Str: "x"}}, {"a", Value{Kind: Number, Num: -0.5}}}, ""},
		{`"b":"é","a":12345678901234567890`, []Feature{{"b", Value{Kind: String, Str: "é"}}, {"a", Value{Kind: Number, Num: 12345678901234567890}}}, ""},
		{`"b":"x","a":01`, nil, ReasonMalformedJSON},
		{`"b":"x","a":1.`, nil, ReasonMalformedJSON},
		{`"b":"x","a":1,}`, nil, ReasonMalformedJSON},
		{`"b":"` + strings.Repeat("x", 1025) + `"`, nil, ReasonStringTooLong},
		{`"b":"x","a":1e400`, nil, ReasonBadFeatureValue},
		{`"b":"y","a":5`, []Feature{{"b", Value{Kind: String, Str: "y"}}, {"a", Value{Kind: Number, Num: 5}}}, ""},
	} {
		got, err := d.Decode(Prediction, []byte(ev(c.features)))
		if c.want == nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Reason != c.reason {
				t.Errorf("%s: got %v, want reject %s", c.features, err, c.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.features, err)
			continue
		}
		if len(got.Features) != len(c.want) {
			t.Errorf("%s: features %+v, want %+v", c.features, got.Features, c.want)
			continue
		}
		for i := range c.want {
			if got.Features[i] != c.want[i] {
				t.Errorf("%s: feature %d = %+v, want %+v", c.features, i, got.Features[i], c.want[i])
			}
		}
	}
}

// TestDecodeInternFull checks the decoder once its intern map is full:
// new names and values are still read, and duplicates still found.
func TestDecodeInternFull(t *testing.T) {
	d := NewDecoder(testLimits(), nil)
	d.maxInterned = 8
	for i := range 4 {
		msg := fmt.Sprintf(`{"event_id":"e","model":"m","model_version":"v","ts":1,"prediction":1,"features":{"a%d":"x%d","b%d":"y%d","c":1}}`, i, i, i, i)
		ev, err := d.Decode(Prediction, []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Features) != 3 || ev.Features[0].Name != fmt.Sprint("a", i) || ev.Features[1].Value.Str != fmt.Sprint("y", i) {
			t.Fatalf("event %d: %+v", i, ev.Features)
		}
	}
	if len(d.intern) != 8 {
		t.Fatalf("intern map holds %d, limit 8", len(d.intern))
	}
	for _, features := range []string{`"new":1,"new":2`, `"c":1,"new":2,"new":3`, `"new":1,"c":2,"new":3`} {
		_, err := d.Decode(Prediction, []byte(`{"event_id":"e","model":"m","model_version":"v","ts":1,"prediction":1,"features":{`+features+`}}`))
		var de *DecodeError
		if !errors.As(err, &de) || de.Reason != ReasonDuplicateKey {
			t.Errorf("%s: got %v, want a duplicate", features, err)
		}
	}
}

// TestDecodeTo checks an event decoded into a caller's Event shares no
// buffer with the decoder or the message.
func TestDecodeTo(t *testing.T) {
	d := NewDecoder(testLimits(), nil)
	msg := benchLoadPrediction(1)
	var kept Event
	if err := d.DecodeTo(Prediction, msg, &kept); err != nil {
		t.Fatal(err)
	}
	want := string(kept.EventID)
	feats := append([]Feature(nil), kept.Features...)
	for i := range msg {
		msg[i] = 'x'
	}
	if _, err := d.Decode(Prediction, benchLoadPrediction(2)); err != nil {
		t.Fatal(err)
	}
	if string(kept.EventID) != want || len(kept.Features) != 20 {
		t.Fatalf("kept event changed: id %q, %d features", kept.EventID, len(kept.Features))
	}
	for i := range feats {
		if kept.Features[i] != feats[i] {
			t.Fatalf("kept feature %d changed: %+v, was %+v", i, kept.Features[i], feats[i])
		}
	}
	if err := d.DecodeTo(Outcome, benchLoadOutcome(3), &kept); err != nil || len(kept.Features) != 0 || kept.Label.Str == "" {
		t.Fatalf("reusing the event: %v, %+v", err, kept)
	}
}

// TestDecodeAgreesWithEncodingJSON checks the scanner accepts what
// encoding/json accepts on every good input and reads the same values.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("../testdata/events/good/*.prediction.json")
	d := NewDecoder(testLimits(), nil)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var std stdPrediction
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ev, err := d.Decode(Prediction, b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if string(ev.EventID) != std.EventID || ev.Model != std.Model || len(ev.Features) != len(std.Features) {
			t.Errorf("%s: scanner %+v vs encoding/json %+v", f, ev, std)
		}
		for _, ft := range ev.Features {
			sv := std.Features[ft.Name]
			switch x := sv.(type) {
			case float64:
				if ft.Value.Kind != Number || ft.Value.Num != x {
					t.Errorf("%s: %s = %+v, want %v", f, ft.Name, ft.Value, x)
				}
			case string:
				if ft.Value.Kind != String || ft.Value.Str != x {
					t.Errorf("%s: %s = %+v, want %q", f, ft.Name, ft.Value, x)
				}
			case nil:
				if ft.Value.Kind != Missing {
					t.Errorf("%s: %s = %+v, want missing", f, ft.Name, ft.Value)
				}
			}
		}
	}
}

// stdPrediction is the encoding/json shape used as the reference and as
// the benchmark's alternative.
type stdPrediction struct {
	EventID    string          `json:"event_id"`
	Model      string          `json:"model"`
	Version    string          `json:"model_version"`
	TS         json.RawMessage `json:"ts"`
	Features   map[string]any  `json:"features"`
	Prediction json.RawMessage `json:"prediction"`
	LatencyMS  *float64        `json:"latency_ms"`
}

func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"bad", "good"} {
		files, _ := filepath.Glob("../testdata/events/" + dir + "/*.json")
		for _, file := range files {
			b, _ := os.ReadFile(file)
			if len(b) < 4096 {
				f.Add(b, strings.Contains(file, ".outcome."))
			}
		}
	}
	// Events of one shape one after another, as the caches see them.
	for i := range 3 {
		f.Add(benchLoadPrediction(i), false)
		f.Add(benchLoadOutcome(i), true)
	}
	lim := testLimits()
	lim.MaxMessageBytes = 4096
	lim.MaxFeatures = 20
	lim.MaxStringLen = 64
	d := NewDecoder(lim, nil)
	f.Fuzz(func(t *testing.T, b []byte, outcome bool) {
		kind := Prediction
		if outcome {
			kind = Outcome
		}
		// The warm decoder reads b twice: once with the caches the inputs
		// before left, once with those b itself left, which takes every
		// fast path b's shape allows. A fresh decoder, whose caches are
		// empty, reads it the general way; all three must agree, on the
		// reason of a reject too.
		freshEv, freshErr := NewDecoder(lim, nil).Decode(kind, b)
		var fresh Event
		if freshErr == nil {
			fresh = *freshEv
			fresh.EventID = append([]byte(nil), freshEv.EventID...)
			fresh.Features = append([]Feature(nil), freshEv.Features...)
		}
		d.Decode(kind, b)
		ev, err := d.Decode(kind, b)
		if reason(err) != reason(freshErr) {
			t.Fatalf("warm decoder: %v, fresh: %v", err, freshErr)
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Reason == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		sameEvent(t, ev, &fresh)
		// Whatever the scanner accepts must be valid JSON.
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if len(ev.Features) > lim.MaxFeatures || ev.Model == "" || len(ev.EventID) == 0 {
			t.Fatalf("accepted event breaks limits: %+v", ev)
		}
		for _, ft := range ev.Features {
			if len(ft.Value.Str) > lim.MaxStringLen {
				t.Fatalf("string over limit accepted")
			}
		}
		if kind == Prediction {
			sameFeaturesAsEncodingJSON(t, b, ev.Features)
		}
	})
}

func reason(err error) string {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	if err != nil {
		return "not a DecodeError: " + err.Error()
	}
	return ""
}

func sameEvent(t *testing.T, a, b *Event) {
	t.Helper()
	if a.Kind != b.Kind || a.Model != b.Model || a.Version != b.Version || a.TS != b.TS || string(a.EventID) != string(b.EventID) ||
		!sameValue(a.Prediction, b.Prediction) || a.HasPrediction != b.HasPrediction ||
		math.Float64bits(a.Score) != math.Float64bits(b.Score) || a.HasScore != b.HasScore ||
		a.PredictionTS != b.PredictionTS || a.HasPredictionTS != b.HasPredictionTS ||
		!sameValue(a.Label, b.Label) || math.Float64bits(a.LatencyMS) != math.Float64bits(b.LatencyMS) ||
		a.HasLatency != b.HasLatency || len(a.Features) != len(b.Features) {
		t.Fatalf("warm decoder %+v, fresh %+v", a, b)
	}
	for i := range a.Features {
		if a.Features[i].Name != b.Features[i].Name || !sameValue(a.Features[i].Value, b.Features[i].Value) {
			t.Fatalf("feature %d: warm decoder %+v, fresh %+v", i, a.Features[i], b.Features[i])
		}
	}
}

func sameValue(a, b Value) bool {
	return a.Kind == b.Kind && a.Str == b.Str && math.Float64bits(a.Num) == math.Float64bits(b.Num)
}

func sameFeaturesAsEncodingJSON(t *testing.T, msg []byte, got []Feature) {
	t.Helper()
	var top map[string]json.RawMessage
	var feats map[string]any
	if err := json.Unmarshal(msg, &top); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	if err := json.Unmarshal(top["features"], &feats); err != nil {
		t.Fatalf("encoding/json features: %v", err)
	}
	if len(feats) != len(got) {
		t.Fatalf("%d features, encoding/json reads %d", len(got), len(feats))
	}
	for _, ft := range got {
		var want Value
		switch x := feats[ft.Name].(type) {
		case float64:
			want = Value{Kind: Number, Num: x}
		case string:
			want = Value{Kind: String, Str: x}
		case bool:
			want = Value{Kind: String, Str: strconv.FormatBool(x)}
		}
		if !sameValue(ft.Value, want) {
			t.Fatalf("feature %q = %+v, encoding/json reads %+v", ft.Name, ft.Value, want)
		}
	}
}

// plainBytes is plainWord's reference: strPlain byte by byte.
func plainBytes(w uint64) bool {
	for k := 0; k < 8; k++ {
		if !strPlain[byte(w>>(8*k))] {
			return false
		}
	}
	return true
}

// TestPlainWord puts every byte value at every position of words of plain
// bytes, next to every other byte value too, where borrows between bytes
// could hide one.
func TestPlainWord(t *testing.T) {
	for _, bg := range []byte{' ', '!', '#', '0', '[', ']', '~'} {
		for a := range 256 {
			for b := range 256 {
				for pos := range 7 {
					w := uint64(bg) * 0x0101010101010101
					w &^= 0xffff << (8 * pos)
					w |= uint64(a)<<(8*pos) | uint64(b)<<(8*pos+8)
					if plainWord(w) != plainBytes(w) {
						t.Fatalf("plainWord(%#x) = %v", w, plainWord(w))
					}
				}
			}
		}
	}
}

func FuzzPlainWord(f *testing.F) {
	f.Add(uint64(0x2122232425262728))
	f.Fuzz(func(t *testing.T, w uint64) {
		if plainWord(w) != plainBytes(w) {
			t.Fatalf("plainWord(%#x) = %v", w, plainWord(w))
		}
	})
}

// TestEventReset sets every field of an Event and checks that reset
// leaves only the kind and the emptied buffers, so a field added to Event
// cannot survive from one decode into the next.
func TestEventReset(t *testing.T) {
	var e Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(7)
		case reflect.Int, reflect.Int64, reflect.Int32:
			f.SetInt(7)
		case reflect.Float64:
			f.SetFloat(7)
		case reflect.String:
			f.SetString("x")
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 2, 4))
		case reflect.Struct: // Value
			f.Set(reflect.ValueOf(Value{Kind: String, Num: 7, Str: "x"}))
		default:
			t.Fatalf("field %s: set it here", v.Type().Field(i).Name)
		}
		if f.IsZero() {
			t.Fatalf("field %s is still zero", v.Type().Field(i).Name)
		}
	}
	feats, id := e.Features, e.EventID
	e.reset(Outcome)
	want := Event{Kind: Outcome, Features: feats[:0], EventID: id[:0]}
	if !reflect.DeepEqual(e, want) || cap(e.Features) != 4 || &e.Features[:1][0] != &feats[0] || &e.EventID[:1][0] != &id[0] {
		t.Fatalf("reset left %+v", e)
	}
}
