package processor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/driftd/driftd/internal/testservices"
)

// TestTLSIntegration runs driftd end to end through the broker's listener
// that requires TLS and a client certificate (mutual TLS, with the
// listener's own CA): every connection driftd makes verifies the broker
// and presents kafka.tls.cert_file, and the windows equal the batch.
// Without the client certificate, or without TLS, Run fails at start.
func TestTLSIntegration(t *testing.T) {
	brokers, dir := testservices.KafkaTLS(t)
	mutual := TLSConfig{Enabled: true, CAFile: filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "client.pem"), KeyFile: filepath.Join(dir, "client-key.pem")}

	t.Run("mutual TLS", func(t *testing.T) {
		f := newFixture(t, 2) // topics made and filled through the open listener
		f.cfg.Kafka.Brokers = brokers
		f.cfg.Kafka.TLS = mutual
		preds, outs := genStream(2000, 3, 100, 13)
		produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, preds)
		produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, outs)
		produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, endMarkers(2, t0+2000*100, &f.cfg))
		want := batch(t, &f.cfg, engineFactory(&f.cfg), preds, outs)
		rec := &recorder{}
		f.start(t, "a", rec)
		compareWindows(t, waitFor(t, rec, want, 60*time.Second), want)
	})

	refused := func(t *testing.T, tls TLSConfig) error {
		t.Helper()
		f := newFixture(t, 1)
		f.cfg.Kafka.Brokers = brokers
		f.cfg.Kafka.TLS = tls
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := Run(ctx, f.cfg, Deps{Logger: zerolog.Nop(), Sinks: []Sink{&recorder{}}})
		if err == nil {
			t.Fatal("Run returned nil")
		}
		if ctx.Err() != nil {
			t.Fatalf("Run kept retrying instead of failing: %v", err)
		}
		t.Logf("Run: %v", err)
		return err
	}
	t.Run("no client certificate", func(t *testing.T) {
		refused(t, TLSConfig{Enabled: true, CAFile: mutual.CAFile})
	})
	t.Run("without TLS", func(t *testing.T) {
		if err := refused(t, TLSConfig{}); !strings.Contains(err.Error(), "kafka.tls") {
			t.Errorf("error does not point at kafka.tls: %v", err)
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		// The system roots do not know the listener's CA.
		if err := refused(t, TLSConfig{Enabled: true, CertFile: mutual.CertFile, KeyFile: mutual.KeyFile}); !strings.Contains(err.Error(), "certificate") {
			t.Errorf("error does not say the certificate was refused: %v", err)
		}
	})
}
