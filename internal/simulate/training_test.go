package simulate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func TestWriteTrainingMatchesTheBaselineTraffic(t *testing.T) {
	sc := demoScenario(t, 2)
	dir := t.TempDir()
	const rows = 6000
	files, err := WriteTraining(dir, sc, 1, rows)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f.Path))
	}
	if !slices.Equal(names, []string{"fraud_v1.csv", "fraud_v2.csv", "churn_v1.csv"}) {
		t.Fatalf("files %v", names)
	}
	v1, v2 := readCSV(t, files[0].Path), readCSV(t, files[1].Path)
	header := v1[0]
	wantHeader := []string{}
	for _, f := range sc.Models[0].Features {
		wantHeader = append(wantHeader, f.Name)
	}
	wantHeader = append(wantHeader, TargetColumn, PredictionColumn, ScoreColumn)
	if !slices.Equal(header, wantHeader) || len(v1) != rows+1 || len(v2) != rows+1 {
		t.Fatalf("header %v, %d and %d records", header, len(v1), len(v2))
	}
	n := len(header) - 3
	positives, differ, crypto := 0, 0, 0
	for i := 1; i <= rows; i++ {
		a, b := v1[i], v2[i]
		if !slices.Equal(a[:n+1], b[:n+1]) {
			t.Fatalf("row %d: versions see different inputs or targets:\n%v\n%v", i, a, b)
		}
		for _, r := range [][]string{a, b} {
			score, err := strconv.ParseFloat(r[n+2], 64)
			if err != nil || (score > 0.5) != (r[n+1] == "1") {
				t.Fatalf("row %d: prediction %q with score %q", i, r[n+1], r[n+2])
			}
		}
		positives += int(b2f(a[n] == "1"))
		differ += int(b2f(a[n+2] != b[n+2]))
		crypto += int(b2f(slices.Contains(a, "crypto")))
	}
	if crypto != 0 || differ < rows*9/10 {
		t.Fatalf("%d rows with an injected category, %d rows where the versions' scores differ", crypto, differ)
	}
	// The training rows come from the same distribution as the traffic
	// before any injection.
	clean := shortDemo(t, 2, 15*time.Minute) // before the first injection
	s := decodeStream(t, clean, 1)
	rate := positiveRate(clean, s, clean.Window, "fraud", "v1")
	before := mean(rate[:3])
	if got := float64(positives) / rows; !approx(got, before, 0.04) {
		t.Fatalf("training positive rate %.3f, traffic's before drift %.3f", got, before)
	}
}

func TestWriteFilesSplitsOrInterleavesKinds(t *testing.T) {
	sc := demoScenario(t, 1)
	sc.Duration = sc.Window
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	var preds, outs, both bytes.Buffer
	st, err := WriteFiles(context.Background(), NewGenerator(sc, 2), &preds, &outs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Predictions != 900 || st.Outcomes != 900 {
		t.Fatalf("stats %+v", st)
	}
	if got := countLines(t, &preds, "model_version"); got != 900 {
		t.Fatalf("%d prediction lines", got)
	}
	if got := countLines(t, &outs, "label"); got != 900 {
		t.Fatalf("%d outcome lines", got)
	}
	st2, err := WriteFiles(context.Background(), NewGenerator(sc, 2), &both, nil, 0)
	if err != nil || st2.Bytes != st.Bytes || int64(both.Len()) != st.Bytes+1800 {
		t.Fatalf("interleaved: %v, %d bytes, stats %+v", err, both.Len(), st2)
	}
}

// countLines checks every line is a JSON object with key and counts them.
func countLines(t *testing.T, r *bytes.Buffer, key string) int {
	t.Helper()
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if _, ok := m[key]; !ok {
			t.Fatalf("line %d lacks %q: %s", n+1, key, sc.Bytes())
		}
		n++
	}
	return n
}

func TestWriteFilesPacesToTheRate(t *testing.T) {
	sc := demoScenario(t, 1)
	sc.Duration = 10 * time.Second // 30 predictions and as many outcomes
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	// Cancelled before the first chunk is due: what was generated is still
	// written, and the run stops with the context's error.
	st, err := WriteFiles(ctx, NewGenerator(sc, 1), &buf, nil, 20)
	if err == nil || st.Predictions+st.Outcomes >= 60 || int64(buf.Len()) != st.Bytes+st.Predictions+st.Outcomes {
		t.Fatalf("err %v, stats %+v, %d bytes written", err, st, buf.Len())
	}
}
