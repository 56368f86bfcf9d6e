package alerts

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/driftd/driftd/processor"
)

// killScenario is the input stream of TestKillAndRestart: five features,
// each drifting on its own rhythm, so windows fire and resolve often.
func killScenario() []processor.WindowResult {
	var out []processor.WindowResult
	for i := range 40 {
		var opts []func(*processor.WindowResult)
		for f := range 5 {
			v := 0.01
			if (i/(f+1))%2 == 1 {
				v = 0.5
			}
			opts = append(opts, psi(fmt.Sprintf("f%d", f), v, 1000))
		}
		out = append(out, window(i, opts...))
	}
	return out
}

func killConfig(url string) Config {
	return Config{
		Rules:    []Rule{{Metric: "psi", RepeatInterval: Dur(0)}},
		Targets:  []Target{webhook("hook", url, "")},
		Delivery: fastDelivery(),
	}
}

// TestKillAndRestart kills (SIGKILL) a child process running the engine
// at random moments while it consumes the stream, restarts it each time
// from its last "committed" window minus a few (a replay), and checks that
// the receiver ends up with exactly the notifications of an uninterrupted
// run: none lost, none invented.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	// The uninterrupted run, in process.
	ref := newEngine(t, killConfig("http://127.0.0.1:1/"), t.TempDir(), Options{})
	write(t, ref, killScenario()...)
	want := map[string]bool{}
	ref.q.mu.Lock()
	for _, d := range ref.q.items {
		want[d.Notification.ID] = true
	}
	ref.q.mu.Unlock()
	ref.Close()

	rv := newReceiver(t, func(n int, _ *http.Request) int {
		if n%7 == 3 {
			return http.StatusBadGateway // some retries on top of the kills
		}
		return http.StatusOK
	})
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	kills := 0
	for run := 0; ; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$")
		cmd.Env = append(os.Environ(), "DRIFTD_ALERTS_CHILD_DIR="+dir, "DRIFTD_ALERTS_CHILD_URL="+rv.srv.URL)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if run >= 25 { // enough kills: let it finish
			if err := <-exited; err != nil {
				t.Fatalf("final child: %v", err)
			}
			break
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("child %d: %v", run, err)
			}
		case <-time.After(time.Duration(5+rng.IntN(60)) * time.Millisecond):
			_ = cmd.Process.Kill()
			<-exited
			kills++
			continue
		}
		break
	}
	got := map[string]int{}
	for _, r := range rv.accepted() {
		got[r.header.Get(HeaderIdempotencyKey)]++
	}
	dups := 0
	for k, n := range got {
		if !want[k] {
			t.Errorf("delivered %s, which an uninterrupted run does not produce", k)
		}
		dups += n - 1
	}
	for k := range want {
		if got[k] == 0 {
			t.Errorf("notification %s lost", k)
		}
	}
	t.Logf("%d kills, %d notifications, %d requests, %d duplicate deliveries (at-least-once across a kill)",
		kills, len(want), len(rv.requests()), dups)
}

// TestKillChild is the process TestKillAndRestart kills. It plays the
// processor: resume after the last committed window minus two (a replay),
// WriteWindows, then "commit" by writing the index, and wait for the
// outbox to drain before exiting.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("DRIFTD_ALERTS_CHILD_DIR")
	if dir == "" {
		t.Skip("child process of TestKillAndRestart")
	}
	e, err := NewEngine(killConfig(os.Getenv("DRIFTD_ALERTS_CHILD_URL")), Options{Dir: filepath.Join(dir, "alerts"), Logger: zerolog.Nop()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() { _ = e.Run(context.Background()) }()
	committed := filepath.Join(dir, "committed")
	next := 0
	if b, err := os.ReadFile(committed); err == nil {
		n, _ := strconv.Atoi(string(b))
		next = max(n+1-2, 0)
	} else if !errors.Is(err, os.ErrNotExist) {
		os.Exit(2)
	}
	stream := killScenario()
	for i := next; i < len(stream); i++ {
		if err := e.WriteWindows(context.Background(), stream[i:i+1]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		tmp := committed + ".tmp"
		if os.WriteFile(tmp, []byte(strconv.Itoa(i)), 0o600) != nil || os.Rename(tmp, committed) != nil {
			os.Exit(2)
		}
	}
	for e.q.len() > 0 {
		time.Sleep(time.Millisecond)
	}
	os.Exit(0)
}
