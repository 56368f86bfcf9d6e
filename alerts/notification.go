package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Notification kinds.
const (
	KindFiring   = "firing"
	KindResolved = "resolved"
)

// SchemaVersion is the "schema" field of the generic webhook payload.
const SchemaVersion = "driftd.alerts/v1"

// Notification is one grouped message about one model version and window:
// every alert that fired (or is repeated after its cool-down) in it, or
// every alert that resolved in it. It is what the outbox stores, what the
// generic webhook sends (as JSON) and what template bodies are executed
// with.
type Notification struct {
	Schema string `json:"schema"`
	// ID is deterministic (model, version, window, revision, kind) and is
	// the Idempotency-Key of the request.
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Model      string    `json:"model"`
	Version    string    `json:"model_version"`
	Window     Window    `json:"window"`
	BaselineID string    `json:"baseline_id"`
	CreatedAt  time.Time `json:"created_at"`
	// Retrain is true when at least one alert asks for retraining.
	Retrain bool    `json:"retrain"`
	Alerts  []Alert `json:"alerts"`
}

// Window identifies the window the notification is about.
type Window struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Revision uint64    `json:"revision"`
}

// Alert is one rule breached (or recovered) by one feature.
type Alert struct {
	// ID is deterministic: rule, model, version, feature and the start of
	// the window where the episode began; it stays the same from pending
	// through firing to resolved.
	ID               string  `json:"id"`
	Status           string  `json:"status"` // firing or resolved
	Rule             string  `json:"rule"`
	Metric           string  `json:"metric"`
	Feature          string  `json:"feature"`
	Severity         string  `json:"severity"`
	Action           string  `json:"action"`
	Comparison       string  `json:"comparison"`
	Value            float64 `json:"value"`
	Threshold        float64 `json:"threshold"`
	ResolveThreshold float64 `json:"resolve_threshold"`
	SampleSize       int64   `json:"sample_size"`
	BaselineSize     int64   `json:"baseline_size"`
	// Repeat marks a re-notification of an alert already announced, sent
	// after the rule's repeat_interval.
	Repeat bool `json:"repeat"`
	// StartsAt is the start of the first breaching window of the episode;
	// EndsAt the end of the window where it resolved (zero while firing).
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at,omitzero"`
}

// hashID returns a short hex id of the parts; \x1f cannot occur in names
// coming from YAML or JSON events in a way that makes two tuples collide.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0x1f})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func alertID(ruleName, model, version, feature string, span time.Duration, episodeStart time.Time) string {
	return hashID("alert", ruleName, model, version, feature, span.String(), episodeStart.UTC().Format(time.RFC3339Nano))
}

func notificationID(model, version string, w Window, kind string) string {
	return hashID("notification", model, version, w.Start.UTC().Format(time.RFC3339Nano),
		w.End.UTC().Format(time.RFC3339Nano), strconv.FormatUint(w.Revision, 10), kind)
}

// forTarget returns the part of n a target with the given action receives,
// and false when nothing is left. Retrain targets get only newly firing
// alerts of rules that ask for retraining: one request per crossing.
func (n *Notification) forTarget(action string) (Notification, bool) {
	out := *n
	out.Alerts = nil
	out.Retrain = false
	for _, a := range n.Alerts {
		notify := a.Action == ActionNotify || a.Action == ActionBoth
		retrain := (a.Action == ActionRetrain || a.Action == ActionBoth) && a.Status == KindFiring && !a.Repeat
		var take bool
		switch action {
		case ActionRetrain:
			take = retrain
		case ActionBoth:
			take = notify || retrain
		default:
			take = notify
		}
		if take {
			out.Alerts = append(out.Alerts, a)
			out.Retrain = out.Retrain || retrain
		}
	}
	return out, len(out.Alerts) > 0
}
