package alerts

import (
	"time"

	"github.com/driftd/driftd/processor"
)

// evaluation collects what one WriteWindows call changes; nothing of it is
// visible to the engine until commit succeeds.
type evaluation struct {
	engine     *Engine
	next       map[string]*entry // copies of entries this call changed
	records    []AlertRecord
	deliveries []*delivery
	now        time.Time
}

func (ev *evaluation) lookup(key string) (entry, bool) {
	if e, ok := ev.next[key]; ok {
		return *e, true
	}
	if e, ok := ev.engine.state[key]; ok {
		return *e, true
	}
	return entry{}, false
}

// window evaluates every rule over one window result and queues the
// grouped notifications it produces.
func (ev *evaluation) window(r *processor.WindowResult) {
	w := Window{Start: r.ID.Start.UTC(), End: r.ID.End.UTC(), Revision: r.Revision}
	var firing, resolved []Alert
	var support int64
	if r.Performance != nil {
		support = r.Performance.Support
	}
	for _, m := range r.Metrics() {
		for i := range ev.engine.rules {
			ru := &ev.engine.rules[i]
			if !ru.matches(r.ID.Model, r.ID.Version, m.Feature, m.Name) || (ru.span > 0 && ru.span != w.End.Sub(w.Start)) {
				continue
			}
			if m.SampleSize < ru.minSamples || (ru.perf && support < ru.minSupport) {
				continue
			}
			a, ok := ev.apply(ru, r, m, w)
			if !ok {
				continue
			}
			if a.Status == KindResolved {
				resolved = append(resolved, a)
			} else {
				firing = append(firing, a)
			}
		}
	}
	allResolved := !ev.anyFiring(r.ID.Model, r.ID.Version)
	ev.notify(r, w, KindFiring, firing, allResolved)
	ev.notify(r, w, KindResolved, resolved, allResolved)
}

// apply runs one rule's state machine for one metric and returns the
// alert to announce, if any.
func (ev *evaluation) apply(ru *rule, r *processor.WindowResult, m processor.Metric, w Window) (Alert, bool) {
	span := w.End.Sub(w.Start)
	key := stateKey(ru.name, r.ID.Model, r.ID.Version, m.Feature, span)
	cur, _ := ev.lookup(key)
	id := func(ep time.Time) string { return alertID(ru.name, r.ID.Model, r.ID.Version, m.Feature, span, ep) }
	o := observation{Start: w.Start, End: w.End, Revision: w.Revision, Value: m.Value}
	next, tr, ok := advance(cur, ru, o, id, ev.engine.historyLen(ru))
	if !ok {
		return Alert{}, false
	}
	next.Rule, next.Model, next.Version = ru.name, r.ID.Model, r.ID.Version
	ev.next[key] = &next
	return ev.announce(ru, r, m, w, tr)
}

// announce records a transition and returns the alert to notify, if any.
func (ev *evaluation) announce(ru *rule, r *processor.WindowResult, m processor.Metric, w Window, tr transition) (Alert, bool) {
	rec := AlertRecord{AlertID: tr.alertID, Rule: ru.name, Model: r.ID.Model, Version: r.ID.Version,
		Feature: m.Feature, Metric: m.Name, Severity: ru.severity, Value: m.Value, Threshold: ru.threshold,
		WindowStart: w.Start, WindowEnd: w.End, BaselineID: r.BaselineID, At: ev.now}
	a := Alert{ID: tr.alertID, Status: KindFiring, Rule: ru.name, Metric: m.Name, Feature: m.Feature,
		Severity: ru.severity, Action: ru.action, Comparison: ru.cmp, Value: m.Value, Threshold: ru.threshold,
		ResolveThreshold: ru.resolve, SampleSize: m.SampleSize, BaselineSize: m.BaselineSize,
		StartsAt: tr.episodeStart}
	switch {
	case tr.pending:
		rec.State = AlertPending
		ev.records = append(ev.records, rec)
		return Alert{}, false
	case tr.fired:
		rec.State = AlertFiring
		ev.records = append(ev.records, rec)
	case tr.repeat:
		a.Repeat = true
	case tr.resolved:
		rec.State = AlertResolved
		ev.records = append(ev.records, rec)
		a.Status, a.EndsAt = KindResolved, w.End
	default:
		return Alert{}, false
	}
	return a, true
}

// anyFiring reports whether some alert of the model version is firing
// after this call's changes.
func (ev *evaluation) anyFiring(model, version string) bool {
	for _, e := range ev.next {
		if e.Model == model && e.Version == version && e.State == AlertFiring {
			return true
		}
	}
	for k, e := range ev.engine.state {
		if _, changed := ev.next[k]; changed {
			continue
		}
		if e.Model == model && e.Version == version && e.State == AlertFiring {
			return true
		}
	}
	return false
}

// notify builds the grouped notification of one kind and one delivery per
// target that receives part of it.
func (ev *evaluation) notify(r *processor.WindowResult, w Window, kind string, alerts []Alert, allResolved bool) {
	if len(alerts) == 0 {
		return
	}
	n := Notification{Schema: SchemaVersion, ID: notificationID(r.ID.Model, r.ID.Version, w, kind), Kind: kind,
		Model: r.ID.Model, Version: r.ID.Version, Window: w, BaselineID: r.BaselineID, CreatedAt: ev.now,
		Alerts: alerts}
	for _, name := range ev.engine.order {
		t := ev.engine.targets[name]
		part, ok := n.forTarget(t.action())
		if !ok || !t.wants(&part, allResolved) {
			continue
		}
		ev.deliveries = append(ev.deliveries, &delivery{ID: deliveryID(n.ID, name), Target: name,
			Notification: part, State: StatePending, QueuedAt: ev.now, NextAttempt: ev.now})
	}
}
