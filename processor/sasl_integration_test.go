package processor

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/internal/testservices"
)

// TestSASLIntegration runs driftd end to end through the broker's listener
// that requires SASL, with each mechanism driftd offers: the consumer
// group, the partition fetches (their own dialer), the changelog and the
// offset commits all authenticate, and the windows equal the batch. A
// wrong password stops Run at start with an error that says so and does
// not show the password.
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
			f := newFixture(t, 2) // topics made and filled through the open listener
			f.cfg.Kafka.Brokers = sasl
			f.cfg.Kafka.SASL = SASLConfig{Mechanism: c.mechanism, Username: c.user, Password: Secret(c.password)}
			preds, outs := genStream(2000, 3, 100, 11)
			produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, preds)
			produce(t, f.brokers, f.cfg.Kafka.Topics.Outcomes, outs)
			produce(t, f.brokers, f.cfg.Kafka.Topics.Predictions, endMarkers(2, t0+2000*100, &f.cfg))
			want := batch(t, &f.cfg, engineFactory(&f.cfg), preds, outs)
			rec := &recorder{}
			f.start(t, "a", rec)
			compareWindows(t, waitFor(t, rec, want, 60*time.Second), want)
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		f := newFixture(t, 1)
		f.cfg.Kafka.Brokers = sasl
		wrong := "not-" + password
		f.cfg.Kafka.SASL = SASLConfig{Mechanism: SASLScramSHA512, Username: user, Password: Secret(wrong)}
		logs := &syncWriter{w: &strings.Builder{}}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		start := time.Now()
		err := Run(ctx, f.cfg, Deps{Logger: zerolog.New(logs), Sinks: []Sink{&recorder{}}})
		if err == nil {
			t.Fatal("Run with a wrong SASL password returned nil")
		}
		if ctx.Err() != nil {
			t.Fatalf("Run with a wrong SASL password kept retrying for %s instead of failing: %v", time.Since(start), err)
		}
		if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "sasl") && !strings.Contains(msg, "authentication") {
			t.Errorf("error does not say authentication failed: %v", err)
		}
		if strings.Contains(err.Error(), wrong) || strings.Contains(logs.String(), wrong) {
			t.Errorf("the password shows in the error or the log: %v", err)
		}
		t.Logf("Run: %v", err)
	})

	// The listener really requires SASL: without it driftd gets nowhere,
	// so the cases above authenticated.
	t.Run("without SASL", func(t *testing.T) {
		f := newFixture(t, 1)
		f.cfg.Kafka.Brokers = sasl
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := Run(ctx, f.cfg, Deps{Logger: zerolog.Nop(), Sinks: []Sink{&recorder{}}})
		if err == nil {
			t.Fatal("Run without SASL on the SASL listener returned nil")
		}
		if !strings.Contains(err.Error(), "kafka.sasl") {
			t.Errorf("error does not point at kafka.sasl: %v", err)
		}
		t.Logf("Run: %v", err)
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
