package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// DefaultPagerDutyURL is the PagerDuty Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// alertmanagerEndsAfter is how far in the future a firing alert's endsAt is
// put: Alertmanager resolves it by itself if driftd stops repeating it.
const alertmanagerEndsAfter = 24 * time.Hour

// templateFuncs are available in template bodies.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"upper": strings.ToUpper,
	"join":  strings.Join,
}

// target is a configured Target ready to build requests.
type target struct {
	cfg     Target
	tmpl    *template.Template
	key     Secret
	timeout time.Duration
}

// request is one HTTP request of a delivery; Key is its Idempotency-Key.
type request struct {
	key         string
	method      string
	url         string
	body        []byte
	contentType string
}

func newTarget(t Target, d Delivery) (*target, error) {
	out := &target{cfg: t, key: t.SigningKey, timeout: durOr(t.Timeout, durOr(d.Timeout, DefaultTimeout))}
	if out.key == "" {
		out.key = d.SigningKey
	}
	if t.Kind == KindTemplate {
		tm, err := parseBody(t.Body)
		if err != nil {
			return nil, fmt.Errorf("parsing body of target %q: %w", t.Name, err)
		}
		out.tmpl = tm
	}
	return out, nil
}

func (t *target) action() string {
	if t.cfg.Action == "" {
		return ActionNotify
	}
	return t.cfg.Action
}

// wants reports whether the target receives anything of n; PagerDuty
// resolves its incident only when nothing of the model version fires.
func (t *target) wants(n *Notification, allResolved bool) bool {
	return t.cfg.Kind != KindPagerDuty || n.Kind == KindFiring || allResolved
}

func (t *target) request(n *Notification) (request, error) {
	r := request{key: n.ID, method: http.MethodPost, contentType: "application/json", url: t.cfg.URL}
	var (
		payload any
		err     error
	)
	switch t.cfg.Kind {
	case KindWebhook:
		payload = n
	case KindSlack:
		r.url = t.cfg.WebhookURL.Reveal()
		payload = slackPayload(n)
	case KindPagerDuty:
		if r.url == "" {
			r.url = DefaultPagerDutyURL
		}
		payload = pagerDutyPayload(n, t.cfg.RoutingKey.Reveal())
	case KindAlertmanager:
		r.url = strings.TrimSuffix(t.cfg.URL, "/") + "/api/v2/alerts"
		payload = alertmanagerPayload(n)
	case KindTemplate:
		var buf bytes.Buffer
		if err := t.tmpl.Execute(&buf, n); err != nil {
			return request{}, fmt.Errorf("executing body template: %w", err)
		}
		r.body = buf.Bytes()
		if t.cfg.Method != "" {
			r.method = strings.ToUpper(t.cfg.Method)
		}
		if t.cfg.ContentType != "" {
			r.contentType = t.cfg.ContentType
		}
		return r, nil
	default:
		return request{}, fmt.Errorf("unknown target kind %q", t.cfg.Kind)
	}
	r.body, err = json.Marshal(payload)
	if err != nil {
		return request{}, fmt.Errorf("encoding payload: %w", err)
	}
	return r, nil
}

func headline(n *Notification) string {
	return fmt.Sprintf("[%s] %s %s: %d alert(s), window %s–%s",
		strings.ToUpper(n.Kind), n.Model, n.Version, len(n.Alerts),
		n.Window.Start.UTC().Format("2006-01-02 15:04"), n.Window.End.UTC().Format("15:04 MST"))
}

func alertLine(a Alert) string {
	feature := a.Feature
	if feature == "" {
		feature = "model"
	}
	if a.Status == KindResolved {
		return fmt.Sprintf("%s %s on %s back to %s (resolve at %s %s)", a.Severity, a.Metric, feature,
			fmtNum(a.Value), a.Comparison, fmtNum(a.ResolveThreshold))
	}
	return fmt.Sprintf("%s %s on %s = %s %s %s", a.Severity, a.Metric, feature, fmtNum(a.Value), a.Comparison, fmtNum(a.Threshold))
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// slackMaxLines keeps the message under Slack's 3000-character section
// limit.
const slackMaxLines = 25

func slackPayload(n *Notification) map[string]any {
	var b strings.Builder
	for i, a := range n.Alerts {
		if i == slackMaxLines {
			fmt.Fprintf(&b, "…and %d more\n", len(n.Alerts)-i)
			break
		}
		b.WriteString("• " + alertLine(a) + "\n")
	}
	if n.BaselineID != "" {
		b.WriteString("baseline: " + n.BaselineID)
	}
	return map[string]any{
		"text": headline(n),
		"blocks": []any{
			map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(headline(n), 150)}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(b.String(), 3000)}},
		},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func pagerDutyPayload(n *Notification, routingKey string) map[string]any {
	ev := map[string]any{
		"routing_key": routingKey,
		"dedup_key":   hashID("pagerduty", n.Model, n.Version),
		"client":      "driftd",
	}
	if n.Kind == KindResolved {
		ev["event_action"] = "resolve"
		return ev
	}
	ev["event_action"] = "trigger"
	sev := SeverityInfo
	for _, a := range n.Alerts {
		if a.Severity == SeverityCritical || (a.Severity == SeverityWarning && sev == SeverityInfo) {
			sev = a.Severity
		}
	}
	ev["payload"] = map[string]any{
		"summary":   truncate(headline(n), 1024),
		"source":    "driftd/" + n.Model + "/" + n.Version,
		"severity":  sev,
		"timestamp": n.CreatedAt.UTC().Format(time.RFC3339),
		"component": n.Model,
		"group":     n.Version,
		"class":     "model-drift",
		"custom_details": map[string]any{
			"window": n.Window, "baseline_id": n.BaselineID, "notification_id": n.ID, "alerts": n.Alerts,
		},
	}
	return ev
}

func alertmanagerPayload(n *Notification) []map[string]any {
	out := make([]map[string]any, 0, len(n.Alerts))
	for _, a := range n.Alerts {
		ends := n.CreatedAt.Add(alertmanagerEndsAfter)
		if a.Status == KindResolved {
			ends = a.EndsAt
		}
		out = append(out, map[string]any{
			"labels": map[string]string{
				"alertname": a.Rule, "model": n.Model, "model_version": n.Version,
				"feature": a.Feature, "metric": a.Metric, "severity": a.Severity, "source": "driftd",
			},
			"annotations": map[string]string{
				"summary": alertLine(a), "value": fmtNum(a.Value), "threshold": fmtNum(a.Threshold),
				"baseline_id": n.BaselineID, "alert_id": a.ID,
				"window_start": n.Window.Start.UTC().Format(time.RFC3339),
				"window_end":   n.Window.End.UTC().Format(time.RFC3339),
			},
			"startsAt": a.StartsAt.UTC().Format(time.RFC3339),
			"endsAt":   ends.UTC().Format(time.RFC3339),
		})
	}
	return out
}
