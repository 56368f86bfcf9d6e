package stats

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// InputError is bad input at a place in a file. Line and Column are
// 1-based; Column counts bytes, as encoding/csv does.
type InputError struct {
	File         string
	Line, Column int
	Err          error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// Cell is one value of a row as read from a file, before it is given a
// type. Absent marks an absent JSON key, Null a JSON null; a CSV cell is
// never either.
type Cell struct {
	Text         string
	Absent, Null bool
	// JSON is the JSON kind of the value: 's' string, 'n' number,
	// 'b' boolean, 0 for CSV cells.
	JSON         byte
	Line, Column int
}

// TableReader reads the rows of a CSV or JSON Lines file one at a time,
// holding one row in memory.
//
// Column must be called for every column of interest before the first
// Next; it returns the index to pass to Cell. Cells of a row are valid
// until the next call to Next.
type TableReader interface {
	Column(name string) int
	Next() (bool, error)
	Cell(i int) Cell
	// Keys lists the columns seen so far: the CSV header, or the JSON keys
	// of the rows read, in order of first appearance.
	Keys() []string
	// Line is the line of the row last read.
	Line() int
}

// NewTableReader reads CSV when name ends in ".csv" and JSON Lines when it
// ends in ".jsonl"; name is used in errors.
func NewTableReader(r io.Reader, name string) (TableReader, error) {
	switch {
	case strings.HasSuffix(name, ".csv"):
		return newCSVReader(r, name)
	case strings.HasSuffix(name, ".jsonl"):
		return newJSONLReader(r, name), nil
	}
	return nil, fmt.Errorf("%s: unknown file type: want a name ending in .csv or .jsonl", name)
}

type csvReader struct {
	name   string
	r      *csv.Reader
	header []string
	index  map[string]int
	rec    []string
	line   int
}

func newCSVReader(r io.Reader, name string) (*csvReader, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	c := &csvReader{name: name, r: cr, index: map[string]int{}}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &InputError{File: name, Line: 1, Column: 1, Err: errors.New("empty file: want a header row")}
		}
		return nil, c.wrap(err)
	}
	c.header = append([]string(nil), header...)
	if len(c.header) > 0 {
		c.header[0] = strings.TrimPrefix(c.header[0], "\uFEFF")
	}
	for i, h := range c.header {
		if _, dup := c.index[h]; dup {
			line, col := cr.FieldPos(i)
			return nil, &InputError{File: name, Line: line, Column: col, Err: fmt.Errorf("duplicate column %q", h)}
		}
		c.index[h] = i
	}
	cr.FieldsPerRecord = len(c.header)
	return c, nil
}

func (c *csvReader) wrap(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &InputError{File: c.name, Line: pe.Line, Column: max(pe.Column, 1), Err: pe.Err}
	}
	return fmt.Errorf("reading %s: %w", c.name, err)
}

func (c *csvReader) Column(name string) int {
	if i, ok := c.index[name]; ok {
		return i
	}
	return -1
}

func (c *csvReader) Next() (bool, error) {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, c.wrap(err)
	}
	c.rec = rec
	c.line, _ = c.r.FieldPos(0)
	return true, nil
}

func (c *csvReader) Cell(i int) Cell {
	if i < 0 {
		return Cell{Absent: true, Line: c.line, Column: 1}
	}
	line, col := c.r.FieldPos(i)
	return Cell{Text: c.rec[i], Line: line, Column: col}
}

func (c *csvReader) Keys() []string { return c.header }
func (c *csvReader) Line() int      { return c.line }

// maxLineBytes bounds one JSON Lines row so a file without newlines cannot
// exhaust memory.
const maxLineBytes = 64 << 20

type jsonlReader struct {
	name  string
	br    *bufio.Reader
	index map[string]int
	cells []Cell
	keys  []string
	seen  map[string]bool
	line  int
	buf   []byte
	// auto registers every key as a column when first seen, for the pass
	// that discovers the columns of a file.
	auto bool
}

func newJSONLReader(r io.Reader, name string) *jsonlReader {
	return &jsonlReader{name: name, br: bufio.NewReaderSize(r, 1<<16),
		index: map[string]int{}, seen: map[string]bool{}}
}

func (j *jsonlReader) Column(name string) int {
	if i, ok := j.index[name]; ok {
		return i
	}
	j.index[name] = len(j.cells)
	j.cells = append(j.cells, Cell{Absent: true})
	return len(j.cells) - 1
}

func (j *jsonlReader) Next() (bool, error) {
	for {
		line, err := j.readLine()
		if err != nil {
			return false, err
		}
		if line == nil {
			return false, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines, including a trailing one, carry no row
		}
		for i := range j.cells {
			j.cells[i] = Cell{Absent: true, Line: j.line, Column: 1}
		}
		if err := parseFlatObject(line, j.visit); err != nil {
			var se *jsonSyntaxError
			if errors.As(err, &se) {
				return false, &InputError{File: j.name, Line: j.line, Column: se.col, Err: se.err}
			}
			return false, err
		}
		return true, nil
	}
}

// readLine returns the next line without its newline, nil at the end.
func (j *jsonlReader) readLine() ([]byte, error) {
	j.buf = j.buf[:0]
	for {
		chunk, err := j.br.ReadSlice('\n')
		j.buf = append(j.buf, chunk...)
		if len(j.buf) > maxLineBytes {
			return nil, &InputError{File: j.name, Line: j.line + 1, Column: 1,
				Err: fmt.Errorf("line longer than %d bytes", maxLineBytes)}
		}
		switch {
		case err == nil:
			j.line++
			return bytes.TrimSuffix(bytes.TrimSuffix(j.buf, []byte("\n")), []byte("\r")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(j.buf) == 0 {
				return nil, nil
			}
			j.line++
			return bytes.TrimSuffix(j.buf, []byte("\r")), nil
		default:
			return nil, fmt.Errorf("reading %s: %w", j.name, err)
		}
	}
}

func (j *jsonlReader) visit(key string, c Cell) error {
	if !j.seen[key] {
		j.seen[key] = true
		j.keys = append(j.keys, key)
	}
	i, ok := j.index[key]
	if !ok {
		if !j.auto {
			return nil
		}
		i = j.Column(key)
	}
	if !j.cells[i].Absent {
		return &jsonSyntaxError{col: c.Column, err: fmt.Errorf("duplicate key %q", key)}
	}
	c.Line = j.line
	j.cells[i] = c
	return nil
}

func (j *jsonlReader) Cell(i int) Cell {
	if i < 0 {
		return Cell{Absent: true, Line: j.line, Column: 1}
	}
	return j.cells[i]
}

func (j *jsonlReader) Keys() []string { return j.keys }
func (j *jsonlReader) Line() int      { return j.line }
