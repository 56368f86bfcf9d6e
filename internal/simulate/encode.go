package simulate

import (
	"math"
	"strconv"
	"time"
)

var (
	pow10f = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}
	pow10i = [...]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}
)

// appendFixed appends v rounded to the given decimals (0 to 15), or null
// when v is not a finite number (JSON has no NaN or Inf). It is the hot
// path of encoding, so values whose scaled magnitude fits in 2^53 are
// rounded in integer arithmetic (half away from zero on the scaled binary
// value) instead of strconv's exact decimal conversion; the result differs
// from strconv.AppendFloat only on exact-looking halves, in the last digit.
func appendFixed(b []byte, v float64, decimals int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	scaled := math.Round(v * pow10f[decimals])
	if math.Abs(scaled) >= 1<<53 {
		return strconv.AppendFloat(b, v, 'f', decimals, 64)
	}
	n := int64(scaled)
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	b = strconv.AppendInt(b, n/pow10i[decimals], 10)
	if decimals == 0 {
		return b
	}
	b = append(b, '.')
	frac := n % pow10i[decimals]
	for p := decimals - 1; p >= 0; p-- {
		b = append(b, byte('0'+frac/pow10i[p]%10))
	}
	return b
}

// eventID derives a 128-bit event id from the seed and the prediction's
// sequence number. The high half is a bijection of seq for a given seed
// (an odd multiplier, then an invertible mixer), so ids never collide
// within a run; different seeds give unrelated ids.
func eventID(seed, seq uint64) (hi, lo uint64) {
	hi = mix64(seed + (seq+1)*0x9e3779b97f4a7c15)
	lo = mix64(hi ^ (seed*0xd1b54a32d192ed03 + 0x632be59bd9b4e019))
	return hi, lo
}

// mix64 is the SplitMix64 finaliser, a bijection on uint64.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

const hexDigits = "0123456789abcdef"

func appendID(b []byte, hi, lo uint64) []byte {
	var out [32]byte
	for i := 15; i >= 0; i-- {
		out[i] = hexDigits[hi&0xf]
		hi >>= 4
		out[16+i] = hexDigits[lo&0xf]
		lo >>= 4
	}
	return append(b, out[:]...)
}

// tsFormatter writes RFC 3339 UTC timestamps with milliseconds
// (2026-11-23T10:00:00.123Z), caching the date of the last day seen so the
// common case is a few divisions.
type tsFormatter struct {
	day    int64 // Unix day of the cached date; valid when date != ""
	date   string
	dayEnd int64
}

const msPerDay = 24 * 60 * 60 * 1000

func (f *tsFormatter) append(b []byte, ns int64) []byte {
	ms := floorDiv(ns, int64(time.Millisecond))
	day := floorDiv(ms, msPerDay)
	if f.date == "" || day != f.day {
		f.day = day
		f.date = time.UnixMilli(day * msPerDay).UTC().Format("2006-01-02T")
	}
	b = append(b, f.date...)
	rem := ms - day*msPerDay
	b = append2(b, rem/3_600_000)
	b = append(b, ':')
	b = append2(b, rem/60_000%60)
	b = append(b, ':')
	b = append2(b, rem/1000%60)
	b = append(b, '.')
	milli := rem % 1000
	b = append(b, byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10), 'Z')
	return b
}

func append2(b []byte, v int64) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// pendingOutcome is an outcome waiting for the stream to reach its time.
type pendingOutcome struct {
	ts     int64
	hi, lo uint64
	model  int32
	label  bool
}

// outcomeQueue is a FIFO. One label delay for every model keeps it sorted
// by time, since predictions are pushed in time order.
type outcomeQueue struct {
	items []pendingOutcome
	head  int
}

func (q *outcomeQueue) len() int { return len(q.items) - q.head }

func (q *outcomeQueue) peek() *pendingOutcome { return &q.items[q.head] }

func (q *outcomeQueue) push(o pendingOutcome) {
	// Reclaim the consumed prefix once it is at least half the slice, so
	// the queue stays within twice its live size without per-push work.
	if q.head > 0 && q.head >= len(q.items)/2 && len(q.items) == cap(q.items) {
		n := copy(q.items, q.items[q.head:])
		q.items = q.items[:n]
		q.head = 0
	}
	q.items = append(q.items, o)
}

func (q *outcomeQueue) pop() pendingOutcome {
	o := q.items[q.head]
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return o
}
