package stats

import (
	"math"
	"slices"
)

// maxClassLabels bounds the labels a classification accumulator tracks;
// beyond it the target is treated as a number (regression) or the
// classification figures are dropped, so a mistyped column cannot blow up
// memory with a label matrix.
const maxClassLabels = 1000

// perfAccumulator holds the mergeable state behind PerformanceReport:
// a confusion matrix over string labels, regression error sums and the
// (score, target) pairs behind ROC AUC. When the task is not fixed it keeps
// both the classification and the regression state and decides at Report.
type perfAccumulator struct {
	task     string // Binary, Multiclass, Regression or "" (infer)
	positive string // positive label; "" means the default ("1", "true")

	labelIdx map[string]int32
	labels   []string
	targetOK []bool    // label i was seen as a target
	conf     [][]int64 // conf[target][prediction]
	classOff bool      // too many labels: classification figures dropped

	support int64

	regN                  int64 // rows where both target and prediction are numbers
	regErr, regAbs, regSq neumaier
	regDistinct           map[float64]struct{} // distinct numeric targets, up to 21

	scoreGiven bool
	// scores[t] summarises the scores of rows whose target is label t:
	// exact while small, so ROC AUC is exact up to the sketch limit and
	// within the sketch's rank error beyond it.
	scores     []*Sketch
	exactLimit int

	// recent are the last labels looked up. A model has a handful of
	// labels, and comparing a label with a few (most are a byte or two)
	// is cheaper than hashing it for the map, twice per outcome.
	recent     [4]recentLabel
	recentNext uint8
}

type recentLabel struct {
	s   string
	id1 int32 // the label's index + 1; 0 for an unused entry
}

func newPerfAccumulator(task, positive string, exactLimit int) *perfAccumulator {
	return &perfAccumulator{task: task, positive: positive, labelIdx: map[string]int32{},
		regDistinct: map[float64]struct{}{}, exactLimit: exactLimit}
}

// labelID returns the index of a label, registering it on first sight.
func (a *perfAccumulator) labelID(s string) int32 {
	for i := range a.recent {
		if r := &a.recent[i]; r.id1 != 0 && r.s == s {
			return r.id1 - 1
		}
	}
	if id, ok := a.labelIdx[s]; ok {
		a.remember(s, id)
		return id
	}
	if len(a.labels) >= maxClassLabels {
		a.classOff = true
		return -1
	}
	id := int32(len(a.labels))
	a.labelIdx[s] = id
	a.labels = append(a.labels, s)
	a.targetOK = append(a.targetOK, false)
	for i := range a.conf {
		a.conf[i] = append(a.conf[i], 0)
	}
	a.conf = append(a.conf, make([]int64, len(a.labels)))
	a.scores = append(a.scores, nil)
	a.remember(s, id)
	return id
}

// remember makes s, of index id, a recent label, replacing the oldest.
func (a *perfAccumulator) remember(s string, id int32) {
	a.recent[a.recentNext%uint8(len(a.recent))] = recentLabel{s: s, id1: id + 1}
	a.recentNext++
}

// observe records one row with both target and prediction present. The
// string forms are the labels; the numbers are used for regression when
// both parse (numOK).
func (a *perfAccumulator) observe(target, prediction string, tNum, pNum float64, numOK bool, score float64, hasScore bool) {
	a.support++
	if a.task != Regression && !a.classOff {
		t, p := a.labelID(target), a.labelID(prediction)
		if t >= 0 && p >= 0 {
			a.targetOK[t] = true
			a.conf[t][p]++
			if hasScore {
				if a.scores[t] == nil {
					a.scores[t] = NewSketch(a.exactLimit)
				}
				a.scores[t].Add(score)
			}
		}
	}
	if a.task == Binary || a.task == Multiclass || !numOK {
		return
	}
	e := pNum - tNum
	a.regN++
	a.regErr.Add(e)
	a.regAbs.Add(math.Abs(e))
	a.regSq.Add(e * e)
	if len(a.regDistinct) <= 20 {
		a.regDistinct[tNum] = struct{}{}
	}
}

// resolveTask applies compare-cli.md's inference when no task was fixed:
// a numeric target with more than 20 distinct values is regression, two
// labels binary, more multiclass.
func (a *perfAccumulator) resolveTask() string {
	if a.task != "" {
		return a.task
	}
	if a.positive != "" && !a.classOff {
		return Binary
	}
	if a.regN == a.support && a.support > 0 && len(a.regDistinct) > 20 {
		return Regression
	}
	if a.classOff {
		if a.regN == a.support && a.support > 0 {
			return Regression
		}
		return ""
	}
	if len(a.labels) > 2 {
		return Multiclass
	}
	return Binary
}

// positiveLabel picks the positive class: the given one, else "1" or
// "true" when present, else the greatest label in byte order.
func (a *perfAccumulator) positiveLabel() string {
	if a.positive != "" {
		return a.positive
	}
	for _, c := range []string{"1", "true", "True", "TRUE", "1.0", "yes"} {
		if _, ok := a.labelIdx[c]; ok {
			return c
		}
	}
	if len(a.labels) == 0 {
		return "1"
	}
	return slices.Max(a.labels)
}

func (a *perfAccumulator) report() *PerformanceReport {
	if a.support == 0 {
		return nil
	}
	task := a.resolveTask()
	r := &PerformanceReport{Task: task, Support: a.support, ScoreGiven: a.scoreGiven}
	switch task {
	case Regression:
		r.Support = a.regN
		if a.regN > 0 {
			n := float64(a.regN)
			r.MAE = ptr(a.regAbs.Value() / n)
			r.RMSE = ptr(math.Sqrt(a.regSq.Value() / n))
			r.MeanError = ptr(a.regErr.Value() / n)
		}
		r.ScoreGiven = false
	case Binary:
		a.binaryReport(r)
	case Multiclass:
		a.multiclassReport(r)
	}
	return r
}

func (a *perfAccumulator) binaryReport(r *PerformanceReport) {
	pos, ok := a.labelIdx[a.positiveLabel()]
	var tp, fp, fn, correct, n int64
	for t := range a.conf {
		for p, c := range a.conf[t] {
			n += c
			if t == p {
				correct += c
			}
			if !ok {
				continue
			}
			switch {
			case int32(t) == pos && int32(p) == pos:
				tp += c
			case int32(p) == pos:
				fp += c
			case int32(t) == pos:
				fn += c
			}
		}
	}
	prec, rec := ratio(tp, tp+fp), ratio(tp, tp+fn)
	r.Precision, r.Recall, r.F1 = ptr(prec), ptr(rec), ptr(f1(prec, rec))
	r.Accuracy = ptr(ratio(correct, n))
	if a.scoreGiven {
		if ok {
			r.ROCAUC = a.rocAUC(pos)
		}
	}
}

func (a *perfAccumulator) multiclassReport(r *PerformanceReport) {
	r.PerClass = make(map[string]ClassReport, len(a.labels))
	var macro, weighted neumaier
	var tpAll, fpAll, fnAll, n int64
	for i, name := range a.labels {
		var tp, fp, fn int64
		for j := range a.labels {
			if j == i {
				tp = a.conf[i][i]
				continue
			}
			fn += a.conf[i][j]
			fp += a.conf[j][i]
		}
		prec, rec := ratio(tp, tp+fp), ratio(tp, tp+fn)
		f := f1(prec, rec)
		sup := tp + fn
		r.PerClass[name] = ClassReport{Precision: prec, Recall: rec, F1: f, Support: sup}
		macro.Add(f)
		weighted.Add(f * float64(sup))
		tpAll += tp
		fpAll += fp
		fnAll += fn
		n += sup
	}
	r.Accuracy = ptr(ratio(tpAll, n))
	r.MacroF1 = ptr(macro.Value() / float64(len(a.labels)))
	r.MicroF1 = ptr(ratio(2*tpAll, 2*tpAll+fpAll+fnAll))
	r.WeightedF1 = ptr(0)
	if n > 0 {
		r.WeightedF1 = ptr(weighted.Value() / float64(n))
	}
}

// ratio is a/b with 0/0 = 0 (scikit-learn's zero_division=0).
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// rocAUC is the area under the ROC curve of label pos against the rest,
// with tied scores counted half (the Mann–Whitney form); nil when only one
// class has scores.
func (a *perfAccumulator) rocAUC(pos int32) *float64 {
	var neg []WeightedValue
	var posPts []WeightedValue
	for t, sk := range a.scores {
		if sk == nil {
			continue
		}
		if int32(t) == pos {
			posPts = sk.Points()
		} else {
			neg = mergePoints(neg, sk.Points())
		}
	}
	nPos, nNeg := totalWeight(posPts), totalWeight(neg)
	if nPos == 0 || nNeg == 0 {
		return nil
	}
	// twice the number of (positive, negative) pairs ordered correctly,
	// ties counting one: exact integers up to 2^63.
	var twice, negBelow int64
	j := 0
	for _, p := range posPts {
		for j < len(neg) && neg[j].V < p.V {
			negBelow += neg[j].W
			j++
		}
		var tie int64
		if j < len(neg) && neg[j].V == p.V {
			tie = neg[j].W
		}
		twice += p.W * (2*negBelow + tie)
	}
	return ptr(float64(twice) / (2 * float64(nPos) * float64(nNeg)))
}

// mergePoints merges two sorted weighted samples into one.
func mergePoints(a, b []WeightedValue) []WeightedValue {
	return mergePointsInto(make([]WeightedValue, 0, len(a)+len(b)), a, b)
}

// mergePointsInto is mergePoints appending to out, which must not overlap
// a or b.
func mergePointsInto(out, a, b []WeightedValue) []WeightedValue {
	i, j := 0, 0
	// Bounds are checked once a step while both runs last; whichever is
	// left over is then copied whole.
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		switch {
		case x.V < y.V:
			out = append(out, x)
			i++
		case y.V < x.V:
			out = append(out, y)
			j++
		default:
			out = append(out, WeightedValue{V: x.V, W: x.W + y.W})
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
