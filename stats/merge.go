package stats

import (
	"errors"
	"fmt"
	"math"
)

// Merge adds o's observations to w, as if every event of o had been
// observed by w. Counts (events, bins, categories, confusion matrices) and
// sketches that stay within their exact limit merge exactly; a sketch
// beyond it stays within its error bound; float sums (regression errors,
// running moments) merge to within rounding. Category caps apply to the
// union: a category o holds that would exceed w's cap folds into
// "__other__". Both must have been made for the same profile.
func (w *WindowAccumulator) Merge(o *WindowAccumulator) error {
	if w.profile != o.profile {
		return errors.New("merging windows of different profiles")
	}
	for name, of := range o.feats {
		f := w.feats[name]
		if f == nil {
			f = w.newFeature(name, "", nil)
			w.feats[name] = f
		}
		if err := f.merge(of, w.opts.SketchExactLimit); err != nil {
			return fmt.Errorf("merging feature %q: %w", name, err)
		}
	}
	if err := w.pred.merge(o.pred, w.opts.SketchExactLimit); err != nil {
		return fmt.Errorf("merging prediction: %w", err)
	}
	w.perf.merge(o.perf)
	w.lat.Merge(o.lat)
	w.events += o.events
	w.outcome += o.outcome
	return nil
}

func (f *featureAcc) merge(o *featureAcc, exactLimit int) error {
	if o.typ == "" {
		return nil
	}
	if f.typ == "" {
		f.setType(o.typ, exactLimit)
	}
	if f.typ != o.typ {
		return fmt.Errorf("type %s cannot merge with %s", f.typ, o.typ)
	}
	if f.typ == Categorical {
		f.count += o.count
		for _, c := range o.cats.sorted() {
			f.cats.add(c, o.cats.get(c), f.maxCats)
		}
		return nil
	}
	if len(f.bins) != len(o.bins) {
		return errors.New("bins differ")
	}
	for i, c := range o.bins {
		f.bins[i] += c
	}
	f.outside += o.outside
	f.sketch.Merge(o.sketch)
	f.min = math.Min(f.min, o.min)
	f.max = math.Max(f.max, o.max)
	// Chan et al.'s pairwise update of the running moments.
	if o.count > 0 {
		n := float64(f.count + o.count)
		d := o.mean - f.mean
		f.mean += d * float64(o.count) / n
		f.m2 += o.m2 + d*d*float64(f.count)*float64(o.count)/n
	}
	f.count += o.count
	return nil
}

func (a *perfAccumulator) merge(o *perfAccumulator) {
	a.support += o.support
	a.classOff = a.classOff || o.classOff
	a.scoreGiven = a.scoreGiven || o.scoreGiven
	remap := make([]int32, len(o.labels))
	for i, name := range o.labels {
		remap[i] = a.labelID(name)
	}
	for t := range o.labels {
		rt := remap[t]
		if rt < 0 {
			continue
		}
		a.targetOK[rt] = a.targetOK[rt] || o.targetOK[t]
		for p, c := range o.conf[t] {
			if rp := remap[p]; rp >= 0 {
				a.conf[rt][rp] += c
			}
		}
		if sk := o.scores[t]; sk != nil {
			if a.scores[rt] == nil {
				a.scores[rt] = NewSketch(a.exactLimit)
			}
			a.scores[rt].Merge(sk)
		}
	}
	a.regN += o.regN
	a.regErr.merge(o.regErr)
	a.regAbs.merge(o.regAbs)
	a.regSq.merge(o.regSq)
	for v := range o.regDistinct {
		if len(a.regDistinct) > 20 {
			break
		}
		a.regDistinct[v] = struct{}{}
	}
}
