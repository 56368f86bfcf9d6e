package stats

import (
	"fmt"
	"math"
	"strconv"
)

// ValueKind says what a Value holds.
type ValueKind uint8

// Value kinds.
const (
	Missing ValueKind = iota
	Number
	String
)

// Value is a feature, prediction or target value of one event.
type Value struct {
	Kind ValueKind
	Num  float64
	Str  string
}

// NumberValue and StringValue build Values.
func NumberValue(x float64) Value { return Value{Kind: Number, Num: x} }

// StringValue builds a string Value.
func StringValue(s string) Value { return Value{Kind: String, Str: s} }

// number returns v as a finite number, parsing a string (without
// allocating); ok is false for a missing or non-numeric value.
func (v Value) number() (float64, bool) {
	switch v.Kind {
	case Number:
		return v.Num, !math.IsNaN(v.Num) && !math.IsInf(v.Num, 0)
	case String:
		x, err := strconv.ParseFloat(v.Str, 64)
		return x, err == nil && !math.IsNaN(x) && !math.IsInf(x, 0)
	}
	return 0, false
}

// text returns v as a category or label; ok is false when missing.
func (v Value) text() (string, bool) {
	switch v.Kind {
	case String:
		return v.Str, v.Str != ""
	case Number:
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return "", false
		}
		return strconv.FormatFloat(v.Num, 'g', -1, 64), true
	}
	return "", false
}

// missingNumberSpellings are the CSV cells that mean "no value" in a
// numeric column (compare-cli.md).
var missingNumberSpellings = map[string]bool{
	"": true, "NaN": true, "nan": true, "Inf": true, "+Inf": true, "-Inf": true,
	"inf": true, "-inf": true, "null": true,
}

// NumericCell converts a file cell of a numeric column. A cell that is
// neither missing nor a number is an error naming its place.
func NumericCell(c Cell, file string) (Value, error) {
	if c.Absent || c.Null {
		return Value{}, nil
	}
	if c.JSON == 'b' {
		return Value{}, &InputError{File: file, Line: c.Line, Column: c.Column,
			Err: fmt.Errorf("want a number, got %s", c.Text)}
	}
	if missingNumberSpellings[c.Text] {
		return Value{}, nil
	}
	x, err := strconv.ParseFloat(c.Text, 64)
	if err != nil && !isRangeErr(err) {
		return Value{}, &InputError{File: file, Line: c.Line, Column: c.Column,
			Err: fmt.Errorf("want a number, got %q", c.Text)}
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return Value{}, nil
	}
	return NumberValue(x), nil
}

// CategoricalCell converts a file cell of a categorical column: empty,
// null and absent are missing; numbers and booleans keep their spelling.
func CategoricalCell(c Cell) Value {
	if c.Absent || c.Null || c.Text == "" {
		return Value{}
	}
	return StringValue(c.Text)
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
