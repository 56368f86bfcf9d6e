package processor

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scanNumber runs the decoder's number scanner over all of s.
func scanNumber(t testing.TB, s string) (f float64, exact, whole bool) {
	d := &Decoder{b: []byte(s)}
	_, f, exact, err := d.number()
	return f, exact, err == nil && d.i == len(s)
}

// checkDecimal fails if the scanner's fast value for s differs in any bit
// from strconv.ParseFloat's; it reports whether the fast path took s.
func checkDecimal(t testing.TB, s string) bool {
	t.Helper()
	f, exact, whole := scanNumber(t, s)
	if !whole || !exact {
		return false
	}
	want, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: fast path took what strconv rejects: %v", s, err)
	}
	if math.Float64bits(f) != math.Float64bits(want) {
		t.Fatalf("%q: fast path %v (%#x), strconv %v (%#x)", s, f, math.Float64bits(f), want, math.Float64bits(want))
	}
	return true
}

func TestDecimalFastPathEdges(t *testing.T) {
	fast := []string{
		"0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.3", "12.3456789", "0.87", "129.5",
		"9007199254740991", "9007199254740992", "9007199254740993", "9007199254740994", "9007199254740995",
		"18014398509481985", "18014398509481987", "9999999999999999999", "1844674407370955161",
		"0.0000000000000000001", "0.9999999999999999999", "1.000000000000000001",
		"4503599627370496.5", "4503599627370497.5", "2251799813685248.25", "2251799813685248.75",
		"0.30000000000000004", "129.28571428571428", "142.85714285714286", "1.7976931348623157",
		"123456789012345678.9", "1234567890123456789", "-1234567890123456789", "0.1000000000000000055511151231257827",
	}
	for _, s := range fast[:len(fast)-1] {
		if !checkDecimal(t, s) {
			t.Errorf("%q did not take the fast path", s)
		}
	}
	// More than 19 digits, or an exponent: strconv decides.
	for _, s := range []string{fast[len(fast)-1], "1e5", "1.5E-3", "12345678901234567890", "0.00000000000000000001"} {
		if _, exact, whole := scanNumber(t, s); !whole || exact {
			t.Errorf("%q: whole %v, fast path %v; want the strconv path", s, whole, exact)
		}
	}
}

func TestDecimalFastPathRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	took := 0
	for range 300_000 {
		var s string
		switch r.IntN(4) {
		case 0: // shortest representation of a random float64 in plain form
			x := math.Float64frombits(r.Uint64())
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e20 {
				x = r.Float64() * math.Pow(10, float64(r.IntN(20)))
			}
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case 1: // random digits with a random point
			nd := 1 + r.IntN(19)
			ds := []byte(strconv.FormatUint(r.Uint64N(tenTo[nd-1]*9)+tenTo[nd-1], 10))
			p := r.IntN(len(ds))
			s = string(ds[:len(ds)-p])
			if p > 0 {
				s += "." + string(ds[len(ds)-p:])
			}
		case 2: // an integer exactly halfway between two float64s
			n := r.Uint64N(tenTo[19]-1<<54) + 1<<54
			ulp := uint64(1) << (bits.Len64(n) - 53)
			s = strconv.FormatUint(n&^(ulp-1)|ulp/2, 10)
		case 3: // fixed precision of a random value
			s = strconv.FormatFloat(r.Float64()*math.Pow(10, float64(r.IntN(18))), 'f', r.IntN(19), 64)
		}
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		if checkDecimal(t, s) {
			took++
		}
	}
	if took < 200_000 {
		t.Errorf("fast path took only %d of 300000 inputs", took)
	}
}

func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0.0", "12.3456789", "9007199254740993", "129.28571428571428",
		"9999999999999999999", "0.0000000000000000001", "1e5", "", "-", "01", "1.", "4503599627370497.5",
		"45.1234567", "0.5", "0", "100", "999999999999999", "99999999999999.9", "9999999999999999", "1.0000000000000001", "00.5", "0.", ".5", "-0"} {
		f.Add(s)
	}
	d := NewDecoder(testLimits(), nil)
	f.Fuzz(func(t *testing.T, s string) {
		checkDecimal(t, s)
		checkFeatureNumber(t, d, s)
	})
}

// checkFeatureNumber reads s as the value of two features, once by a
// fresh decoder, which takes the general path, and once by d after it
// has seen the same event, which reads it in featureRun: the two must
// agree on the reject reason or on every bit of the value, and that
// must be strconv's.
func checkFeatureNumber(t *testing.T, d *Decoder, s string) {
	t.Helper()
	msg := []byte(`{"event_id":"e","model":"m","model_version":"v","ts":1,"prediction":1,"features":{"x":` + s + `,"y":` + s + `}}`)
	fresh, freshErr := NewDecoder(testLimits(), nil).Decode(Prediction, msg)
	var want []Feature
	if freshErr == nil {
		want = append(want, fresh.Features...)
	}
	d.Decode(Prediction, msg)
	ev, err := d.Decode(Prediction, msg)
	if reason(err) != reason(freshErr) {
		t.Fatalf("%q: warm decoder %v, fresh %v", s, err, freshErr)
	}
	if err != nil {
		return
	}
	for i, f := range ev.Features {
		if !sameValue(f.Value, want[i].Value) {
			t.Fatalf("%q: warm decoder %+v, fresh %+v", s, f.Value, want[i].Value)
		}
		if v, err := strconv.ParseFloat(strings.Trim(s, " \t\n\r"), 64); f.Value.Kind == Number && (err != nil || math.Float64bits(v) != math.Float64bits(f.Value.Num)) {
			t.Fatalf("%q: read %v, strconv %v, %v", s, f.Value.Num, v, err)
		}
	}
}

// checkTimestamp fails if the fast path accepts s with another instant
// than time.Parse, or accepts what it rejects.
func checkTimestamp(t testing.TB, s string) bool {
	t.Helper()
	ms, ok := rfc3339UTCMilli([]byte(s))
	if !ok {
		return false
	}
	want, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%q: fast path took what time.Parse rejects: %v", s, err)
	}
	if ms != want.UnixMilli() {
		t.Fatalf("%q: fast path %d ms, time.Parse %d", s, ms, want.UnixMilli())
	}
	return true
}

func TestTimestampFastPath(t *testing.T) {
	for _, s := range []string{
		"2026-11-23T10:00:00Z", "2026-11-23T10:00:00.123Z", "2026-11-23T10:00:00.1Z", "2026-11-23T10:00:00.123456789Z",
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "0000-01-01T00:00:00Z", "0000-02-29T12:00:00Z",
		"9999-12-31T23:59:59.999999999Z", "2000-02-29T00:00:00Z", "2024-02-29T23:59:59Z", "2199-12-31T23:59:59.9Z",
	} {
		if !checkTimestamp(t, s) {
			t.Errorf("%q did not take the fast path", s)
		}
	}
	// Out of range, another form or another zone: time.Parse decides.
	for _, s := range []string{
		"1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z",
		"2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "2026-01-01t00:00:00Z", "2026-01-01T00:00:00z",
		"2026-01-01T00:00:00.Z", "2026-01-01T00:00:00,5Z", "2026-01-01T00:00:00.1234567890Z",
		"2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00", "2026-1-01T00:00:00Z", "+026-01-01T00:00:00Z",
		"2026-01-01T00:00:00.12a4Z", "20a6-01-01T00:00:00Z",
	} {
		if checkTimestamp(t, s) {
			t.Errorf("%q took the fast path", s)
		}
	}
	// Timestamps in order, as a partition carries them, through the
	// minute, hour, day, leap day and year boundaries the kept minute
	// must not outlive.
	var d Decoder
	for _, from := range []time.Time{
		time.Date(2023, 12, 31, 23, 45, 0, 0, time.UTC), time.Date(2024, 2, 28, 23, 45, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 45, 0, 0, time.UTC), time.Date(2026, 11, 23, 9, 45, 0, 0, time.UTC),
	} {
		for tm := from; tm.Before(from.Add(30 * time.Minute)); tm = tm.Add(1700 * time.Millisecond) {
			s := tm.Format([]string{"2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05Z"}[tm.Second()%2])
			want, _ := time.Parse(time.RFC3339Nano, s)
			if ms, ok := d.tsMilli([]byte(s)); !ok || ms != want.UnixMilli() {
				t.Fatalf("%q after others: %d, %v; time.Parse %d", s, ms, ok, want.UnixMilli())
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	min, max := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 200_000 {
		tm := time.Unix(min+r.Int64N(max-min), r.Int64N(1e9)).UTC()
		layout := "2006-01-02T15:04:05" + []string{"", ".0", ".00", ".000", ".000000", ".000000000", ".999999999"}[r.IntN(7)] + "Z"
		if s := tm.Format(layout); !checkTimestamp(t, s) {
			t.Fatalf("%q did not take the fast path", s)
		}
	}
}

func FuzzRFC3339(f *testing.F) {
	for _, s := range []string{"2026-11-23T10:00:00.123Z", "2024-02-29T23:59:59Z", "1900-02-29T00:00:00Z",
		"2026-01-01T00:00:00.123456789Z", "0000-01-01T00:00:00Z", "2026-01-01T00:00:00+01:00"} {
		f.Add(s)
	}
	// d keeps the minute of the inputs before; warm keeps that of s's
	// own first 16 bytes, or of a minute just before them.
	d := new(Decoder)
	f.Fuzz(func(t *testing.T, s string) {
		checkTimestamp(t, s)
		want, wantOK := rfc3339UTCMilli([]byte(s))
		var warm Decoder
		if len(s) >= 16 {
			warm.tsMilli([]byte(s[:16] + ":00Z"))
			warm.tsMilli([]byte(s[:15] + "0:00Z"))
		}
		for _, dec := range []*Decoder{d, &warm, &warm} {
			if ms, ok := dec.tsMilli([]byte(s)); ms != want && ok || ok != wantOK {
				t.Fatalf("%q: with the minute kept %d, %v; without %d, %v", s, ms, ok, want, wantOK)
			}
		}
	})
}
