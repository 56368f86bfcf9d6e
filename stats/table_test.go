package stats

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readAll(t testing.TB, name, data string, cols ...string) ([][]Cell, error) {
	tr, err := NewTableReader(strings.NewReader(data), name)
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = tr.Column(c)
	}
	var rows [][]Cell
	for {
		more, err := tr.Next()
		if err != nil {
			return rows, err
		}
		if !more {
			return rows, nil
		}
		row := make([]Cell, len(cols))
		for i := range idx {
			row[i] = tr.Cell(idx[i])
		}
		rows = append(rows, row)
	}
}

func TestJSONLReader(t *testing.T) {
	data := "{\"x\": 1.5, \"k\": \"a\\u00e9\"}\n\n{\"k\": null, \"x\": -2e3, \"extra\": true}\r\n{\"x\":\"3\"}"
	rows, err := readAll(t, "in.jsonl", data, "x", "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	if c := rows[0][1]; c.Text != "aé" || c.JSON != 's' || c.Line != 1 {
		t.Errorf("row 1 k = %+v", c)
	}
	if c := rows[1][1]; !c.Null || c.Line != 3 {
		t.Errorf("row 2 k = %+v, want null on line 3", c)
	}
	if c := rows[1][0]; c.Text != "-2e3" || c.JSON != 'n' {
		t.Errorf("row 2 x = %+v", c)
	}
	if c := rows[2][1]; !c.Absent {
		t.Errorf("row 3 k = %+v, want absent", c)
	}
}

func TestReaderErrorsNamePlace(t *testing.T) {
	for _, c := range []struct {
		name, data string
		line, col  int
	}{
		{"a.jsonl", "{\"x\": 1}\n{\"x\": 1,}\n", 2, 9},
		{"a.jsonl", "{\"x\": 1}\n{\"x\": [1]}\n", 2, 7},
		{"a.jsonl", "{\"x\": 01}\n", 1, 8},
		{"a.jsonl", "[1]\n", 1, 1},
		{"a.jsonl", "{\"x\": 1, \"x\": 2}\n", 1, 15},
		{"a.csv", "x,y\n1,2\n3\n", 3, 1},
		{"a.csv", "x,y\n1,a\"b\n", 2, 4},
	} {
		_, err := readAll(t, c.name, c.data, "x", "y")
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%q: error %v, want an InputError", c.data, err)
			continue
		}
		if ie.File != c.name || ie.Line != c.line || ie.Column != c.col {
			t.Errorf("%q: error at %s:%d:%d, want %s:%d:%d (%v)", c.data, ie.File, ie.Line, ie.Column, c.name, c.line, c.col, err)
		}
	}
}

func TestNumericCell(t *testing.T) {
	for _, s := range []string{"", "NaN", "nan", "Inf", "+Inf", "-Inf", "inf", "-inf", "null", "1e999"} {
		v, err := NumericCell(Cell{Text: s}, "f")
		if err != nil || v.Kind != Missing {
			t.Errorf("%q: %v %v, want missing", s, v, err)
		}
	}
	if v, err := NumericCell(Cell{Text: "-1.25e2"}, "f"); err != nil || v.Num != -125 {
		t.Errorf("-1.25e2: %v %v", v, err)
	}
	if _, err := NumericCell(Cell{Text: "abc", Line: 4, Column: 2}, "f.csv"); err == nil || !strings.HasPrefix(err.Error(), "f.csv:4:2:") {
		t.Errorf("abc: error %v, want one naming f.csv:4:2", err)
	}
}

// FuzzParseFlatObject checks the JSON Lines row parser against
// encoding/json: it accepts only valid JSON and reads the same values.
func FuzzParseFlatObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"x\u00e9\ud83d\ude00","b":null,"c":true,"d":-0.5e-3}`,
		`{"a":"\ud800"}`, ` { "a" : [ ] } `, `{"a":1,}`, `{"a":01}`, "{\"a\":\"\xff\"}", `{"a":"\/\b\f\n\r\t"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[string]Cell{}
		err := parseFlatObject(b, func(k string, c Cell) error {
			got[k] = c
			return nil
		})
		var want map[string]any
		jerr := json.Unmarshal(b, &want)
		if err != nil {
			var se *jsonSyntaxError
			if !errors.As(err, &se) || se.col < 1 || se.col > len(b)+1 {
				t.Fatalf("error %v without a column inside the line", err)
			}
			if jerr == nil && bytes.IndexAny(b, "[{") == bytes.LastIndexAny(b, "[{") && !hasDupKey(b) {
				t.Fatalf("rejected valid flat JSON %q: %v", b, err)
			}
			return
		}
		if jerr != nil {
			t.Fatalf("accepted invalid JSON %q (encoding/json: %v)", b, jerr)
		}
		for k, c := range got {
			w := want[k]
			switch c.JSON {
			case 's':
				if w != c.Text {
					t.Fatalf("key %q: %q, encoding/json %q", k, c.Text, w)
				}
			case 'n':
				var n json.Number = json.Number(c.Text)
				wf, _ := w.(float64)
				if gf, err := n.Float64(); err == nil && gf != wf {
					t.Fatalf("key %q: %v, encoding/json %v", k, gf, wf)
				}
			}
		}
	})
}

// hasDupKey is a conservative check used only to excuse a rejection:
// encoding/json accepts duplicate keys, the row parser does not.
func hasDupKey(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	seen := map[string]bool{}
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				depth++
				expectKey = true
			} else if v == '}' {
				depth--
			}
			continue
		case string:
			if depth == 1 && expectKey {
				if seen[v] {
					return true
				}
				seen[v] = true
				expectKey = false
				continue
			}
		}
		expectKey = depth == 1
	}
}

// FuzzCSVReader feeds arbitrary files to the CSV reader: it must never
// panic and every error must name the file and a line.
func FuzzCSVReader(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/stats/*/current.csv")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 20_000 {
			f.Add(b)
		}
	}
	f.Add([]byte("x,k\n1,\"a,b\"\n\"2\",\"q\"\"\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzTable(t, "in.csv", b)
	})
}

// FuzzJSONLReader is FuzzCSVReader for JSON Lines.
func FuzzJSONLReader(f *testing.F) {
	f.Add([]byte("{\"x\":1,\"k\":\"a\"}\n{\"x\":null}\n\n{\"k\":\"\\u00e9\"}"))
	f.Add([]byte("{\"x\":1e400,\"k\":true}\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzTable(t, "in.jsonl", b)
	})
}

func fuzzTable(t *testing.T, name string, b []byte) {
	tr, err := NewTableReader(bytes.NewReader(b), name)
	if err != nil {
		checkInputError(t, err, name)
		return
	}
	x, k := tr.Column("x"), tr.Column("k")
	for {
		more, err := tr.Next()
		if err != nil {
			checkInputError(t, err, name)
			return
		}
		if !more {
			return
		}
		if _, err := NumericCell(tr.Cell(x), name); err != nil {
			checkInputError(t, err, name)
		}
		_ = CategoricalCell(tr.Cell(k))
	}
}

func checkInputError(t *testing.T, err error, name string) {
	var ie *InputError
	if !errors.As(err, &ie) || ie.File != name || ie.Line < 1 || ie.Column < 1 {
		t.Fatalf("error %v does not name %s, a line and a column", err, name)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error spans lines: %q", err)
	}
}
