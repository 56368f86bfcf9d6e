package alerts

import (
	"slices"
	"time"
)

// Alert states of the per-(rule, model, version, feature) machine.
const (
	AlertOK       = "ok"
	AlertPending  = "pending"
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// machine is the part of an entry a window revision may replace.
type machine struct {
	State string `json:"state"`
	// Count is the number of consecutive breaching windows.
	Count        int       `json:"count,omitempty"`
	EpisodeStart time.Time `json:"episode_start,omitzero"`
	AlertID      string    `json:"alert_id,omitempty"`
	// LastNotified is the end of the window of the last firing
	// notification; the repeat interval counts from it.
	LastNotified time.Time `json:"last_notified,omitzero"`
}

// entry is the persisted state of one (rule, model, version, feature,
// span).
type entry struct {
	machine
	Rule    string `json:"rule"`
	Model   string `json:"model"`
	Version string `json:"version"`
	// LastStart is the start of the newest window applied.
	LastStart time.Time `json:"last_start"`
	// History holds the last windows applied, oldest first, and Base the
	// machine before History[0]. A window not newer than the last one is a
	// replay unless it is a higher revision of a window still in History
	// (late labels), or one History skipped (it lacked samples then); the
	// machine is then recomputed from Base and reconciled with what was
	// already announced.
	Base    machine       `json:"base"`
	History []observation `json:"history,omitempty"`
	// Trimmed is set once windows have left History: Base is then no
	// longer the initial state, and nothing can go before History[0].
	Trimmed bool `json:"trimmed,omitempty"`
}

// observation is one window's value as a machine saw it.
type observation struct {
	Start    time.Time `json:"s"`
	End      time.Time `json:"e"`
	Revision uint64    `json:"r"`
	Value    float64   `json:"v"`
}

// placement says where an observation goes in a history.
type placement int

const (
	placeSkip    placement = iota // a replay or older than the history
	placeAppend                   // newer than every window seen
	placeReplace                  // a higher revision of a window in the history
	placeInsert                   // a window the history lacks, within its span
)

func place(hist []observation, trimmed bool, o observation) (placement, int) {
	if len(hist) == 0 || o.Start.After(hist[len(hist)-1].Start) {
		return placeAppend, len(hist)
	}
	i, found := slices.BinarySearchFunc(hist, o.Start, func(h observation, t time.Time) int { return h.Start.Compare(t) })
	switch {
	case found && o.Revision > hist[i].Revision:
		return placeReplace, i
	case found, i == 0 && trimmed:
		return placeSkip, 0
	}
	return placeInsert, i
}

// stateKey names a machine. Windows of different spans (the tumbling
// window and rolling views of it) overlap in time, so each span has its own
// machine.
func stateKey(rule, model, version, feature string, span time.Duration) string {
	return rule + "\x1f" + model + "\x1f" + version + "\x1f" + feature + "\x1f" + span.String()
}

// transition is what one window did to one machine.
type transition struct {
	// fired: the alert started firing; repeat: re-notify after the
	// cool-down; resolved: it recovered; pending: first breach below `for`.
	fired, repeat, resolved, pending bool
	alertID                          string
	episodeStart                     time.Time
}

// step advances m by one window. breach and recov come from the rule's
// threshold and resolve threshold.
func step(m machine, r *rule, breach, recov bool, id func(episode time.Time) string, start, end time.Time) (machine, transition) {
	var tr transition
	switch m.State {
	case AlertFiring:
		if recov {
			tr = transition{resolved: true, alertID: m.AlertID, episodeStart: m.EpisodeStart}
			m.State, m.Count = AlertResolved, 0
			return m, tr
		}
		if breach {
			m.Count++
		}
		if r.repeat > 0 && !end.Before(m.LastNotified.Add(r.repeat)) {
			tr = transition{repeat: true, alertID: m.AlertID, episodeStart: m.EpisodeStart}
			m.LastNotified = end
		}
		return m, tr
	case AlertPending:
		if !breach {
			return machine{State: AlertOK}, tr
		}
		m.Count++
	default:
		if !breach {
			return machine{State: AlertOK}, tr
		}
		m = machine{State: AlertPending, Count: 1, EpisodeStart: start, AlertID: id(start)}
		tr.pending = r.forN > 1
	}
	tr.alertID, tr.episodeStart = m.AlertID, m.EpisodeStart
	if m.Count >= r.forN {
		m.State, m.LastNotified = AlertFiring, end
		tr.fired, tr.pending = true, false
	}
	return m, tr
}

// advance applies one observation to an entry: the next entry (without
// its identifying fields), the transition to announce, and false when the
// observation is a replay or too old to matter. historyLen bounds History.
func advance(cur entry, r *rule, o observation, id func(time.Time) string, historyLen int) (entry, transition, bool) {
	where, i := place(cur.History, cur.Trimmed, o)
	hist := slices.Clone(cur.History)
	var (
		next machine
		tr   transition
	)
	switch where {
	case placeSkip:
		return entry{}, transition{}, false
	case placeAppend:
		next, tr = r.stepObs(cur.machine, o, id)
		hist = append(hist, o)
	case placeReplace, placeInsert:
		if where == placeReplace {
			hist[i] = o
		} else {
			hist = slices.Insert(hist, i, o)
		}
		m := cur.Base
		for _, h := range hist {
			m, _ = r.stepObs(m, h, id)
		}
		next, tr = reconcile(cur.machine, m, hist[len(hist)-1].End)
	}
	base, trimmed := cur.Base, cur.Trimmed
	for len(hist) > historyLen {
		base, _ = r.stepObs(base, hist[0], id)
		hist, trimmed = hist[1:], true
	}
	return entry{machine: next, LastStart: hist[len(hist)-1].Start, Base: base, History: hist, Trimmed: trimmed}, tr, true
}

// stepObs advances m by one observation.
func (r *rule) stepObs(m machine, o observation, id func(time.Time) string) (machine, transition) {
	return step(m, r, breached(r.cmp, o.Value, r.threshold), recovered(r.cmp, o.Value, r.resolve), id, o.Start, o.End)
}

// reconcile turns a machine recomputed after a revision into what to
// announce, given what the old machine had announced: an alert firing in
// both keeps its identity and is not announced again; one the recomputation
// no longer supports resolves; one it newly supports fires.
func reconcile(old, next machine, at time.Time) (machine, transition) {
	switch {
	case old.State == AlertFiring && next.State == AlertFiring:
		next.AlertID, next.EpisodeStart, next.LastNotified = old.AlertID, old.EpisodeStart, old.LastNotified
		return next, transition{}
	case old.State == AlertFiring:
		tr := transition{resolved: true, alertID: old.AlertID, episodeStart: old.EpisodeStart}
		if next.State != AlertPending {
			next = machine{State: AlertResolved, AlertID: old.AlertID, EpisodeStart: old.EpisodeStart}
		}
		return next, tr
	case next.State == AlertFiring:
		next.LastNotified = at
		return next, transition{fired: true, alertID: next.AlertID, episodeStart: next.EpisodeStart}
	}
	return next, transition{}
}
