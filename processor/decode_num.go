package processor

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Fast paths for the two conversions every event needs: a decimal to
// float64 and an RFC 3339 UTC timestamp to Unix milliseconds. Each takes
// only the common, simple form and gives the exact result the standard
// library gives (decode_num_test.go checks both against it, with fuzzing);
// everything else goes to strconv.ParseFloat and time.Parse.

// pow10 holds the powers of ten float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exactDecimal returns the float64 nearest ±mant / 10^frac, the bits
// strconv.ParseFloat returns, when mant holds all nd ≤ 19 digits of the
// number (it did not wrap). Otherwise ok is false.
func exactDecimal(mant uint64, nd, frac int, neg bool) (f float64, ok bool) {
	switch {
	case nd > 19:
		return 0, false
	case mant <= 1<<53 && frac <= 22:
		// Clinger's fast path: both operands are exact in float64, and
		// one IEEE division rounds correctly.
		f = float64(mant) / pow10[frac]
	default:
		f = divPow10(mant, frac)
	}
	if neg {
		f = -f
	}
	return f, true
}

// tenTo[k] is 10^k; 10^19 is the last below 2^64.
var tenTo = func() (t [20]uint64) {
	t[0] = 1
	for k := 1; k < len(t); k++ {
		t[k] = t[k-1] * 10
	}
	return t
}()

// divPow10 returns n / 10^k rounded to the nearest float64 (ties to even)
// for n > 0 and k ≤ 19, by long division: the 64-bit quotient of n, shifted
// so it has 63 or 64 significant bits, by 10^k, with the remainder kept
// as a sticky bit, rounded to 53 bits. The result is always a normal
// float64 (it lies in [1e-19, 2^64)).
func divPow10(n uint64, k int) float64 {
	den := tenTo[k]
	ln, ld := bits.Len64(n), bits.Len64(den)
	n <<= 64 - ln // top bit set
	// (n << (ld-1)) / den as hi:lo / den; hi < 2^(ld-1) <= den, so the
	// quotient fits 64 bits, and it is at least n/2 >= 2^62.
	hi, lo := n>>(65-ld), n<<(ld-1) // den == 1: Go's n>>64 is 0
	q, r := bits.Div64(hi, lo, den)
	// n / den == (q + r/den) * 2^e
	e := ln - 64 - (ld - 1)
	drop := bits.Len64(q) - 53
	m := q >> drop
	rest, half := q&(1<<drop-1), uint64(1)<<(drop-1)
	if rest > half || rest == half && (r != 0 || m&1 == 1) {
		m++
	}
	e += drop
	if m == 1<<53 {
		m >>= 1
		e++
	}
	// m in [2^52, 2^53): the value is 1.fraction * 2^(e+52).
	return math.Float64frombits(uint64(e+52+1023)<<52 | m&(1<<52-1))
}

// rfc3339UTCMilli converts the strict form YYYY-MM-DDTHH:MM:SS(.d{1,9})?Z
// to Unix milliseconds. ok is false for anything else, including a field
// out of range, and the caller asks time.Parse, which decides; where ok is
// true time.Parse(time.RFC3339Nano, s) accepts s with the same instant.
func rfc3339UTCMilli(s []byte) (ms int64, ok bool) {
	if !rfc3339Shape(s) {
		return 0, false
	}
	base, ok1 := rfc3339Minute(s)
	rest, ok2 := rfc3339Seconds(s)
	return base + rest, ok1 && ok2
}

// rfc3339Shape checks the length s needs for the fast path's form; both
// halves below may then index s up to byte 19.
func rfc3339Shape(s []byte) bool {
	return len(s) >= len("2006-01-02T15:04:05Z") && len(s) <= len("2006-01-02T15:04:05.999999999Z")
}

// rfc3339Minute reads s[:16], YYYY-MM-DDTHH:MM, as the Unix milliseconds
// of that minute. It depends on those 16 bytes only, so a result may be
// kept for them (see Decoder.tsMilli).
func rfc3339Minute(s []byte) (ms int64, ok bool) {
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' {
		return 0, false
	}
	year, ok1 := digits4(s[0:4])
	month, ok2 := digits2(s[5:7])
	day, ok3 := digits2(s[8:10])
	hour, ok4 := digits2(s[11:13])
	minute, ok5 := digits2(s[14:16])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) ||
		month < 1 || month > 12 || day < 1 || day > daysInMonth(month, year) ||
		hour > 23 || minute > 59 {
		return 0, false
	}
	days := daysFromCivil(year, month, day)
	return ((days*24+int64(hour))*60 + int64(minute)) * 60_000, true
}

// rfc3339Seconds reads s[16:], :SS(.d{1,9})?Z, as milliseconds.
func rfc3339Seconds(s []byte) (ms int64, ok bool) {
	n := len(s)
	if s[n-1] != 'Z' || s[16] != ':' {
		return 0, false
	}
	sec, ok := digits2(s[17:19])
	if !ok || sec > 59 {
		return 0, false
	}
	var milli int64
	if n > len("2006-01-02T15:04:05Z") {
		// A fraction: '.', then 1 to 9 digits, then the 'Z' checked above.
		f := s[19 : n-1]
		if len(f) < 2 || f[0] != '.' {
			return 0, false
		}
		for j, c := range f[1:] {
			if c-'0' >= 10 {
				return 0, false
			}
			if j < 3 {
				milli = milli*10 + int64(c-'0')
			}
		}
		for j := len(f) - 1; j < 3; j++ {
			milli *= 10
		}
	}
	return int64(sec)*1000 + milli, true
}

// tsMilli is rfc3339UTCMilli keeping the minute of the last timestamp
// it read: the events of a partition come in time order, tens of
// thousands to a minute, so the date and time up to the minute are
// mostly the bytes of the last event's, compared as two words.
func (d *Decoder) tsMilli(s []byte) (ms int64, ok bool) {
	if !rfc3339Shape(s) {
		return 0, false
	}
	lo, hi := binary.LittleEndian.Uint64(s), binary.LittleEndian.Uint64(s[8:])
	if lo != d.tsLo || hi != d.tsHi || !d.tsKept {
		base, ok := rfc3339Minute(s)
		if !ok {
			return 0, false
		}
		d.tsLo, d.tsHi, d.tsMinute, d.tsKept = lo, hi, base, true
	}
	rest, ok := rfc3339Seconds(s)
	return d.tsMinute + rest, ok
}

func digits2(b []byte) (int, bool) {
	h, l := b[0]-'0', b[1]-'0'
	return int(h)*10 + int(l), h < 10 && l < 10
}

func digits4(b []byte) (int, bool) {
	hi, ok1 := digits2(b[0:2])
	lo, ok2 := digits2(b[2:4])
	return hi*100 + lo, ok1 && ok2
}

func daysInMonth(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to the proleptic Gregorian
// date, for years 0..9999: shift the year to start in March so the leap
// day is last, then count 400-year eras (146097 days each).
func daysFromCivil(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := int64(month+9) % 12
	doy := (153*mp+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
