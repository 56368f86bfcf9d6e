package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// The predictions file that `driftd simulate --out-file` writes with the
// same seed holds, in the same order, exactly what the predictions topic
// holds. The bench reads it once: every timestamp (to know which
// prediction closes which window) and, for the first peerRows rows, the
// features, written as a flat CSV that driftd compare and the peers read.

// streamInfo is what the bench needs from the predictions stream.
type streamInfo struct {
	rows int64
	// closes[i] is the window whose close the prediction with index
	// closeAt[i] triggers: the first one with ts >= window end + lateness
	// (the watermark is max prediction ts - lateness).
	closes  []time.Time // window starts
	closeAt []int64     // prediction index (0-based) = offset in its partition
	columns []string
}

// closeTracker finds, in a stream of prediction timestamps, the index of
// the prediction that closes each tumbling window.
type closeTracker struct {
	size, lateness time.Duration
	open           map[time.Time]bool
	maxTS          time.Time
	closes         []time.Time
	closeAt        []int64
}

func newCloseTracker(size, lateness time.Duration) *closeTracker {
	return &closeTracker{size: size, lateness: lateness, open: map[time.Time]bool{}}
}

// observe applies prediction i with event time ts, in stream order.
func (c *closeTracker) observe(i int64, ts time.Time) {
	if ts.After(c.maxTS) {
		c.maxTS = ts
		wm := ts.Add(-c.lateness)
		var closed []time.Time
		for start := range c.open {
			if !start.Add(c.size).After(wm) {
				closed = append(closed, start)
			}
		}
		slices.SortFunc(closed, time.Time.Compare)
		for _, start := range closed {
			delete(c.open, start)
			c.closes = append(c.closes, start)
			c.closeAt = append(c.closeAt, i)
		}
	}
	start := ts.Truncate(c.size)
	if !start.Add(c.size).After(c.maxTS.Add(-c.lateness)) {
		return // late: the engine counts it, the window is already closed
	}
	c.open[start] = true
}

// scanPredictions reads schema-v1 predictions JSON Lines from r, tracks
// window closes, and writes the features of the first csvRows rows to csv.
func scanPredictions(r io.Reader, csv io.Writer, csvRows int64, size, lateness time.Duration) (*streamInfo, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	bw := bufio.NewWriterSize(csv, 1<<20)
	tr := newCloseTracker(size, lateness)
	info := &streamInfo{}
	var keys, vals [][]byte
	var line int64
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("line %d: longer than 1 MiB", line+1)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			line++
			ts, err := eventTime(b)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			tr.observe(info.rows, ts)
			if info.rows < csvRows {
				keys, vals, err = flatFeatures(b, keys[:0], vals[:0])
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", line, err)
				}
				if info.columns == nil {
					for _, k := range keys {
						info.columns = append(info.columns, string(k))
					}
					bw.WriteString(strings.Join(info.columns, ",") + "\n")
				}
				if err := writeCSVRow(bw, info.columns, keys, vals); err != nil {
					return nil, fmt.Errorf("line %d: %w", line, err)
				}
			}
			info.rows++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading predictions: %w", err)
		}
	}
	info.closes, info.closeAt = tr.closes, tr.closeAt
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("writing CSV: %w", err)
	}
	return info, nil
}

var tsKey = []byte(`"ts":"`)

// eventTime returns the "ts" of one event line.
func eventTime(line []byte) (time.Time, error) {
	i := bytes.Index(line, tsKey)
	if i < 0 {
		return time.Time{}, errors.New(`no "ts"`)
	}
	rest := line[i+len(tsKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, errors.New(`unterminated "ts"`)
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing ts: %w", err)
	}
	return t, nil
}

var featuresKey = []byte(`"features":{`)

// flatFeatures returns the keys and raw values of the "features" object
// of a simulate line: numbers, null, or strings without escapes (what
// simulate writes). Anything else is an error rather than a guess.
func flatFeatures(line []byte, keys, vals [][]byte) ([][]byte, [][]byte, error) {
	i := bytes.Index(line, featuresKey)
	if i < 0 {
		return nil, nil, errors.New(`no "features" object`)
	}
	s := line[i+len(featuresKey):]
	for {
		if len(s) > 0 && s[0] == '}' {
			return keys, vals, nil
		}
		if len(s) == 0 || s[0] != '"' {
			return nil, nil, errors.New("features: want a key")
		}
		end := bytes.IndexByte(s[1:], '"')
		if end < 0 || len(s) < end+3 || s[end+2] != ':' {
			return nil, nil, errors.New("features: bad key")
		}
		keys = append(keys, s[1:end+1])
		s = s[end+3:]
		var v []byte
		if len(s) > 0 && s[0] == '"' {
			e := bytes.IndexByte(s[1:], '"')
			if e < 0 || bytes.IndexByte(s[1:e+1], '\\') >= 0 {
				return nil, nil, fmt.Errorf("features.%s: unsupported string", keys[len(keys)-1])
			}
			v, s = s[1:e+1], s[e+2:]
		} else {
			e := bytes.IndexAny(s, ",}")
			if e < 0 {
				return nil, nil, fmt.Errorf("features.%s: unterminated value", keys[len(keys)-1])
			}
			v, s = s[:e], s[e:]
			if bytes.Equal(v, []byte("null")) {
				v = nil
			}
		}
		vals = append(vals, v)
		if len(s) > 0 && s[0] == ',' {
			s = s[1:]
		}
	}
}

// writeCSVRow writes one row in the header's column order; a null is an
// empty cell (what peers.py and driftd compare read as missing).
func writeCSVRow(w *bufio.Writer, columns []string, keys, vals [][]byte) error {
	if len(keys) != len(columns) {
		return fmt.Errorf("%d features, the first row had %d", len(keys), len(columns))
	}
	for i, col := range columns {
		if string(keys[i]) != col {
			return fmt.Errorf("feature %q where the first row had %q", keys[i], col)
		}
		if i > 0 {
			w.WriteByte(',')
		}
		if bytes.ContainsAny(vals[i], ",\"\n") {
			return fmt.Errorf("features.%s: value %q needs CSV quoting", col, vals[i])
		}
		w.Write(vals[i])
	}
	return w.WriteByte('\n')
}

func scanPredictionsFile(path, csvPath string, csvRows int64, size, lateness time.Duration) (*streamInfo, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := os.Create(csvPath)
	if err != nil {
		return nil, err
	}
	info, err := scanPredictions(in, out, csvRows, size, lateness)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %s: %w", csvPath, cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}
