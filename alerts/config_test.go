package alerts

import (
	"go.yaml.in/yaml/v3"
	"os"
	"strings"
	"testing"
	"time"
)

func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("testdata/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if len(cfg.Rules) != 4 || len(cfg.Targets) != 6 {
		t.Fatalf("decoded %d rules, %d targets", len(cfg.Rules), len(cfg.Targets))
	}
	r, ok := cfg.Rules[1].compile()
	if !ok || r.threshold != 0.2 || !almost(r.resolve, 0.16) || r.cmp != GreaterThan || r.repeat != 2*time.Hour || r.minSamples != 100 {
		t.Errorf("psi critical defaults: %+v", r)
	}
	r, _ = cfg.Rules[2].compile()
	if r.threshold != 0.82 || r.resolve != 0.85 || r.cmp != LessThan || r.minSupport != 200 || r.action != ActionBoth {
		t.Errorf("f1 rule: %+v", r)
	}
	r, _ = cfg.Rules[3].compile()
	if r.threshold != 0.01 || !almost(r.resolve, 0.05) || r.cmp != LessThan || r.name != "amount_ks" {
		t.Errorf("ks rule: %+v", r)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		rule                 Rule
		cmp                  string
		threshold, resolve   float64
		minSamples, minSuppt int64
	}{
		{Rule{Metric: "psi"}, ">", 0.1, 0.08, 100, 0},
		{Rule{Metric: "js", Severity: SeverityCritical}, ">", 0.2, 0.16, 100, 0},
		{Rule{Metric: "chi2.p_value"}, "<", 0.01, 0.05, 100, 0},
		{Rule{Metric: "f1"}, "<", 0.8, 0.82, 0, 50},
		{Rule{Metric: "missing_rate"}, ">", 0.1, 0.08, 100, 0},
		{Rule{Metric: "mae", Threshold: Num(3)}, ">", 3, 3, 0, 0},
		{Rule{Metric: "label_coverage", Threshold: Num(0.5)}, "<", 0.5, 0.5, 0, 0},
		{Rule{Metric: "psi", Comparison: "<", Threshold: Num(0.01)}, "<", 0.01, 0.01, 100, 0},
	}
	for _, tt := range tests {
		r, ok := tt.rule.compile()
		if !ok || r.cmp != tt.cmp || !almost(r.threshold, tt.threshold) || !almost(r.resolve, tt.resolve) ||
			r.minSamples != tt.minSamples || r.minSupport != tt.minSuppt || r.forN != 1 || r.repeat != DefaultRepeatInterval {
			t.Errorf("%+v compiled to %+v", tt.rule, r)
		}
	}
}

func almost(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }

func TestValidateReportsEveryProblem(t *testing.T) {
	yaml := `
rules:
  - metric: psi
  - metric: psi
  - metric: f1
    threshold: abc
    resolve_threshold: [1]
    comparison: "=="
    repeat_interval: soon
    severity: page
    for: -1
    action: reboot
    feature: "[a"
  - metric: mae
  - metric: nope
  - metric: psi
    name: hyst
    threshold: 0.2
    resolve_threshold: 0.3
targets:
  - kind: webhook
  - name: s
    kind: slack
  - name: s
    kind: pagerduty
    url: not a url
  - name: t
    kind: template
    url: http://x
    body: "{{ .Nope"
  - name: x
    kind: carrier-pigeon
delivery:
  max_age: 0s
  initial_backoff: 10m
  max_backoff: 1m
`
	_, err := ParseConfig([]byte(yaml))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`alerts.rules[1].name: duplicate of rules[0] ("psi_warning")`,
		`alerts.rules[2].threshold: must be a number, got "abc"`,
		`alerts.rules[2].resolve_threshold: must be a number, got a sequence`,
		`alerts.rules[2].comparison: must be one of >, >=, <, <=, got "=="`,
		`alerts.rules[2].repeat_interval: must be a duration like 30s or 4h, got "soon"`,
		`alerts.rules[2].severity: must be info, warning or critical, got "page"`,
		`alerts.rules[2].for: must be at least 1, got -1`,
		`alerts.rules[2].action: must be notify, retrain or both, got "reboot"`,
		`alerts.rules[2].feature: bad glob "[a"`,
		`alerts.rules[3].threshold: required for metric "mae" (it has no default)`,
		`alerts.rules[4].metric: unknown metric "nope"`,
		`alerts.rules[5].resolve_threshold: 0.3 is on the alerting side of threshold 0.2`,
		`alerts.targets[0].name: required`,
		`alerts.targets[0].url: required for a webhook target`,
		`alerts.targets[0].signing_key: required for a webhook target (or set alerts.delivery.signing_key)`,
		`alerts.targets[1].webhook_url: required for a slack target`,
		`alerts.targets[2].name: duplicate of targets[1] ("s")`,
		`alerts.targets[2].routing_key: required for a pagerduty target`,
		`alerts.targets[2].url: must be an http(s) URL, got "not a url"`,
		`alerts.targets[3].body: parsing template:`,
		`alerts.targets[4].kind: unknown kind "carrier-pigeon"`,
		`alerts.delivery.max_age: must be positive, got 0s`,
		`alerts.delivery.initial_backoff: 10m0s exceeds max_backoff 1m0s`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q", want)
		}
	}
	if t.Failed() {
		t.Log(err)
	}
}

func TestParseConfigStrict(t *testing.T) {
	_, err := ParseConfig([]byte("rules:\n  - metric: psi\n    treshold: 0.3\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "treshold") {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := ParseConfig(nil); err != nil {
		t.Fatalf("empty config: %v", err)
	}
}

func TestRetrainRuleNeedsRetrainTarget(t *testing.T) {
	cfg := Config{Rules: []Rule{{Metric: "f1", Action: ActionRetrain}}, Targets: []Target{webhook("h", "http://x", "")}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `alerts.rules[0].action: "retrain" but no target has action retrain or both`) {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	seed, _ := os.ReadFile("testdata/alerts.yaml")
	f.Add(seed)
	f.Add([]byte("rules: [{metric: psi, threshold: x, repeat_interval: [1]}]"))
	f.Add([]byte("targets: [{kind: template, body: '{{'}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		for i := range cfg.Rules {
			if _, ok := cfg.Rules[i].compile(); !ok {
				t.Fatalf("valid rule %d does not compile: %+v", i, cfg.Rules[i])
			}
		}
	})
}

// TestDocsExamples decodes every YAML example of docs/alerts.md strictly,
// so the reference cannot drift from the code.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```yaml\n")[1:]
	if len(blocks) < 7 {
		t.Fatalf("found %d yaml examples", len(blocks))
	}
	for i, b := range blocks {
		b = b[:strings.Index(b, "```")]
		var src string
		if strings.HasPrefix(b, "alerts:") {
			src = b
		} else {
			src = "alerts:\n  targets:\n" + indent(b, "    ")
		}
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		var wrapper struct{ Alerts Config }
		if err := dec.Decode(&wrapper); err != nil {
			t.Errorf("example %d: %v\n%s", i, err, b)
			continue
		}
		if wrapper.Alerts.Delivery.SigningKey == "" {
			wrapper.Alerts.Delivery.SigningKey = "set in the full config"
		}
		if err := wrapper.Alerts.Validate(); err != nil {
			t.Errorf("example %d: %v\n%s", i, err, b)
		}
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
