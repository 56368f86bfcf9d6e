package processor

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/internal/testservices"
)

// Authentication against the local broker's listeners that require SASL
// or TLS: driftd runs end to end through each way in, and a wrong or
// missing credential stops it at start with an error that says why.

// endToEndThrough runs driftd through brokers with the security settings
// secure makes, over a stream produced through the open listener, and
// requires the windows to equal the batch: the consumer group, the
// partition fetches (their own dialer), the changelog and the offset
// commits all authenticated.
func endToEndThrough(t *testing.T, brokers []string, secure func(*KafkaConfig)) {
	t.Helper()
	f := newFixture(t, 2) // topics made and filled through the open listener
	f.cfg.Kafka.Brokers = brokers
	secure(&f.cfg.Kafka)
	preds, outs := genStream(2000, 3, 100, 11)
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, preds)
	produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, outs)
	produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, endMarkers(2, t0+2000*100, &f.cfg))
	want := batch(t, &f.cfg, engineFactory(&f.cfg), preds, outs)
	rec := &recorder{}
	f.start(t, "a", rec)
	compareWindows(t, waitFor(t, rec, want, 60*time.Second), want)
}

// refusedAtStart runs driftd through brokers with the settings secure
// makes and requires Run to fail at once rather than retry; it returns
// what was logged and the error.
func refusedAtStart(t *testing.T, brokers []string, secure func(*KafkaConfig)) (logs string, err error) {
	t.Helper()
	f := newFixture(t, 1)
	f.cfg.Kafka.Brokers = brokers
	secure(&f.cfg.Kafka)
	w := &syncWriter{w: &strings.Builder{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = Run(ctx, f.cfg, Deps{Logger: zerolog.New(w), Sinks: []Sink{&recorder{}}})
	if err == nil {
		t.Fatal("Run returned nil")
	}
	if ctx.Err() != nil {
		t.Fatalf("Run kept retrying for %s instead of failing: %v", time.Since(start), err)
	}
	t.Logf("Run: %v", err)
	return w.String(), err
}

// TestSASLIntegration: each mechanism driftd offers, end to end; a wrong
// password fails at start, says so and does not show the password; and
// without SASL driftd gets nowhere, so the cases before authenticated.
func TestSASLIntegration(t *testing.T) {
	sasl := testservices.KafkaSASL(t)
	open := testservices.Kafka(t)
	user, password := testservices.UniqueName(t, "scram"), randomSecret(t)
	createScramUser(t, open, user, password)

	for _, c := range []struct{ mechanism, user, password string }{
		{SASLPlain, testservices.KafkaSASLPlainUser, testservices.KafkaSASLPlainPassword},
		{SASLScramSHA256, user, password},
		{SASLScramSHA512, user, password},
	} {
		t.Run(c.mechanism, func(t *testing.T) {
			endToEndThrough(t, sasl, func(k *KafkaConfig) {
				k.SASL = SASLConfig{Mechanism: c.mechanism, Username: c.user, Password: Secret(c.password)}
			})
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		wrong := "not-" + password
		logs, err := refusedAtStart(t, sasl, func(k *KafkaConfig) {
			k.SASL = SASLConfig{Mechanism: SASLScramSHA512, Username: user, Password: Secret(wrong)}
		})
		if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "sasl") && !strings.Contains(msg, "authentication") {
			t.Errorf("error does not say authentication failed: %v", err)
		}
		if strings.Contains(err.Error(), wrong) || strings.Contains(logs, wrong) {
			t.Errorf("the password shows in the error or the log: %v", err)
		}
	})
	t.Run("without SASL", func(t *testing.T) {
		if _, err := refusedAtStart(t, sasl, func(*KafkaConfig) {}); !strings.Contains(err.Error(), "kafka.sasl") {
			t.Errorf("error does not point at kafka.sasl: %v", err)
		}
	})
}

// TestTLSIntegration: mutual TLS end to end, through the listener that
// requires a client certificate and trusts its own CA; without the client
// certificate, without TLS, or trusting only the system roots, Run fails
// at start.
func TestTLSIntegration(t *testing.T) {
	brokers, dir := testservices.KafkaTLS(t)
	mutual := TLSConfig{Enabled: true, CAFile: filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "client.pem"), KeyFile: filepath.Join(dir, "client-key.pem")}
	withTLS := func(c TLSConfig) func(*KafkaConfig) { return func(k *KafkaConfig) { k.TLS = c } }

	t.Run("mutual TLS", func(t *testing.T) { endToEndThrough(t, brokers, withTLS(mutual)) })
	t.Run("no client certificate", func(t *testing.T) {
		refusedAtStart(t, brokers, withTLS(TLSConfig{Enabled: true, CAFile: mutual.CAFile}))
	})
	t.Run("without TLS", func(t *testing.T) {
		if _, err := refusedAtStart(t, brokers, withTLS(TLSConfig{})); !strings.Contains(err.Error(), "kafka.tls") {
			t.Errorf("error does not point at kafka.tls: %v", err)
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		_, err := refusedAtStart(t, brokers, withTLS(TLSConfig{Enabled: true, CertFile: mutual.CertFile, KeyFile: mutual.KeyFile}))
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("error does not say the certificate was refused: %v", err)
		}
	})
}

// createScramUser gives user password for SCRAM-SHA-256 and -512. SCRAM
// credentials live in the cluster's metadata and are set through the open
// listener, which has no authorizer; the broker stores the salted
// password, computed here as SCRAM does (PBKDF2 with the mechanism's hash).
func createScramUser(t *testing.T, brokers []string, user, password string) {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	const iterations = 4096
	salted := func(h func() hash.Hash, size int) []byte {
		k, err := pbkdf2.Key(h, password, salt, iterations, size)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 20 * time.Second}
	// One request per mechanism: the broker refuses two changes to one
	// user in a request.
	for _, u := range []kafka.UserScramCredentialsUpsertion{
		{Name: user, Mechanism: kafka.ScramMechanismSha256, Iterations: iterations, Salt: salt, SaltedPassword: salted(sha256.New, sha256.Size)},
		{Name: user, Mechanism: kafka.ScramMechanismSha512, Iterations: iterations, Salt: salt, SaltedPassword: salted(sha512.New, sha512.Size)},
	} {
		res, err := client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
			Upsertions: []kafka.UserScramCredentialsUpsertion{u}})
		if err != nil {
			t.Fatalf("creating SCRAM user %s: %v", user, err)
		}
		for _, r := range res.Results {
			if r.Error != nil {
				t.Fatalf("creating SCRAM user %s: %v", r.User, r.Error)
			}
		}
	}
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// syncWriter lets the log be read while Run's goroutines write it.
type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
