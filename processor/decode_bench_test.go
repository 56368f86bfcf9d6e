package processor

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchPrediction is a realistic prediction: 50 features, a third of them
// categorical.
func benchPrediction(i int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"event_id":"evt-%08d","model":"fraud","model_version":"v3","ts":"2026-11-23T10:%02d:%02d.123Z","features":{`, i, i/60%60, i%60)
	for f := range 50 {
		if f > 0 {
			sb.WriteByte(',')
		}
		if f%3 == 0 {
			fmt.Fprintf(&sb, `"cat_%02d":"c%d"`, f, (i+f)%7)
		} else {
			fmt.Fprintf(&sb, `"num_%02d":%g`, f, float64((i*31+f*17)%1000)/7)
		}
	}
	sb.WriteString(`},"prediction":{"label":"1","score":0.87},"latency_ms":12.5}`)
	return []byte(sb.String())
}

// benchLoadPrediction has the shape of the end-to-end benchmark's
// predictions (internal/simulate's synthetic model): 10 numeric features
// with ~9 significant digits and 10 categorical ones of 3 to 8 short values.
func benchLoadPrediction(i int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"event_id":"%032x","model":"fraud","model_version":"v3","ts":"2026-11-23T10:%02d:%02d.%03dZ","features":{`, uint64(i)*0x9e3779b97f4a7c15, i/60%60, i%60, i%1000)
	for f := range 10 {
		fmt.Fprintf(&sb, `"num_%02d":%.7f,`, f, float64((i*7919+f*104729)%100000)/997)
	}
	for f := range 10 {
		if f > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"cat_%02d":"c%d"`, f, (i*13+f)%(3+f%6))
	}
	fmt.Fprintf(&sb, `},"prediction":{"label":"%d","score":0.%04d}}`, i%2, (i*37)%10000)
	return []byte(sb.String())
}

// benchLoadOutcome is the end-to-end benchmark's outcome event.
func benchLoadOutcome(i int) []byte {
	return fmt.Appendf(nil, `{"event_id":"%032x","model":"fraud","ts":"2026-11-23T10:%02d:%02d.%03dZ","label":"%d"}`, i, i/60%60, i%60, i%1000, (i/3)%2)
}

func benchDecode(b *testing.B, kind EventKind, gen func(int) []byte) {
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i] = gen(i)
	}
	d := NewDecoder(testLimits(), nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(msgs[0])))
	for i := 0; b.Loop(); i++ {
		if _, err := d.Decode(kind, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeScanner decodes a wide (50-feature, ~1.2 KB) prediction.
func BenchmarkDecodeScanner(b *testing.B) { benchDecode(b, Prediction, benchPrediction) }

// BenchmarkDecodeLoadPrediction and BenchmarkDecodeLoadOutcome decode the
// end-to-end benchmark's two event shapes.
func BenchmarkDecodeLoadPrediction(b *testing.B) { benchDecode(b, Prediction, benchLoadPrediction) }
func BenchmarkDecodeLoadOutcome(b *testing.B)    { benchDecode(b, Outcome, benchLoadOutcome) }

// BenchmarkDecodeEncodingJSON is the alternative the scanner was chosen
// against: encoding/json into a struct with a feature map.
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i] = benchPrediction(i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msgs[0])))
	for i := 0; b.Loop(); i++ {
		var p stdPrediction
		if err := json.Unmarshal(msgs[i%len(msgs)], &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBatch fills a batch of events as the worker does:
// DecodeTo straight into each slot.
func BenchmarkDecodeBatch(b *testing.B) {
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i] = benchLoadPrediction(i)
	}
	d := NewDecoder(testLimits(), nil)
	batch := make([]Event, len(msgs))
	b.ReportAllocs()
	b.SetBytes(int64(len(msgs[0])))
	for i := 0; b.Loop(); i++ {
		if err := d.DecodeTo(Prediction, msgs[i%len(msgs)], &batch[i%len(batch)]); err != nil {
			b.Fatal(err)
		}
	}
}
