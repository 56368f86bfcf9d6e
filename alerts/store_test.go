package alerts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestCrashLeftovers: what a crash at any point of a write can leave
// behind (a temporary file, a delivery both final and pending, a file that
// is not JSON) does not stop the next engine or resend a final delivery.
func TestCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Rules: []Rule{{Metric: "psi", RepeatInterval: Dur(0)}}, Targets: []Target{webhook("hook", "http://127.0.0.1:1/", "")}}
	e := newEngine(t, cfg, dir, Options{})
	write(t, e, window(0, psi("amount", 0.5, 1000)), window(1, psi("amount", 0.01, 1000)))
	var final *delivery
	e.q.mu.Lock()
	for _, d := range e.q.items {
		if d.Notification.Kind == KindFiring {
			final = d
		}
	}
	e.q.mu.Unlock()
	// Crash between writing done/ and removing outbox/.
	final.State = StateDelivered
	if err := e.store.writeFiles(map[string][]byte{e.store.donePath(final.ID): mustMarshal(t, final)}); err != nil {
		t.Fatal(err)
	}
	// Crash in the middle of a write: never renamed.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "state.json.123"), []byte(`{"ver`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Not ours / damaged.
	if err := os.WriteFile(filepath.Join(dir, "outbox", "junk.json"), []byte(`{"id":`), 0o600); err != nil {
		t.Fatal(err)
	}

	e.Close()
	logs := &syncBuffer{}
	e2 := newEngine(t, cfg, dir, Options{Logger: zerolog.New(logs)})
	defer e2.Close()
	if got := queuedNotifications(e2); len(got) != 1 || got[0] != KindResolved {
		t.Fatalf("queue after restart %v, want only the resolve", got)
	}
	if fileExists(e2.store.outboxPath(final.ID)) {
		t.Error("final delivery still in outbox/")
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Errorf("tmp/ not cleaned: %v", left)
	}
	if !strings.Contains(logs.String(), "junk.json") {
		t.Errorf("damaged file not reported: %s", logs.String())
	}
	// The state survived: the same windows are a replay.
	write(t, e2, window(0, psi("amount", 0.5, 1000)), window(1, psi("amount", 0.01, 1000)))
	if got := queuedNotifications(e2); len(got) != 1 {
		t.Fatalf("replay after restart queued %v", got)
	}
}

func TestOneEnginePerDirectory(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, Config{}, dir, Options{})
	if _, err := NewEngine(Config{}, Options{Dir: dir}); !errors.Is(err, errLocked) {
		t.Fatalf("second engine on %s: %v", dir, err)
	}
	e.Close()
	e2 := newEngine(t, Config{}, dir, Options{})
	e2.Close()
}
