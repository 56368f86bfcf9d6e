// Package alerts evaluates rules over window metrics, keeps a state machine
// per (rule, model, version, feature), groups what fired into one
// notification per model version and window, and delivers notifications to
// webhooks, Slack, PagerDuty, Alertmanager and templated endpoints through a
// durable outbox. docs/alerts.md is the user's reference.
package alerts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the `alerts:` section of driftd.yaml. Validate reports problems
// with key paths under "alerts.".
type Config struct {
	Rules    []Rule   `yaml:"rules"`
	Targets  []Target `yaml:"targets"`
	Delivery Delivery `yaml:"delivery"`
	// StateRetention bounds the state file: a quiet machine (ok or
	// resolved) whose last window is this much older than the newest window
	// seen is forgotten, so retired models and features do not accumulate.
	// Replays older than this would be evaluated afresh. Default 7 days.
	StateRetention Duration `yaml:"state_retention,omitempty"`
	// RevisionHorizon is how many past windows a performance rule keeps so
	// that a late-label revision of one of them is re-evaluated. Default 48.
	RevisionHorizon int `yaml:"revision_horizon,omitempty"`
}

// Rule is one alerting rule. Unset fields take the defaults of the metric
// (docs/alerts.md, "Rules").
type Rule struct {
	// Name identifies the rule; it is part of every alert id, so renaming a
	// rule starts its alerts afresh. Default: "<metric>_<severity>".
	Name   string `yaml:"name"`
	Metric string `yaml:"metric"`
	// Model, Version and Feature are globs (path.Match syntax); empty is
	// "*". Model-level metrics (f1, label_coverage...) have feature "".
	Model   string `yaml:"model,omitempty"`
	Version string `yaml:"version,omitempty"`
	Feature string `yaml:"feature,omitempty"`

	Comparison string `yaml:"comparison,omitempty"`
	Threshold  Number `yaml:"threshold,omitempty"`
	// ResolveThreshold is where a firing alert resolves; between it and
	// Threshold the alert keeps its state (hysteresis).
	ResolveThreshold Number `yaml:"resolve_threshold,omitempty"`
	Severity         string `yaml:"severity,omitempty"`
	// For is the number of consecutive breaching windows before firing.
	For int `yaml:"for,omitempty"`
	// MinSamples is the minimum Metric.SampleSize (non-missing current
	// values of the feature); MinSupport the minimum labelled support for
	// performance metrics. Windows below either are not evaluated.
	MinSamples *int64 `yaml:"min_samples,omitempty"`
	MinSupport *int64 `yaml:"min_support,omitempty"`
	// RepeatInterval is the cool-down: a firing alert is notified again
	// only once this much window time has passed since its last
	// notification. 0 never repeats.
	RepeatInterval Duration `yaml:"repeat_interval,omitempty"`
	// Action is notify (default), retrain or both.
	Action string `yaml:"action,omitempty"`
	// Span restricts the rule to windows of this length (1h: the tumbling
	// windows; 24h: a rolling view). Unset: every span, each with its own
	// state machine.
	Span Duration `yaml:"span,omitempty"`
}

// Target kinds.
const (
	KindWebhook      = "webhook"
	KindSlack        = "slack"
	KindPagerDuty    = "pagerduty"
	KindAlertmanager = "alertmanager"
	KindTemplate     = "template"
)

// Target is one place notifications are delivered to.
type Target struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// Action selects what the target receives: notify (default) gets firing,
	// repeat and resolve notifications of notify rules; retrain gets one
	// notification per newly firing alert of retrain rules and no resolves;
	// both gets everything.
	Action string `yaml:"action,omitempty"`
	// URL is the endpoint of webhook and template targets, the base URL of
	// Alertmanager (…/api/v2/alerts is appended) and an optional override
	// of the PagerDuty Events API v2 endpoint.
	URL string `yaml:"url,omitempty"`
	// WebhookURL is Slack's incoming-webhook URL, a credential.
	WebhookURL Secret `yaml:"webhook_url,omitempty"`
	// RoutingKey is the PagerDuty integration key.
	RoutingKey Secret `yaml:"routing_key,omitempty"`
	// SigningKey signs requests (X-Driftd-Signature); defaults to
	// delivery.signing_key. Without a key requests are sent unsigned.
	SigningKey Secret `yaml:"signing_key,omitempty"`
	// Headers are added to each request; values are secrets (tokens).
	Headers map[string]Secret `yaml:"headers,omitempty"`
	// Method, Body and ContentType configure template targets: Body is a
	// Go text/template executed with the notification (see Payload).
	Method      string `yaml:"method,omitempty"`
	Body        string `yaml:"body,omitempty"`
	ContentType string `yaml:"content_type,omitempty"`
	// Timeout bounds one request; default delivery.timeout.
	Timeout Duration `yaml:"timeout,omitempty"`
	// AcceptStatuses are non-2xx statuses that mean "already done", such
	// as Airflow's 409 for a DAG run id it has seen: delivered, not failed.
	AcceptStatuses []int `yaml:"accept_statuses,omitempty"`
}

// Delivery tunes the outbox.
type Delivery struct {
	SigningKey     Secret   `yaml:"signing_key,omitempty"`
	Timeout        Duration `yaml:"timeout,omitempty"`         // per request, default 10s
	InitialBackoff Duration `yaml:"initial_backoff,omitempty"` // default 1s
	MaxBackoff     Duration `yaml:"max_backoff,omitempty"`     // default 5m
	// MaxAge is how long a notification is retried before it is given up
	// (logged at error level, counted, recorded as "expired"). Default 24h.
	MaxAge Duration `yaml:"max_age,omitempty"`
	// KeepDelivered is how long final delivery records stay in the outbox
	// directory so that a replay cannot enqueue them again. Default 72h.
	KeepDelivered Duration `yaml:"keep_delivered,omitempty"`
	Concurrency   int      `yaml:"concurrency,omitempty"` // default 4
}

// Delivery defaults.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultInitialBackoff  = time.Second
	DefaultMaxBackoff      = 5 * time.Minute
	DefaultMaxAge          = 24 * time.Hour
	DefaultKeepDelivered   = 72 * time.Hour
	DefaultConcurrency     = 4
	DefaultRepeatInterval  = 4 * time.Hour
	DefaultFor             = 1
	DefaultStateRetention  = 7 * 24 * time.Hour
	DefaultRevisionHorizon = 48
)

// ParseConfig decodes an `alerts:` section strictly (unknown keys are
// errors) and validates it.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("decoding alerts config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem of the configuration, one per line, each
// with its key path (alerts.rules[2].threshold: must be a number).
func (c *Config) Validate() error {
	var v validator
	targetActions := map[string]bool{}
	names := map[string]int{}
	for i := range c.Targets {
		t := &c.Targets[i]
		t.validate(&v, fmt.Sprintf("alerts.targets[%d]", i))
		if j, dup := names[t.Name]; dup && t.Name != "" {
			v.add(fmt.Sprintf("alerts.targets[%d].name", i), "duplicate of targets[%d] (%q)", j, t.Name)
		}
		names[t.Name] = i
		for _, a := range expandAction(t.Action) {
			targetActions[a] = true
		}
	}
	ruleNames := map[string]int{}
	for i := range c.Rules {
		r := &c.Rules[i]
		key := fmt.Sprintf("alerts.rules[%d]", i)
		r.validate(&v, key)
		name := r.effectiveName()
		if j, dup := ruleNames[name]; dup {
			v.add(key+".name", "duplicate of rules[%d] (%q); give each rule a distinct name", j, name)
		}
		ruleNames[name] = i
		for _, a := range expandAction(r.Action) {
			if len(c.Targets) > 0 && !targetActions[a] {
				v.add(key+".action", "%q but no target has action %s or both", r.Action, a)
			}
		}
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		if (t.Kind == KindWebhook || t.Kind == KindTemplate) && t.SigningKey == "" && c.Delivery.SigningKey == "" {
			v.add(fmt.Sprintf("alerts.targets[%d].signing_key", i),
				"required for a %s target (or set alerts.delivery.signing_key): receivers must be able to verify requests", t.Kind)
		}
	}
	c.Delivery.validate(&v)
	v.duration("alerts.state_retention", c.StateRetention, false)
	if c.RevisionHorizon < 0 {
		v.add("alerts.revision_horizon", "must not be negative")
	}
	return v.err()
}

type validator struct{ problems []string }

func (v *validator) add(key, format string, args ...any) {
	v.problems = append(v.problems, key+": "+fmt.Sprintf(format, args...))
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	errs := make([]error, len(v.problems))
	for i, p := range v.problems {
		errs[i] = errors.New(p)
	}
	return fmt.Errorf("invalid alerts config: %w", errors.Join(errs...))
}

func (v *validator) number(key string, n Number) {
	if n.raw != "" {
		v.add(key, "must be a number, got %s", n.raw)
	}
}

func (v *validator) duration(key string, d Duration, allowZero bool) {
	switch {
	case d.raw != "":
		v.add(key, "must be a duration like 30s or 4h, got %s", d.raw)
	case d.Set && (d.D < 0 || (!allowZero && d.D == 0)):
		v.add(key, "must be positive, got %s", d.D)
	}
}

func (r *Rule) effectiveName() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Metric + "_" + r.severity()
}

func (r *Rule) severity() string {
	if r.Severity == "" {
		return SeverityWarning
	}
	return r.Severity
}

func (r *Rule) validate(v *validator, key string) {
	switch {
	case r.Metric == "":
		v.add(key+".metric", "required")
	case !knownMetrics[r.Metric]:
		v.add(key+".metric", "unknown metric %q", r.Metric)
	}
	for field, g := range map[string]string{"model": r.Model, "version": r.Version, "feature": r.Feature} {
		if _, err := path.Match(g, ""); err != nil {
			v.add(key+"."+field, "bad glob %q", g)
		}
	}
	switch r.Comparison {
	case "", GreaterThan, GreaterOrEqual, LessThan, LessOrEqual:
	default:
		v.add(key+".comparison", "must be one of >, >=, <, <=, got %q", r.Comparison)
	}
	v.number(key+".threshold", r.Threshold)
	v.number(key+".resolve_threshold", r.ResolveThreshold)
	_, hasDefault := measureDefaults[r.Metric]
	if !r.Threshold.Set && r.Threshold.raw == "" && !hasDefault && knownMetrics[r.Metric] {
		v.add(key+".threshold", "required for metric %q (it has no default)", r.Metric)
	}
	switch r.Severity {
	case "", SeverityInfo, SeverityWarning, SeverityCritical:
	default:
		v.add(key+".severity", "must be info, warning or critical, got %q", r.Severity)
	}
	if r.For < 0 {
		v.add(key+".for", "must be at least 1, got %d", r.For)
	}
	if r.MinSamples != nil && *r.MinSamples < 0 {
		v.add(key+".min_samples", "must not be negative")
	}
	if r.MinSupport != nil && *r.MinSupport < 0 {
		v.add(key+".min_support", "must not be negative")
	}
	v.duration(key+".repeat_interval", r.RepeatInterval, true)
	v.duration(key+".span", r.Span, false)
	if !validAction(r.Action) {
		v.add(key+".action", "must be notify, retrain or both, got %q", r.Action)
	}
	if cr, ok := r.compile(); ok && r.ResolveThreshold.Set && breached(cr.cmp, cr.resolve, cr.threshold) {
		v.add(key+".resolve_threshold", "%v is on the alerting side of threshold %v", cr.resolve, cr.threshold)
	}
}

func validAction(a string) bool {
	return a == "" || a == ActionNotify || a == ActionRetrain || a == ActionBoth
}

// expandAction turns "both" into its parts and "" into notify.
func expandAction(a string) []string {
	switch a {
	case "", ActionNotify:
		return []string{ActionNotify}
	case ActionBoth:
		return []string{ActionNotify, ActionRetrain}
	case ActionRetrain:
		return []string{ActionRetrain}
	}
	return nil
}

func (t *Target) validate(v *validator, key string) {
	if t.Name == "" {
		v.add(key+".name", "required")
	}
	needURL := false
	switch t.Kind {
	case KindWebhook, KindAlertmanager:
		needURL = true
	case KindTemplate:
		needURL = true
		if t.Body == "" {
			v.add(key+".body", "required for a template target")
		} else if _, err := parseBody(t.Body); err != nil {
			v.add(key+".body", "parsing template: %v", err)
		}
	case KindSlack:
		if t.WebhookURL == "" {
			v.add(key+".webhook_url", "required for a slack target")
		} else if !httpURL(t.WebhookURL.Reveal()) {
			v.add(key+".webhook_url", "must be an http(s) URL")
		}
	case KindPagerDuty:
		if t.RoutingKey == "" {
			v.add(key+".routing_key", "required for a pagerduty target")
		}
	case "":
		v.add(key+".kind", "required (webhook, slack, pagerduty, alertmanager or template)")
	default:
		v.add(key+".kind", "unknown kind %q (webhook, slack, pagerduty, alertmanager or template)", t.Kind)
	}
	switch {
	case t.URL == "" && needURL:
		v.add(key+".url", "required for a %s target", t.Kind)
	case t.URL != "" && !httpURL(t.URL):
		v.add(key+".url", "must be an http(s) URL, got %q", t.URL)
	}
	if !validAction(t.Action) {
		v.add(key+".action", "must be notify, retrain or both, got %q", t.Action)
	}
	v.duration(key+".timeout", t.Timeout, false)
	for i, code := range t.AcceptStatuses {
		if code < 100 || code > 599 {
			v.add(fmt.Sprintf("%s.accept_statuses[%d]", key, i), "not an HTTP status: %d", code)
		}
	}
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (d *Delivery) validate(v *validator) {
	v.duration("alerts.delivery.timeout", d.Timeout, false)
	v.duration("alerts.delivery.initial_backoff", d.InitialBackoff, false)
	v.duration("alerts.delivery.max_backoff", d.MaxBackoff, false)
	v.duration("alerts.delivery.max_age", d.MaxAge, false)
	v.duration("alerts.delivery.keep_delivered", d.KeepDelivered, false)
	if d.Concurrency < 0 {
		v.add("alerts.delivery.concurrency", "must not be negative")
	}
	if d.InitialBackoff.Set && d.MaxBackoff.Set && d.InitialBackoff.D > d.MaxBackoff.D {
		v.add("alerts.delivery.initial_backoff", "%s exceeds max_backoff %s", d.InitialBackoff.D, d.MaxBackoff.D)
	}
}

func parseBody(body string) (*template.Template, error) {
	return template.New("body").Funcs(templateFuncs).Option("missingkey=error").Parse(body)
}

func durOr(d Duration, def time.Duration) time.Duration {
	if d.Set {
		return d.D
	}
	return def
}
