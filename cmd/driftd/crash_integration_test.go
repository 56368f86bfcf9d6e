package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/driftd/driftd/internal/testservices"
	"github.com/driftd/driftd/processor"
)

// The test binary doubles as driftd: with DRIFTD_TEST_AS_MAIN=1 it runs
// the command line instead of the tests, so the crash test can SIGKILL a
// real driftd process without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("DRIFTD_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const crashWindow = time.Minute

type crashStream struct {
	models, events int
	t0, step       int64
}

func (s crashStream) produce(t *testing.T, brokers []string, preds, outs string, partitions int) {
	t.Helper()
	r := rand.New(rand.NewPCG(42, 42))
	tr := &kafka.Transport{} // not the shared default: its metadata cache may predate the topics
	defer tr.CloseIdleConnections()
	pw := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: preds, Balancer: &kafka.Hash{}, BatchSize: 2000, Transport: tr,
		BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	ow := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: outs, Balancer: &kafka.Hash{}, BatchSize: 2000, Transport: tr,
		BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer pw.Close()
	defer ow.Close()
	var pb, ob []kafka.Message
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pw.WriteMessages(ctx, pb...); err != nil {
			t.Fatalf("producing predictions: %v", err)
		}
		if err := ow.WriteMessages(ctx, ob...); err != nil {
			t.Fatalf("producing outcomes: %v", err)
		}
		pb, ob = pb[:0], ob[:0]
	}
	for i := range s.events {
		m := fmt.Sprintf("model-%d", i%s.models)
		ts := s.t0 + int64(i)*s.step
		label := strconv.Itoa(r.IntN(2))
		pred := label
		if r.IntN(5) == 0 {
			pred = strconv.Itoa(r.IntN(2))
		}
		pb = append(pb, kafka.Message{Key: []byte(m), Value: fmt.Appendf(nil,
			`{"event_id":"c%d","model":%q,"model_version":"v1","ts":%d,"latency_ms":%d,"features":{"x":%.3f,"c":"k%d"},"prediction":{"label":%q,"score":%.2f}}`,
			i, m, ts, r.IntN(200), r.NormFloat64(), r.IntN(6), pred, r.Float64())})
		ob = append(ob, kafka.Message{Key: []byte(m), Value: fmt.Appendf(nil,
			`{"event_id":"c%d","model":%q,"ts":%d,"label":%q}`, i, m, ts+3000, label)})
		if len(pb) == 5000 {
			flush()
		}
	}
	// One end marker per partition closes every window of the stream.
	end := s.t0 + int64(s.events)*s.step + 2*crashWindow.Milliseconds()
	for p := range partitions * 4 {
		pb = append(pb, kafka.Message{Key: []byte(fmt.Sprint("end-", p)), Value: fmt.Appendf(nil,
			`{"event_id":"end%d","model":"zz-end","model_version":"v1","ts":%d,"features":{},"prediction":"0"}`, p, end)})
	}
	flush()
}

// expectedEvents counts predictions per window of each model.
func (s crashStream) expectedEvents() map[string]int64 {
	out := map[string]int64{}
	for i := range s.events {
		ts := s.t0 + int64(i)*s.step
		start := ts - ts%crashWindow.Milliseconds()
		out[fmt.Sprintf("model-%d/%d", i%s.models, start)]++
	}
	return out
}

func crashKey(id processor.WindowID) string {
	return fmt.Sprintf("%s/%d", id.Model, id.Start.UnixMilli())
}

// readResults reads a JSON-lines sink file and keeps the highest revision
// per window. A torn last line (killed mid-write, so never acknowledged)
// is skipped.
func readResults(t *testing.T, path string) map[string]processor.WindowResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]processor.WindowResult{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r processor.WindowResult
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.ID.Model == "zz-end" {
			continue
		}
		k := crashKey(r.ID)
		if old, ok := out[k]; !ok || r.Revision > old.Revision {
			out[k] = r
		} else if r.Revision == old.Revision && !reflect.DeepEqual(r, old) {
			t.Errorf("%s revision %d written with two contents", k, r.Revision)
		}
	}
	return out
}

func complete(got map[string]processor.WindowResult, want map[string]int64) bool {
	if len(got) < len(want) {
		return false
	}
	for k, n := range want {
		if g, ok := got[k]; !ok || g.Events != n || g.LabelCoverage != 1 {
			return false
		}
	}
	return true
}

type crashRig struct {
	t       *testing.T
	dir     string
	brokers []string
	topics  processor.TopicConfig
}

// config writes a driftd.yaml for one run (own group, changelog, sink file).
func (c *crashRig) config(name string) (cfgPath, sinkPath string) {
	sinkPath = filepath.Join(c.dir, name+".jsonl")
	cfgPath = filepath.Join(c.dir, name+".yaml")
	body := fmt.Sprintf(`kafka:
  brokers: [%s]
  group: %s
  session_timeout: 6s
  topics: {predictions: %s, outcomes: %s, dead_letters: %s, changelog: %s}
window: {size: 1m, allowed_lateness: 5s, idle_timeout: 0s, rolling_windows: 0}
join: {label_horizon: 1h, outcome_wait: 1h}
commit_interval: 300ms
shutdown_timeout: 10s
admin: {listen: "127.0.0.1:0"}
sink: stdout
sink_file: %s
`, c.brokers[0], testservices.UniqueName(c.t, "grp_"+name), c.topics.Predictions, c.topics.Outcomes,
		testservices.UniqueName(c.t, "dlq_"+name), testservices.UniqueName(c.t, "chg_"+name), sinkPath)
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return cfgPath, sinkPath
}

func (c *crashRig) start(cfgPath, logName string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "run", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "DRIFTD_TEST_AS_MAIN=1")
	logf, err := os.OpenFile(filepath.Join(c.dir, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logf.Close() })
	return cmd
}

func (c *crashRig) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, name))
	return string(b[max(0, len(b)-4000):])
}

func (c *crashRig) assignments(name string) int {
	b, _ := os.ReadFile(filepath.Join(c.dir, name))
	return strings.Count(string(b), "partitions assigned")
}

// waitAssigned waits until the log shows the n-th partition assignment.
func (c *crashRig) waitAssigned(name string, n int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c.assignments(name) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no partition assignment %d within %s; log:\n%s", n, timeout, c.logTail(name))
}

// waitComplete polls the sink file until every window is complete.
func (c *crashRig) waitComplete(sink string, want map[string]int64, timeout time.Duration) map[string]processor.WindowResult {
	deadline := time.Now().Add(timeout)
	for {
		got := readResults(c.t, sink)
		if complete(got, want) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// stopGracefully sends SIGTERM and expects exit 0 within the bound.
func stopGracefully(t *testing.T, cmd *exec.Cmd, bound time.Duration) {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("driftd exited with %v after SIGTERM", err)
		}
	case <-time.After(bound):
		t.Errorf("driftd did not stop within %s of SIGTERM", bound)
	}
}

// TestCrashRecoveryIntegration kills driftd with SIGKILL at random moments
// over a stream, restarts it each time, and requires the final windows
// (highest revision each) to equal those of an uninterrupted run: none
// missing, none double-counted. DRIFTD_CRASH_EVENTS sets the stream size
// (default 100,000, 20,000 under -race; the full run is 1,000,000), DRIFTD_CRASH_KILLS
// the number of kills (default 4).
func TestCrashRecoveryIntegration(t *testing.T) {
	brokers := testservices.Kafka(t)
	def := 100_000
	if raceEnabled {
		def = 20_000
	}
	n := envInt("DRIFTD_CRASH_EVENTS", def)
	kills := envInt("DRIFTD_CRASH_KILLS", 4)
	c := &crashRig{t: t, dir: t.TempDir(), brokers: brokers, topics: processor.TopicConfig{
		Predictions: testservices.UniqueName(t, "pred"), Outcomes: testservices.UniqueName(t, "out")}}
	testservices.CreateTopics(t, brokers, 4, c.topics.Predictions, c.topics.Outcomes)
	s := crashStream{models: 8, events: n, t0: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).UnixMilli(), step: max(1, 1_200_000/int64(n))}
	s.produce(t, brokers, c.topics.Predictions, c.topics.Outcomes, 4)
	want := s.expectedEvents()
	timeout := time.Duration(60+n/2000) * time.Second

	// Uninterrupted run, stopped gracefully.
	cfgA, sinkA := c.config("a")
	a := c.start(cfgA, "a.log")
	c.waitAssigned("a.log", 1, time.Minute)
	began := time.Now()
	ref := c.waitComplete(sinkA, want, timeout)
	// How long the stream takes from assignment to complete: the kills
	// below are spread over about this much processing, so that they come
	// while there is work in flight whatever the stream size and the speed
	// of the machine. A fixed spread let a fast machine finish a
	// 1,000,000-event stream after two kills of the five asked for.
	span := time.Since(began)
	stopGracefully(t, a, 20*time.Second)
	if !complete(ref, want) {
		t.Fatalf("uninterrupted run incomplete: %d of %d windows; log:\n%s", len(ref), len(want), c.logTail("a.log"))
	}

	// Crashing run.
	cfgB, sinkB := c.config("b")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	midStream := 0
	for i := 0; i < kills && !complete(readResults(t, sinkB), want); i++ {
		before := c.assignments("b.log")
		b := c.start(cfgB, "b.log")
		// Kill at a random moment once it owns partitions (a restart
		// first waits out the killed member's session): on average 0.8
		// of the uninterrupted span over all kills, each life replaying
		// from its last commit.
		c.waitAssigned("b.log", before+1, time.Minute)
		after := time.Duration(r.Int64N(int64(1.6*float64(span)/float64(kills)) + 1))
		time.Sleep(after)
		_ = b.Process.Signal(syscall.SIGKILL)
		_ = b.Wait()
		got := readResults(t, sinkB)
		if !complete(got, want) {
			midStream++
		}
		t.Logf("kill %d, %s after assignment (uninterrupted run: %s): %d of %d windows written, complete %v",
			i+1, after.Round(time.Millisecond), span.Round(time.Millisecond), len(got), len(want), complete(got, want))
	}
	if midStream == 0 {
		t.Errorf("no kill came before the stream was complete (%d asked for); the test tested no recovery", kills)
	}
	b := c.start(cfgB, "b.log")
	c.waitAssigned("b.log", c.assignments("b.log")+1, time.Minute)
	got := c.waitComplete(sinkB, want, timeout)
	stopGracefully(t, b, 20*time.Second)

	if t.Failed() || len(got) != len(ref) {
		t.Logf("crashing run log tail:\n%s", c.logTail("b.log"))
	}
	if len(got) != len(ref) {
		t.Errorf("crashed run has %d windows, uninterrupted %d", len(got), len(ref))
	}
	var events int64
	for k, w := range ref {
		events += w.Events
		g, ok := got[k]
		if !ok {
			t.Errorf("window %s missing after crashes", k)
			continue
		}
		if g.Events != w.Events || g.Revision != w.Revision || !reflect.DeepEqual(g, w) {
			t.Errorf("window %s differs after crashes:\n got events %d rev %d coverage %v\nwant events %d rev %d coverage %v",
				k, g.Events, g.Revision, g.LabelCoverage, w.Events, w.Revision, w.LabelCoverage)
		}
	}
	if events != int64(n) {
		t.Errorf("uninterrupted run counted %d predictions, produced %d", events, n)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
