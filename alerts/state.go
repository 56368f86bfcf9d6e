package alerts

import (
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

// entry is the persisted state of one (rule, model, version, feature).
type entry struct {
	machine
	Rule    string `json:"rule"`
	Model   string `json:"model"`
	Version string `json:"version"`
	// LastStart and LastRevision identify the last window applied; a window
	// that is not newer is a replay and is ignored, except a higher revision
	// of the last window, which replaces it starting from Prev.
	LastStart    time.Time `json:"last_start"`
	LastRevision uint64    `json:"last_revision"`
	Prev         *machine  `json:"prev,omitempty"`
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

// replace reconciles re-evaluating a window (a higher revision) with what
// the earlier revision already announced: an alert announced as firing is
// not announced again, and one the new revision disproves is resolved.
func replace(old, next machine, tr transition) (machine, transition) {
	switch {
	case old.State == AlertFiring && next.State == AlertFiring && old.AlertID == next.AlertID:
		next.LastNotified = old.LastNotified
		tr.fired, tr.repeat = false, false
	case old.State == AlertFiring && next.State != AlertFiring:
		tr = transition{resolved: true, alertID: old.AlertID, episodeStart: old.EpisodeStart}
		if next.State != AlertPending {
			next = machine{State: AlertResolved}
		}
	case old.State == AlertResolved && next.State == AlertResolved && old.AlertID == next.AlertID:
		tr.resolved = false
	}
	return next, tr
}
