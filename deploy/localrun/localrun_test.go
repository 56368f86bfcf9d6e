package localrun

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/driftd/driftd/alerts"
	"go.yaml.in/yaml/v3"
)

func TestReceiverVerifiesAndSpotsRepeats(t *testing.T) {
	key := []byte("k")
	r, err := StartReceiver(key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body := []byte(`{"id":"n1","kind":"firing","model":"fraud"}`)
	send := func(sig, idem string) int {
		req, _ := http.NewRequest(http.MethodPost, r.URL()+"/oncall", bytes.NewReader(body))
		ts := time.Now().Unix()
		req.Header.Set(alerts.HeaderTimestamp, strconv.FormatInt(ts, 10))
		if sig == "" {
			sig = alerts.Sign(key, ts, body)
		}
		req.Header.Set(alerts.HeaderSignature, sig)
		req.Header.Set(alerts.HeaderIdempotencyKey, idem)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send("", "a"); code != http.StatusOK {
		t.Errorf("signed request: status %d, want 200", code)
	}
	if code := send("", "a"); code != http.StatusOK {
		t.Errorf("repeated request: status %d, want 200", code)
	}
	if code := send("v1=00", "b"); code != http.StatusUnauthorized {
		t.Errorf("forged request: status %d, want 401", code)
	}
	got := r.Received()
	if len(got) != 3 {
		t.Fatalf("received %d requests, want 3", len(got))
	}
	if !got[0].Verified || got[0].Duplicate || got[0].Notification.Model != "fraud" {
		t.Errorf("first request: %+v", got[0])
	}
	if !got[1].Duplicate {
		t.Errorf("second request with the same idempotency key not marked duplicate")
	}
	if got[2].Verified || got[2].VerifyError == "" {
		t.Errorf("forged request marked verified: %+v", got[2])
	}
}

func TestWriteConfigRendersValidAlerts(t *testing.T) {
	path := t.TempDir() + "/driftd.yaml"
	err := WriteConfig(path, Config{Kafka: "k:1", Group: "g", Topics: [4]string{"p", "o", "d", "c"},
		Dir: "/tmp/x", Admin: "127.0.0.1:1", ClickHouse: "c:9000", Database: "db", SigningKey: "s",
		Window: time.Minute, Lateness: time.Second, IdleTimeout: time.Second, LabelHorizon: time.Hour,
		Rules:   []string{"- {name: a, metric: psi}", "- {name: b, metric: f1, threshold: 0.5, action: both}"},
		Targets: []string{`- {name: t, kind: webhook, url: "http://x/hook", action: both}`}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Window struct {
			Size string `yaml:"size"`
		} `yaml:"window"`
		Alerts yaml.Node `yaml:"alerts"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("rendered config is not YAML: %v\n%s", err, raw)
	}
	if doc.Window.Size != "1m0s" {
		t.Errorf("window.size = %q, want 1m0s", doc.Window.Size)
	}
	section, err := yaml.Marshal(&doc.Alerts)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := alerts.ParseConfig(section)
	if err != nil {
		t.Fatalf("alerts section: %v\n%s", err, section)
	}
	if len(cfg.Rules) != 2 || len(cfg.Targets) != 1 {
		t.Errorf("parsed %d rules and %d targets, want 2 and 1", len(cfg.Rules), len(cfg.Targets))
	}
}
