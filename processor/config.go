package processor

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Secret is a credential: a SASL or ClickHouse password, an HMAC key, a
// routing key, a webhook URL with a token. Every way of printing or
// marshalling it yields "<secret>", so config dumps, logs and error
// messages never carry it; read it with Reveal where a request is built.
// alerts and sinks use this one type (cmd's env overrides rely on that).
type Secret string

const redacted = "<secret>"

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// Format covers every verb, including %x and %q, which would otherwise
// print the underlying string.
func (s Secret) Format(f fmt.State, _ rune)    { _, _ = f.Write([]byte(redacted)) }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s Secret) MarshalYAML() (any, error)     { return redacted, nil }
func (s Secret) Reveal() string                { return string(s) }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"` + redacted + `"`), nil }
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

// Config is the engine's part of driftd.yaml. cmd/driftd embeds it inline in
// the file's root struct, next to the sections other rooms own.
type Config struct {
	Kafka     KafkaConfig     `yaml:"kafka"`
	Window    WindowConfig    `yaml:"window"`
	Join      JoinConfig      `yaml:"join"`
	Limits    LimitsConfig    `yaml:"limits"`
	Baselines BaselinesConfig `yaml:"baselines"`
	Admin     AdminConfig     `yaml:"admin"`
	// Models, when not empty, is the allow-list of model names; events for
	// other models are rejected with reason unknown_model.
	Models []string `yaml:"models"`
	// ShutdownTimeout bounds graceful shutdown (flush, checkpoint, commit).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// CommitInterval is how often a partition flushes results to the sinks,
	// checkpoints its state and commits offsets.
	CommitInterval time.Duration `yaml:"commit_interval"`
}

// KafkaConfig names the broker, topics and consumer group.
type KafkaConfig struct {
	Brokers []string    `yaml:"brokers"`
	Topics  TopicConfig `yaml:"topics"`
	Group   string      `yaml:"group"`
	TLS     TLSConfig   `yaml:"tls"`
	SASL    SASLConfig  `yaml:"sasl"`
	// MaxInFlight caps processed but not yet durable messages per
	// partition: a flush starts at half of it (or on the commit tick) and
	// is written while the next half is taken; at the cap the worker
	// pauses until the flush being written is durable. Every flush costs
	// an insert per sink table and rewrites the open window's checkpoint,
	// so a small cap makes a fast partition spend its time (and
	// ClickHouse's) on flushes; a large one means more to replay after a
	// crash (about a second of input at a million).
	MaxInFlight int `yaml:"max_in_flight"`
	// SessionTimeout is the consumer-group session: how long a crashed
	// instance keeps its partitions before the group moves them (the
	// broker's minimum is usually 6s).
	SessionTimeout time.Duration `yaml:"session_timeout"`
}

// TopicConfig names the topics driftd reads and writes.
type TopicConfig struct {
	Predictions string `yaml:"predictions"`
	Outcomes    string `yaml:"outcomes"`
	DeadLetters string `yaml:"dead_letters"`
	// Changelog is a compacted topic holding each partition's checkpointed
	// open state (windows, pending joins, offsets).
	Changelog string `yaml:"changelog"`
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASL mechanisms.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// SASLConfig authenticates to the brokers; Mechanism "" disables SASL.
type SASLConfig struct {
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  Secret `yaml:"password"`
}

// WindowConfig shapes event-time windows.
type WindowConfig struct {
	Size            time.Duration `yaml:"size"`
	AllowedLateness time.Duration `yaml:"allowed_lateness"`
	// IdleTimeout advances a quiet partition's watermark by the processing
	// time that passed since its last event, so its windows still close.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// RollingWindows K > 1 also emits rolling views merging the last K
	// tumbling windows; 0 or 1 disables them.
	RollingWindows int `yaml:"rolling_windows"`
}

// JoinConfig bounds the pending-join store.
type JoinConfig struct {
	// LabelHorizon is how long (event time) a prediction waits for its
	// outcome, and how long a closed window accepts labels.
	LabelHorizon time.Duration `yaml:"label_horizon"`
	// OutcomeWait is how long (processing time) an outcome that arrived
	// before its prediction waits for it.
	OutcomeWait time.Duration `yaml:"outcome_wait"`
	MaxEntries  int           `yaml:"max_entries"`
	MaxBytes    int64         `yaml:"max_bytes"`
}

// LimitsConfig bounds what one event may carry.
type LimitsConfig struct {
	MaxMessageBytes int `yaml:"max_message_bytes"`
	MaxFeatures     int `yaml:"max_features"`
	MaxStringLen    int `yaml:"max_string_len"`
	MaxCategories   int `yaml:"max_categories"`
}

// BaselinesConfig locates baseline profiles, one file per model/version.
type BaselinesConfig struct {
	Dir string `yaml:"dir"`
}

// AdminConfig is the admin HTTP listener (/metrics, /healthz, /readyz, pprof).
type AdminConfig struct {
	Listen string `yaml:"listen"`
}

// DefaultConfig returns the defaults every field falls back to.
func DefaultConfig() Config {
	return Config{
		Kafka: KafkaConfig{
			Topics: TopicConfig{
				Predictions: "predictions",
				Outcomes:    "outcomes",
				DeadLetters: "driftd-dead-letters",
				Changelog:   "driftd-changelog",
			},
			Group:          "driftd",
			MaxInFlight:    1_000_000,
			SessionTimeout: 10 * time.Second,
		},
		Window: WindowConfig{
			Size:            time.Hour,
			AllowedLateness: 5 * time.Minute,
			IdleTimeout:     time.Minute,
			RollingWindows:  24,
		},
		Join: JoinConfig{
			LabelHorizon: 7 * 24 * time.Hour,
			OutcomeWait:  5 * time.Minute,
			MaxEntries:   1_000_000,
			MaxBytes:     512 << 20,
		},
		Limits: LimitsConfig{
			MaxMessageBytes: 64 << 10,
			MaxFeatures:     500,
			MaxStringLen:    1024,
			MaxCategories:   1000,
		},
		Admin:           AdminConfig{Listen: "127.0.0.1:9464"},
		ShutdownTimeout: 30 * time.Second,
		CommitInterval:  2 * time.Second,
	}
}

// Problems collects configuration problems, each naming its key path.
type Problems []string

// Addf records one problem at key.
func (p *Problems) Addf(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

// Err returns nil when there are no problems, else one error listing all.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &ConfigError{Problems: p}
}

// ConfigError lists every problem found in a configuration.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// ErrInvalidConfig is matched by every *ConfigError (errors.Is).
var ErrInvalidConfig = errors.New("invalid configuration")

// Is lets errors.Is(err, ErrInvalidConfig) match.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Validate reports every problem of the engine configuration; it makes no
// network call. kafka-go panics on some bad settings, so nothing reaches it
// unvalidated.
func (c *Config) Validate() error {
	var p Problems
	c.validate(&p)
	return p.Err()
}

func (c *Config) validate(p *Problems) {
	k := &c.Kafka
	if len(k.Brokers) == 0 {
		p.Addf("kafka.brokers", "must list at least one broker (host:port)")
	}
	for i, b := range k.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			p.Addf(fmt.Sprintf("kafka.brokers[%d]", i), "%q is not host:port", b)
		}
	}
	topics := map[string]string{}
	for _, kv := range [][2]string{
		{"kafka.topics.predictions", k.Topics.Predictions}, {"kafka.topics.outcomes", k.Topics.Outcomes},
		{"kafka.topics.dead_letters", k.Topics.DeadLetters}, {"kafka.topics.changelog", k.Topics.Changelog},
	} {
		key, v := kv[0], kv[1]
		if v == "" {
			p.Addf(key, "must not be empty")
			continue
		}
		if other, dup := topics[v]; dup {
			p.Addf(key, "topic %q is also used by %s", v, other)
		}
		topics[v] = key
	}
	if k.Group == "" {
		p.Addf("kafka.group", "must not be empty")
	}
	if k.MaxInFlight <= 0 {
		p.Addf("kafka.max_in_flight", "must be > 0, got %d", k.MaxInFlight)
	}
	if k.SessionTimeout < time.Second || k.SessionTimeout > 5*time.Minute {
		p.Addf("kafka.session_timeout", "must be in [1s, 5m], got %s", k.SessionTimeout)
	}
	if t := k.TLS; !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "") {
		p.Addf("kafka.tls.enabled", "must be true when certificate files are set")
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		p.Addf("kafka.tls", "cert_file and key_file must be set together")
	}
	switch k.SASL.Mechanism {
	case "":
		if k.SASL.Username != "" || k.SASL.Password != "" {
			p.Addf("kafka.sasl.mechanism", "must be set when a username or password is given")
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if k.SASL.Username == "" {
			p.Addf("kafka.sasl.username", "must not be empty with mechanism %s", k.SASL.Mechanism)
		}
		if k.SASL.Password == "" {
			p.Addf("kafka.sasl.password", "must not be empty with mechanism %s", k.SASL.Mechanism)
		}
	default:
		p.Addf("kafka.sasl.mechanism", "%q is not one of plain, scram-sha-256, scram-sha-512", k.SASL.Mechanism)
	}
	w := &c.Window
	if w.Size < time.Second {
		p.Addf("window.size", "must be at least 1s, got %s", w.Size)
	} else if 24*time.Hour%w.Size != 0 && w.Size%(24*time.Hour) != 0 {
		p.Addf("window.size", "%s must divide a day (or be whole days) so windows align on every instance", w.Size)
	}
	if w.AllowedLateness < 0 {
		p.Addf("window.allowed_lateness", "must not be negative, got %s", w.AllowedLateness)
	}
	if w.IdleTimeout < 0 {
		p.Addf("window.idle_timeout", "must not be negative, got %s", w.IdleTimeout)
	}
	if w.RollingWindows < 0 || w.RollingWindows > 1000 {
		p.Addf("window.rolling_windows", "must be in [0, 1000], got %d", w.RollingWindows)
	}
	j := &c.Join
	if j.LabelHorizon <= 0 {
		p.Addf("join.label_horizon", "must be > 0, got %s", j.LabelHorizon)
	}
	if j.OutcomeWait < 0 {
		p.Addf("join.outcome_wait", "must not be negative, got %s", j.OutcomeWait)
	}
	if j.MaxEntries <= 0 {
		p.Addf("join.max_entries", "must be > 0, got %d", j.MaxEntries)
	}
	if j.MaxBytes <= 0 {
		p.Addf("join.max_bytes", "must be > 0, got %d", j.MaxBytes)
	}
	l := &c.Limits
	if l.MaxMessageBytes < 256 || l.MaxMessageBytes > 16<<20 {
		p.Addf("limits.max_message_bytes", "must be in [256, 16777216], got %d", l.MaxMessageBytes)
	}
	if l.MaxFeatures <= 0 {
		p.Addf("limits.max_features", "must be > 0, got %d", l.MaxFeatures)
	}
	if l.MaxStringLen <= 0 {
		p.Addf("limits.max_string_len", "must be > 0, got %d", l.MaxStringLen)
	}
	if l.MaxCategories <= 0 {
		p.Addf("limits.max_categories", "must be > 0, got %d", l.MaxCategories)
	}
	if c.Admin.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
			p.Addf("admin.listen", "%q is not host:port", c.Admin.Listen)
		}
	}
	for i, m := range c.Models {
		if m == "" {
			p.Addf(fmt.Sprintf("models[%d]", i), "must not be empty")
		}
	}
	if c.ShutdownTimeout <= 0 {
		p.Addf("shutdown_timeout", "must be > 0, got %s", c.ShutdownTimeout)
	}
	if c.CommitInterval <= 0 {
		p.Addf("commit_interval", "must be > 0, got %s", c.CommitInterval)
	}
}

// ValidateInto appends the engine's problems to p, so a caller embedding
// Config can report its own and these in one list.
func (c *Config) ValidateInto(p *Problems) { c.validate(p) }
