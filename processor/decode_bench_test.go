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

func BenchmarkDecodeScanner(b *testing.B) {
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i] = benchPrediction(i)
	}
	d := NewDecoder(testLimits(), nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(msgs[0])))
	for i := 0; b.Loop(); i++ {
		if _, err := d.Decode(Prediction, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
}

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
