package stats

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonSyntaxError is a JSON Lines problem at a byte column of its line.
type jsonSyntaxError struct {
	col int
	err error
}

func (e *jsonSyntaxError) Error() string { return fmt.Sprintf("column %d: %v", e.col, e.err) }

// parseFlatObject parses one JSON object whose values are scalars (string,
// number, boolean, null) and calls visit for each member in order. Rows of
// compare and baseline input are flat; a nested object or array is
// reported, not skipped, since it is certainly a mistake in such a file.
// The grammar is RFC 8259's; FuzzParseFlatObject checks it agrees with
// encoding/json.
func parseFlatObject(b []byte, visit func(key string, c Cell) error) error {
	p := flatParser{b: b}
	p.space()
	if !p.eat('{') {
		return p.fail("want a JSON object")
	}
	p.space()
	if p.eat('}') {
		return p.end()
	}
	for {
		p.space()
		if p.peek() != '"' {
			return p.fail("want a string key")
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		p.space()
		if !p.eat(':') {
			return p.fail("want ':' after key")
		}
		p.space()
		c, err := p.value()
		if err != nil {
			return err
		}
		if err := visit(key, c); err != nil {
			return err
		}
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return p.end()
		}
		return p.fail("want ',' or '}'")
	}
}

type flatParser struct {
	b []byte
	i int
}

func (p *flatParser) fail(msg string) error {
	what := "end of line"
	if p.i < len(p.b) {
		what = strconv.QuoteRune(rune(p.b[p.i]))
		if r, _ := utf8.DecodeRune(p.b[p.i:]); r != utf8.RuneError {
			what = strconv.QuoteRune(r)
		}
	}
	return &jsonSyntaxError{col: p.i + 1, err: fmt.Errorf("%s, got %s", msg, what)}
}

func (p *flatParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *flatParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *flatParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *flatParser) end() error {
	p.space()
	if p.i != len(p.b) {
		return p.fail("want end of line after the object")
	}
	return nil
}

func (p *flatParser) value() (Cell, error) {
	col := p.i + 1
	switch c := p.peek(); {
	case c == '"':
		s, err := p.str()
		return Cell{Text: s, JSON: 's', Column: col}, err
	case c == '-' || (c >= '0' && c <= '9'):
		s, err := p.number()
		return Cell{Text: s, JSON: 'n', Column: col}, err
	case c == '{' || c == '[':
		return Cell{}, &jsonSyntaxError{col: col, err: errors.New("nested objects and arrays are not supported in a row")}
	}
	for _, lit := range []struct {
		word string
		cell Cell
	}{
		{"null", Cell{Null: true, Column: col}},
		{"true", Cell{Text: "true", JSON: 'b', Column: col}},
		{"false", Cell{Text: "false", JSON: 'b', Column: col}},
	} {
		if len(p.b)-p.i >= len(lit.word) && string(p.b[p.i:p.i+len(lit.word)]) == lit.word {
			p.i += len(lit.word)
			return lit.cell, nil
		}
	}
	return Cell{}, p.fail("want a value")
}

func (p *flatParser) number() (string, error) {
	start := p.i
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.peek() >= '1' && p.peek() <= '9':
		p.digits()
	default:
		return "", p.fail("want a digit")
	}
	if p.eat('.') {
		if !isDigit(p.peek()) {
			return "", p.fail("want a digit after '.'")
		}
		p.digits()
	}
	if p.peek() == 'e' || p.peek() == 'E' {
		p.i++
		if !p.eat('+') {
			p.eat('-')
		}
		if !isDigit(p.peek()) {
			return "", p.fail("want a digit in the exponent")
		}
		p.digits()
	}
	return string(p.b[start:p.i]), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *flatParser) digits() {
	for p.i < len(p.b) && isDigit(p.b[p.i]) {
		p.i++
	}
}

// str parses a JSON string starting at its opening quote.
func (p *flatParser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	// Fast path: no escapes, valid UTF-8, no control characters.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string([]rune(string(s))), nil // invalid bytes become U+FFFD, as encoding/json does
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	p.i = start
	var out []byte
	for {
		if p.i >= len(p.b) {
			return "", p.fail("unterminated string")
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string([]rune(string(out))), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		default:
			out = append(out, c)
			p.i++
		}
	}
}

func (p *flatParser) escape() (rune, error) {
	p.i++ // backslash
	if p.i >= len(p.b) {
		return 0, p.fail("unterminated escape")
	}
	c := p.b[p.i]
	p.i++
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, err := p.hex4()
		if err != nil {
			return 0, err
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate followed by an escaped low one is one rune;
			// anything else is replaced, as encoding/json does.
			save := p.i
			if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
				p.i += 2
				if r2, err := p.hex4(); err == nil {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						return d, nil
					}
				}
			}
			p.i = save
			return utf8.RuneError, nil
		}
		return r, nil
	}
	p.i--
	return 0, p.fail("invalid escape")
}

func (p *flatParser) hex4() (rune, error) {
	if len(p.b)-p.i < 4 {
		return 0, p.fail("want four hex digits")
	}
	v, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, p.fail("want four hex digits")
	}
	p.i += 4
	return rune(v), nil
}
