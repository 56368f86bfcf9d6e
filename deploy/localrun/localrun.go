// Package localrun runs driftd the way the demo and the benchmark need it:
// as a child process with a generated config, beside a webhook receiver
// that verifies every signature as a real receiver must.
package localrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/driftd/driftd/alerts"
)

// Receipt is one webhook request as the receiver saw it.
type Receipt struct {
	Path        string
	At          time.Time
	Verified    bool
	VerifyError string
	// Duplicate is set when the path and Idempotency-Key came before.
	Duplicate    bool
	Notification alerts.Notification
}

// Receiver stands in for on-call tooling and the ML platform.
type Receiver struct {
	key []byte
	srv *http.Server
	url string

	mu       sync.Mutex
	received []Receipt
	seenKeys map[string]bool
}

// StartReceiver listens on a free loopback port; requests must be signed
// with key.
func StartReceiver(key []byte) (*Receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting webhook receiver: %w", err)
	}
	r := &Receiver{key: key, url: "http://" + l.Addr().String(), seenKeys: map[string]bool{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

// URL is the receiver's base URL; targets add a path.
func (r *Receiver) URL() string { return r.url }

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := Receipt{Path: req.URL.Path, At: time.Now()}
	body, err := io.ReadAll(io.LimitReader(req.Body, 4<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	verr := alerts.VerifySignature(r.key, req.Header.Get(alerts.HeaderTimestamp),
		req.Header.Get(alerts.HeaderSignature), body, time.Now(), 5*time.Minute)
	if verr == nil {
		verr = json.Unmarshal(body, &rec.Notification)
	}
	rec.Verified = verr == nil
	if verr != nil {
		rec.VerifyError = verr.Error()
	}
	key := req.URL.Path + " " + req.Header.Get(alerts.HeaderIdempotencyKey)
	r.mu.Lock()
	rec.Duplicate = r.seenKeys[key]
	r.seenKeys[key] = true
	r.received = append(r.received, rec)
	r.mu.Unlock()
	if verr != nil {
		http.Error(w, "bad signature or body", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Received returns a copy of every request so far, in arrival order.
func (r *Receiver) Received() []Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Receipt(nil), r.received...)
}

// Close stops listening.
func (r *Receiver) Close() { _ = r.srv.Close() }

// Process is a running `driftd run`.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	Log  string // path of its combined stdout and stderr
}

// StartDriftd runs `binary run --config config`, logging to logPath.
func StartDriftd(binary, config, logPath string) (*Process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating driftd log: %w", err)
	}
	cmd := exec.Command(binary, "run", "--config", config)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting driftd: %w", err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{}), Log: logPath}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited; Err then says how.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error, valid once Done is closed.
func (p *Process) Err() error { return p.err }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// WaitReady polls url (the admin /readyz) until it answers 200.
func (p *Process) WaitReady(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("driftd exited during start: %v (log: %s)", p.err, p.Log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("driftd not ready after %s (log: %s)", limit, p.Log)
}

// Stop sends SIGTERM (a graceful stop: flush, checkpoint, commit) and
// kills the process if it is still there after 45 s. Safe to call twice.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(45 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Config is what differs between the driftd.yaml files the demo and the
// benchmark write; everything else (ClickHouse sink, no rolling views,
// state under Dir) is the same for both.
type Config struct {
	Kafka, Group string
	// Topics: predictions, outcomes, dead letters, changelog.
	Topics                                      [4]string
	Dir, Admin, ClickHouse, Database            string
	Window, Lateness, IdleTimeout, LabelHorizon time.Duration
	SigningKey                                  string
	// Rules and Targets are YAML list items (each line "- {...}"), indented
	// by WriteConfig.
	Rules, Targets []string
}

// WriteConfig renders c as a driftd.yaml at path.
func WriteConfig(path string, c Config) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := configTemplate.Execute(f, c); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

var configTemplate = template.Must(template.New("config").Parse(`# driftd config written by deploy/localrun.
kafka:
  brokers: [{{.Kafka}}]
  group: {{.Group}}
  topics:
    predictions: {{index .Topics 0}}
    outcomes: {{index .Topics 1}}
    dead_letters: {{index .Topics 2}}
    changelog: {{index .Topics 3}}
window:
  size: {{.Window}}
  allowed_lateness: {{.Lateness}}
  idle_timeout: {{.IdleTimeout}}
  rolling_windows: 0
join:
  label_horizon: {{.LabelHorizon}}
  outcome_wait: 30s
baselines:
  dir: {{.Dir}}/baselines
admin:
  listen: {{.Admin}}
state_dir: {{.Dir}}/state
sink: clickhouse
clickhouse:
  addr: [{{.ClickHouse}}]
  database: {{.Database}}
alerts:
  rules:
{{- range .Rules}}
    {{.}}
{{- end}}
  targets:
{{- range .Targets}}
    {{.}}
{{- end}}
  delivery:
    signing_key: {{.SigningKey}}
    initial_backoff: 200ms
`))

// FreeAddr returns a loopback host:port nothing listens on right now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// RandomHex returns n random bytes, hex-encoded: run ids and signing keys.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// ErrExited reports a driftd that stopped while it was still needed.
var ErrExited = errors.New("driftd exited")

// Targets are what every local runner points at: the driftd and probe
// binaries `make build` leaves, and the services `make services-up` starts.
type Targets struct {
	Driftd, Probe     string
	Kafka, ClickHouse string
}

// AddFlags registers -driftd, -probe, -kafka and -clickhouse, defaulting to
// the Makefile's locations and ports.
func (t *Targets) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&t.Driftd, "driftd", "bin/driftd", "driftd binary")
	fs.StringVar(&t.Probe, "probe", ".local/bin/probe", "probe binary (creates topics)")
	fs.StringVar(&t.Kafka, "kafka", "127.0.0.1:19092", "Kafka broker")
	fs.StringVar(&t.ClickHouse, "clickhouse", "127.0.0.1:19000", "ClickHouse native address")
}

// Main parses the flags, runs run with a context that SIGINT and SIGTERM
// cancel, and exits 1 with "name: error" when it fails.
func Main(name string, run func(context.Context) error) {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		stop()
		os.Exit(1)
	}
}
