package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// store keeps the alert state and the outbox in a directory:
//
//	state.json         every (rule, model, version, feature) state machine
//	outbox/<id>.json   deliveries not yet final
//	done/<id>.json     final deliveries, kept for KeepDelivered so a replay
//	                   cannot enqueue them again
//	tmp/               files being written
//
// Every file is written whole to tmp/, fsync'd, renamed into place and its
// directory fsync'd, so after a crash each file is either the old or the new
// version; nothing depends on a clean shutdown. One file per delivery keeps
// updates independent and compaction trivial (delete old done files).
type store struct {
	dir  string
	lock *os.File // held while the store is open; nil where unsupported
}

// delivery is one notification to one target, as stored in the outbox.
type delivery struct {
	ID           string       `json:"id"`
	Target       string       `json:"target"`
	Notification Notification `json:"notification"`
	State        string       `json:"state"` // pending, delivered, failed, expired
	Attempts     int          `json:"attempts"`
	LastStatus   int          `json:"last_status,omitempty"`
	LastError    string       `json:"last_error,omitempty"`
	QueuedAt     time.Time    `json:"queued_at"`
	FirstAttempt time.Time    `json:"first_attempt,omitzero"`
	NextAttempt  time.Time    `json:"next_attempt,omitzero"`
	FinalAt      time.Time    `json:"final_at,omitzero"`
	// Recorded is set once the final state reached the Recorder.
	Recorded bool `json:"recorded,omitempty"`
}

// Delivery states.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateFailed    = "failed"
	StateExpired   = "expired"
)

// errLocked means another engine holds the directory.
var errLocked = errors.New("directory is used by another driftd alert engine")

func deliveryID(notificationID, target string) string {
	return hashID("delivery", notificationID, target)
}

func openStore(dir string) (*store, error) {
	if dir == "" {
		return nil, errors.New("opening alert store: no directory given (Options.Dir)")
	}
	for _, sub := range []string{"outbox", "done", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("creating alert store: %w", err)
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("opening alert store: %w", err)
	}
	// Leftovers of writes interrupted by a crash: never renamed, so never
	// part of the store.
	tmp, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("reading alert store: %w", err)
	}
	for _, e := range tmp {
		_ = os.Remove(filepath.Join(dir, "tmp", e.Name()))
	}
	return &store{dir: dir, lock: lock}, nil
}

// close releases the directory lock.
func (s *store) close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// writeFiles writes each file atomically, then syncs the directories once.
func (s *store) writeFiles(files map[string][]byte) error {
	dirs := map[string]bool{}
	for path, data := range files {
		if err := s.writeFile(path, data); err != nil {
			return err
		}
		dirs[filepath.Dir(path)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *store) writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

func (s *store) statePath() string { return filepath.Join(s.dir, "state.json") }
func (s *store) outboxPath(id string) string {
	return filepath.Join(s.dir, "outbox", id+".json")
}
func (s *store) donePath(id string) string { return filepath.Join(s.dir, "done", id+".json") }

// stateFile is the JSON shape of state.json.
type stateFile struct {
	Version int               `json:"version"`
	Entries map[string]*entry `json:"entries"`
}

func (s *store) loadState() (map[string]*entry, error) {
	data, err := os.ReadFile(s.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading alert state: %w", err)
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, fmt.Errorf("decoding alert state %s: %w", s.statePath(), err)
	}
	if sf.Entries == nil {
		sf.Entries = map[string]*entry{}
	}
	return sf.Entries, nil
}

func encodeState(entries map[string]*entry) ([]byte, error) {
	data, err := json.Marshal(stateFile{Version: 1, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("encoding alert state: %w", err)
	}
	return data, nil
}

// exists reports whether a delivery is already pending or final.
func (s *store) exists(id string) bool {
	for _, p := range []string{s.outboxPath(id), s.donePath(id)} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

func (s *store) update(d *delivery) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encoding delivery: %w", err)
	}
	return s.writeFiles(map[string][]byte{s.outboxPath(d.ID): data})
}

// finish moves a delivery from outbox/ to done/ with its final state. The
// done file is durable before the outbox file goes, so a crash in between
// leaves both, and load keeps the final one.
func (s *store) finish(d *delivery) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encoding delivery: %w", err)
	}
	if err := s.writeFiles(map[string][]byte{s.donePath(d.ID): data}); err != nil {
		return err
	}
	if err := os.Remove(s.outboxPath(d.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing delivered %s: %w", d.ID, err)
	}
	return syncDir(filepath.Join(s.dir, "outbox"))
}

func (s *store) markRecorded(d *delivery) error {
	d.Recorded = true
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encoding delivery: %w", err)
	}
	return s.writeFiles(map[string][]byte{s.donePath(d.ID): data})
}

// list reads every delivery of a sub-directory. A file that cannot be
// decoded is reported through bad and left in place for an operator.
func (s *store) list(sub string, bad func(path string, err error)) ([]*delivery, error) {
	dir := filepath.Join(s.dir, sub)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var out []*delivery
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		var d delivery
		if err := json.Unmarshal(data, &d); err != nil {
			bad(path, err)
			continue
		}
		out = append(out, &d)
	}
	return out, nil
}

// pruneDone deletes final deliveries older than cutoff that were recorded.
func (s *store) pruneDone(done []*delivery, cutoff time.Time) (int, error) {
	n := 0
	for _, d := range done {
		if d.Recorded && d.FinalAt.Before(cutoff) {
			if err := os.Remove(s.donePath(d.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, fmt.Errorf("pruning %s: %w", d.ID, err)
			}
			n++
		}
	}
	return n, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
