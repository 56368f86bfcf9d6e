package processor

import (
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The lexical layer. Hot loops copy d.b and d.i into locals: the compiler
// cannot keep a field of *Decoder in a register across a loop, and the
// reloads cost more than the scan itself on short keys and values.

func malformed(detail string) error { return &DecodeError{ReasonMalformedJSON, detail} }

func quote(b []byte) string {
	if len(b) > 40 {
		return strconv.QuoteToASCII(string(b[:40])) + "…"
	}
	return strconv.QuoteToASCII(string(b))
}

// strPlain[c] is set for the bytes a string holds as they are with nothing to
// check: printable ASCII other than '"' and '\\'. Anything else ends the
// fast scan in str.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// ws skips whitespace. The test of one byte inlines; JSON from producers
// rarely has whitespace between tokens.
func (d *Decoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return
	}
	d.wsSlow()
}

func (d *Decoder) wsSlow() {
	b, i := d.b, d.i
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	d.i = i
}

func (d *Decoder) lit(s string) bool {
	return len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s
}

func (d *Decoder) colon() error {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return malformed("expected ':' at byte " + strconv.Itoa(d.i))
	}
	d.i++
	return nil
}

// next consumes ',' (more members follow) or the closing byte (done).
func (d *Decoder) next(closing byte) (done bool, err error) {
	d.ws()
	if d.i >= len(d.b) {
		return false, malformed("unexpected end of input")
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		d.ws()
		return false, nil
	case closing:
		d.i++
		return true, nil
	}
	return false, malformed("expected ',' or '" + string(closing) + "' at byte " + strconv.Itoa(d.i))
}

// str reads a JSON string and returns its content, unescaped. The bytes
// alias the message or the scratch buffer; valid until the next Decode.
func (d *Decoder) str() ([]byte, error) {
	d.ws()
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '"' {
		return nil, malformed("expected a string at byte " + strconv.Itoa(i))
	}
	i++
	start := i
	for len(b)-i >= 8 && plainWord(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	for i < len(b) && strPlain[b[i]] {
		i++
	}
	if i < len(b) && b[i] == '"' {
		d.i = i + 1
		return b[start:i], nil
	}
	d.i = i
	return d.strSlow(start)
}

// plainWord reports whether the 8 bytes of w are all strPlain. Event IDs
// and timestamps are 24 to 36 bytes, and a table lookup and branch per
// byte was most of str's cost. (x-0x01…)&^x&0x80… is nonzero exactly when
// some byte of x is zero, here of w^'"'… and w^'\\'…; (w-0x20…)&^w&0x80…
// exactly when some byte is below 0x20, given no byte from 0x80, which
// w&0x80… tests itself.
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ ('"' * ones)
	bs := w ^ ('\\' * ones)
	return (w|(q-ones)&^q|(bs-ones)&^bs|(w-0x20*ones)&^w)&highs == 0
}

// strSlow finishes a string whose bytes from start to d.i are plain ASCII
// and that goes on with an escape, a non-ASCII or a control byte, or ends
// early.
func (d *Decoder) strSlow(start int) ([]byte, error) {
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil, &DecodeError{ReasonInvalidUTF8, "string at byte " + strconv.Itoa(start) + " is not valid UTF-8"}
			}
			return s, nil
		case c == '\\':
			return d.strEscaped(start)
		case c < 0x20:
			return nil, malformed("control character in string at byte " + strconv.Itoa(d.i))
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
	return nil, malformed("unterminated string")
}

func (d *Decoder) strEscaped(start int) ([]byte, error) {
	out := len(d.scratch)
	d.scratch = append(d.scratch, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			s := d.scratch[out:]
			if !utf8.Valid(s) {
				return nil, &DecodeError{ReasonInvalidUTF8, "string at byte " + strconv.Itoa(start) + " is not valid UTF-8"}
			}
			return s, nil
		case c < 0x20:
			return nil, malformed("control character in string at byte " + strconv.Itoa(d.i))
		case c != '\\':
			d.scratch = append(d.scratch, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return nil, malformed("unterminated escape")
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			d.scratch = append(d.scratch, e)
		case 'b':
			d.scratch = append(d.scratch, '\b')
		case 'f':
			d.scratch = append(d.scratch, '\f')
		case 'n':
			d.scratch = append(d.scratch, '\n')
		case 'r':
			d.scratch = append(d.scratch, '\r')
		case 't':
			d.scratch = append(d.scratch, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, malformed("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.lit(`\u`) {
					d.i += 2
					if r2, ok = d.hex4(); !ok {
						return nil, malformed("bad \\u escape")
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
				} else {
					r = utf8.RuneError
					if r2 >= 0 {
						d.scratch = utf8.AppendRune(d.scratch, utf8.RuneError)
						r = r2
						if utf16.IsSurrogate(r2) {
							r = utf8.RuneError
						}
					}
				}
			}
			d.scratch = utf8.AppendRune(d.scratch, r)
		default:
			return nil, malformed("bad escape \\" + string(rune(e)))
		}
	}
	return nil, malformed("unterminated string")
}

func (d *Decoder) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// number scans a JSON number per RFC 8259 and returns its bytes. When the
// number is a plain decimal -?int(.frac)? whose value float64 computes
// exactly (see exactDecimal), exact is true and f is its value; otherwise
// the caller parses raw.
func (d *Decoder) number() (raw []byte, f float64, exact bool, err error) {
	b, start := d.b, d.i
	if start >= len(b) || b[start] == '-' && start+1 == len(b) {
		d.i = len(b)
		return nil, 0, false, malformed("bad number")
	}
	dec, i, ok := scanDecimal(b, start)
	if !ok {
		d.i = i
		return nil, 0, false, malformed("bad number at byte " + strconv.Itoa(start))
	}
	exact = true
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exact = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == s {
			d.i = i
			return nil, 0, false, malformed("bad number at byte " + strconv.Itoa(start))
		}
	}
	d.i = i
	if exact {
		f, exact = dec.exact()
	}
	return b[start:i], f, exact, nil
}

// decimal is -?int(.frac)? read digit by digit: mant holds all nd digits
// unless it wrapped (nd > 19), frac of them after the point.
type decimal struct {
	mant     uint64
	nd, frac int
	neg      bool
}

func (x decimal) exact() (float64, bool) { return exactDecimal(x.mant, x.nd, x.frac, x.neg) }

// appendDigits appends the decimal digits at b[i:] to mant and returns
// the index after them. mant may wrap past 19 digits; callers check the
// digit count before trusting it.
func appendDigits(b []byte, i int, mant *uint64) int {
	m := *mant
	for i < len(b) && b[i]-'0' < 10 {
		m = m*10 + uint64(b[i]-'0')
		i++
	}
	*mant = m
	return i
}

// scanDecimal reads -?(0|[1-9][0-9]*)(\.[0-9]+)? from b[i:], returning
// the index after it; ok is false where that grammar fails. An exponent
// part, if any, is left to the caller.
func scanDecimal(b []byte, i int) (x decimal, j int, ok bool) {
	if i < len(b) && b[i] == '-' {
		x.neg = true
		i++
	}
	if i >= len(b) {
		return x, i, false
	}
	if b[i] == '0' {
		i++
	} else {
		s := i
		if i = appendDigits(b, i, &x.mant); i == s {
			return x, i, false
		}
		x.nd = i - s
	}
	if i < len(b) && b[i] == '.' {
		i++
		s := i
		if i = appendDigits(b, i, &x.mant); i == s {
			return x, i, false
		}
		x.frac = i - s
		x.nd += x.frac
	}
	return x, i, true
}

// skip consumes any JSON value, validating it, up to maxDepth nesting.
func (d *Decoder) skip() error {
	d.ws()
	if d.i >= len(d.b) {
		return malformed("unexpected end of input")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, _, _, err := d.number()
		return err
	case d.lit("null"), d.lit("true"):
		d.i += 4
		return nil
	case d.lit("false"):
		d.i += 5
		return nil
	case c == '{' || c == '[':
		d.depth++
		if d.depth > maxDepth {
			return &DecodeError{ReasonTooDeep, "nesting deeper than " + strconv.Itoa(maxDepth)}
		}
		defer func() { d.depth-- }()
		d.i++
		d.ws()
		closing := byte(']')
		if c == '{' {
			closing = '}'
		}
		if d.i < len(d.b) && d.b[d.i] == closing {
			d.i++
			return nil
		}
		for {
			if c == '{' {
				if _, err := d.str(); err != nil {
					return err
				}
				if err := d.colon(); err != nil {
					return err
				}
			}
			if err := d.skip(); err != nil {
				return err
			}
			done, err := d.next(closing)
			if err != nil || done {
				return err
			}
		}
	}
	return malformed("unexpected " + quote(d.b[d.i:d.i+1]) + " at byte " + strconv.Itoa(d.i))
}

// token is a byte string the input is expected to hold at some place, such
// as a key with its quotes and colon as the last event wrote it. Comparing
// the input with it two words at a time replaces scanning the string,
// checking its bytes and looking it up: bytes equal to a token's are known
// to be good.
type token struct {
	s      string
	lo, hi uint64 // s's first and last 8 bytes; both s, zero-padded, if shorter
	mask   uint64 // the bytes of lo and hi that belong to s
	off    int    // where hi starts in s
}

func makeToken(s string) token {
	t := token{s: s, mask: ^uint64(0)}
	var w [16]byte
	copy(w[:], s)
	t.lo = binary.LittleEndian.Uint64(w[:8])
	if len(s) < 8 {
		t.mask = 1<<(8*len(s)) - 1
		t.hi = t.lo
	} else if len(s) <= 16 {
		t.off = len(s) - 8
		t.hi = binary.LittleEndian.Uint64([]byte(s[t.off:]))
	}
	return t
}

// at reports whether b[i:] begins with t.s. The two loads may overlap, and
// read bytes past t.s, which the mask drops: at needs 16 bytes of input
// for them, and compares strings otherwise.
func (t *token) at(b []byte, i int) bool {
	if len(t.s) <= 16 && i >= 0 && len(b)-i >= 16 {
		return binary.LittleEndian.Uint64(b[i:])&t.mask == t.lo &&
			binary.LittleEndian.Uint64(b[i+t.off:])&t.mask == t.hi
	}
	return len(b)-i >= len(t.s) && string(b[i:i+len(t.s)]) == t.s
}
