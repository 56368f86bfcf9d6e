package stats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The checkpoint format of a WindowAccumulator: a magic, a version, then
// the state in a fixed order (features by name, categories by name, so
// equal states give equal bytes). Bump accumulatorFormat on any change and
// keep reading the old versions.
const (
	accumulatorMagic  = "DDWA"
	accumulatorFormat = 1
)

// MarshalBinary encodes the window's state for a checkpoint.
func (w *WindowAccumulator) MarshalBinary() ([]byte, error) {
	e := &encoder{b: make([]byte, 0, w.sizeHint())}
	e.b = append(e.b, accumulatorMagic...)
	e.uvarint(accumulatorFormat)
	e.varint(w.events)
	e.varint(w.outcome)
	names := w.sortedFeatureNames()
	e.uvarint(uint64(len(names)))
	for _, n := range names {
		e.str(n)
		w.feats[n].encode(e)
	}
	w.pred.encode(e)
	w.perf.encode(e)
	w.lat.encode(e)
	return e.b, nil
}

// sizeHint is about the encoded size: most of it is sketch values, so the
// buffer is allocated once instead of doubling through the megabytes.
func (w *WindowAccumulator) sizeHint() int {
	n := 1024 + w.pred.sizeHint() + w.lat.sizeHint()
	for _, f := range w.slots {
		n += f.sizeHint()
	}
	for _, s := range w.perf.scores {
		if s != nil {
			n += s.sizeHint()
		}
	}
	return n
}

func (f *featureAcc) sizeHint() int {
	n := 64 + len(f.name) + 10*len(f.bins)
	if f.sketch != nil {
		n += f.sketch.sizeHint()
	}
	if f.cats != nil {
		for _, c := range f.cats.names {
			n += len(c) + 12
		}
	}
	return n
}

func (s *Sketch) sizeHint() int {
	n := 16 + 8*len(s.base)
	for _, lv := range s.levels {
		n += 8*len(lv) + 12
	}
	return n
}

// UnmarshalBinary restores a state written by MarshalBinary into a window
// made by NewWindowAccumulator with the same profile and options.
func (w *WindowAccumulator) UnmarshalBinary(b []byte) error {
	d := &decoder{b: b}
	if len(b) < len(accumulatorMagic) || string(b[:len(accumulatorMagic)]) != accumulatorMagic {
		return errors.New("decoding window state: not a driftd window checkpoint")
	}
	d.i = len(accumulatorMagic)
	if v := d.uvarint(); d.err == nil && v != accumulatorFormat {
		return fmt.Errorf("decoding window state: format version %d: this driftd reads version %d", v, accumulatorFormat)
	}
	fresh := NewWindowAccumulator(w.profile, w.opts)
	fresh.events = d.varint()
	fresh.outcome = d.varint()
	n := d.count(2)
	prev := ""
	for i := 0; i < n && d.err == nil; i++ {
		name := d.str()
		if i > 0 && name <= prev {
			d.fail("features out of order")
		}
		prev = name
		f := fresh.feats[name]
		if f == nil {
			if w.profile != nil {
				d.fail(fmt.Sprintf("feature %q is not in the profile", name))
				break
			}
			f = fresh.addFeature(name, "", nil)
		}
		f.decode(d, w.opts.SketchExactLimit)
	}
	fresh.pred.decode(d, w.opts.SketchExactLimit)
	fresh.perf.decode(d)
	fresh.lat.decode(d)
	if d.err == nil && d.i != len(d.b) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return fmt.Errorf("decoding window state: %w", d.err)
	}
	*w = *fresh
	return nil
}

func (f *featureAcc) encode(e *encoder) {
	e.str(f.typ)
	e.varint(f.count)
	switch f.typ {
	case Numeric:
		e.uvarint(uint64(len(f.bins)))
		for _, c := range f.bins {
			e.varint(c)
		}
		e.varint(f.outside)
		e.f64(f.min)
		e.f64(f.max)
		e.f64(f.mean)
		e.f64(f.m2)
		f.sketch.encode(e)
	case Categorical:
		keys := f.cats.sorted()
		e.uvarint(uint64(len(keys)))
		for _, k := range keys {
			e.str(k)
			e.varint(f.cats.get(k))
		}
	}
}

func (f *featureAcc) decode(d *decoder, exactLimit int) {
	typ := d.str()
	if d.err != nil {
		return
	}
	switch {
	case typ == "":
	case typ != Numeric && typ != Categorical:
		d.fail(fmt.Sprintf("feature type %q", typ))
		return
	case f.typ == "":
		f.setType(typ, exactLimit)
	case f.typ != typ:
		d.fail(fmt.Sprintf("feature %q is %s in the profile, %s in the checkpoint", f.name, f.typ, typ))
		return
	}
	f.count = d.nonNeg()
	switch typ {
	case Numeric:
		nb := d.count(1)
		if d.err == nil && f.bins != nil && nb != len(f.bins) {
			d.fail(fmt.Sprintf("feature %q has %d bins, the profile %d", f.name, nb, len(f.bins)))
			return
		}
		if d.err == nil && f.bins == nil && nb != 0 {
			d.fail("bins without a baseline")
			return
		}
		for i := 0; i < nb && d.err == nil; i++ {
			f.bins[i] = d.nonNeg()
		}
		f.outside = d.nonNeg()
		f.min, f.max, f.mean, f.m2 = d.f64(), d.f64(), d.f64(), d.f64()
		f.sketch.decode(d)
	case Categorical:
		f.cats.reset()
		n := d.count(2)
		prev := ""
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			if i > 0 && k <= prev {
				d.fail("categories out of order")
			}
			prev = k
			i, _ := f.cats.slot(k, true)
			f.cats.setCount(int(i), d.nonNeg())
		}
	}
}

func (s *Sketch) encode(e *encoder) {
	e.varint(s.n)
	e.uvarint(uint64(len(s.levels)))
	// Order within a level carries no meaning; sorted bytes are
	// canonical. Levels above 0 are kept sorted; level 0 is sorted here.
	s.sortLevel0()
	for h := range s.levels {
		lv := s.level(h)
		e.uvarint(uint64(len(lv)))
		e.f64s(lv)
		e.bool(s.flips[h])
	}
}

func (s *Sketch) decode(d *decoder) {
	n := d.nonNeg()
	nl := d.count(2)
	if nl > 62 {
		d.fail("sketch has too many levels")
		return
	}
	levels := make([][]float64, 0, max(nl, 1))
	flips := make([]bool, 0, max(nl, 1))
	var sum int64
	for h := 0; h < nl && d.err == nil; h++ {
		m := d.count(8)
		lv := make([]float64, 0, m)
		for i := 0; i < m && d.err == nil; i++ {
			v := d.f64()
			if math.IsNaN(v) || math.IsInf(v, 0) {
				d.fail("sketch holds a non-finite value")
			}
			lv = append(lv, v)
		}
		if h > 0 {
			slices.Sort(lv) // levels above 0 are kept sorted
		}
		levels = append(levels, lv)
		flips = append(flips, d.bool())
		sum += int64(m) << h
	}
	if d.err != nil {
		return
	}
	if sum != n {
		d.fail(fmt.Sprintf("sketch levels hold %d values, count is %d", sum, n))
		return
	}
	if len(levels) == 0 {
		levels, flips = [][]float64{nil}, []bool{false}
	}
	if n <= s.limit && int64(len(levels[0])) != n {
		d.fail("exact sketch with compacted levels")
		return
	}
	s.n, s.base, s.levels, s.flips = n, levels[0], levels, flips
	levels[0] = nil
}

func (a *perfAccumulator) encode(e *encoder) {
	e.str(a.task)
	e.str(a.positive)
	e.bool(a.classOff)
	e.bool(a.scoreGiven)
	e.varint(a.support)
	// Labels in byte order, not first-seen order, so the bytes do not
	// depend on the order events arrived in.
	order := make([]int, len(a.labels))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(a.labels[x], a.labels[y]) })
	e.uvarint(uint64(len(a.labels)))
	for _, i := range order {
		e.str(a.labels[i])
		e.bool(a.targetOK[i])
	}
	for _, t := range order {
		for _, p := range order {
			e.varint(a.conf[t][p])
		}
		e.bool(a.scores[t] != nil)
		if a.scores[t] != nil {
			a.scores[t].encode(e)
		}
	}
	e.varint(a.regN)
	for _, s := range []neumaier{a.regErr, a.regAbs, a.regSq} {
		e.f64(s.sum)
		e.f64(s.c)
	}
	ds := make([]float64, 0, len(a.regDistinct))
	for v := range a.regDistinct {
		ds = append(ds, v)
	}
	slices.Sort(ds)
	e.uvarint(uint64(len(ds)))
	for _, v := range ds {
		e.f64(v)
	}
}

func (a *perfAccumulator) decode(d *decoder) {
	a.task, a.positive = d.str(), d.str()
	a.classOff, a.scoreGiven = d.bool(), d.bool()
	a.support = d.nonNeg()
	n := d.count(2)
	if n > maxClassLabels {
		d.fail("too many labels")
		return
	}
	for i := 0; i < n && d.err == nil; i++ {
		l := d.str()
		if i > 0 && l <= a.labels[i-1] {
			d.fail("labels out of order")
			return
		}
		a.labelID(l)
		a.targetOK[i] = d.bool()
	}
	for t := 0; t < n && d.err == nil; t++ {
		for p := 0; p < n; p++ {
			a.conf[t][p] = d.nonNeg()
		}
		if d.bool() {
			a.scores[t] = NewSketch(a.exactLimit)
			a.scores[t].decode(d)
		}
	}
	a.regN = d.nonNeg()
	for _, s := range []*neumaier{&a.regErr, &a.regAbs, &a.regSq} {
		s.sum, s.c = d.f64(), d.f64()
	}
	m := d.count(8)
	if m > 21 {
		d.fail("too many distinct targets")
		return
	}
	for i := 0; i < m && d.err == nil; i++ {
		a.regDistinct[d.f64()] = struct{}{}
	}
}

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) f64(v float64)    { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }

// f64s writes vs as e.f64 would, one at a time, with one bounds check.
func (e *encoder) f64s(vs []float64) {
	n := len(e.b)
	e.b = slices.Grow(e.b, 8*len(vs))[:n+8*len(vs)]
	out := e.b[n:]
	for i, v := range vs {
		binary.LittleEndian.PutUint64(out[8*i:8*i+8], math.Float64bits(v))
	}
}
func (e *encoder) str(s string) { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// decoder reads what encoder wrote; the first problem sticks in err and
// later reads return zero values, so callers check once.
type decoder struct {
	b   []byte
	i   int
	err error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %s", d.i, msg)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.i:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) nonNeg() int64 {
	v := d.varint()
	if v < 0 {
		d.fail("negative count")
		return 0
	}
	return v
}

// count reads a length whose items take at least minBytes each, so a
// corrupt length cannot make the decoder allocate more than the input.
func (d *decoder) count(minBytes int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64((len(d.b)-d.i)/minBytes) {
		d.fail("length beyond the end of the input")
		return 0
	}
	return int(v)
}

func (d *decoder) f64() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.i < 8 {
		d.fail("truncated")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.i:]))
	d.i += 8
	return v
}

func (d *decoder) str() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[d.i : d.i+n])
	d.i += n
	return s
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if d.i >= len(d.b) || d.b[d.i] > 1 {
		d.fail("bad boolean")
		return false
	}
	d.i++
	return d.b[d.i-1] == 1
}
