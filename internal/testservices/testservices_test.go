package testservices

import (
	"regexp"
	"testing"
)

// recordingTB captures how a test ended instead of ending the real one.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skip(args ...any) {
	r.skipped = true
	r.msg = args[0].(string)
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
}

func TestMissingSkipsUnlessServicesRequired(t *testing.T) {
	t.Setenv(EnvRequire, "")
	var rec recordingTB
	missing(&rec, "no kafka")
	if !rec.skipped || rec.failed {
		t.Fatalf("without %s: skipped=%v failed=%v, want a skip", EnvRequire, rec.skipped, rec.failed)
	}

	t.Setenv(EnvRequire, "1")
	rec = recordingTB{}
	missing(&rec, "no kafka")
	if rec.skipped || !rec.failed {
		t.Fatalf("with %s=1: skipped=%v failed=%v, want a failure", EnvRequire, rec.skipped, rec.failed)
	}
}

func TestEnvironmentAddressesWin(t *testing.T) {
	t.Setenv(EnvKafka, "127.0.0.1:1,127.0.0.1:2")
	t.Setenv(EnvClickHouse, "127.0.0.1:3")
	if got := Kafka(t); len(got) != 2 || got[1] != "127.0.0.1:2" {
		t.Errorf("Kafka() = %v, want both brokers from %s", got, EnvKafka)
	}
	if got := ClickHouse(t); got != "127.0.0.1:3" {
		t.Errorf("ClickHouse() = %q, want the address from %s", got, EnvClickHouse)
	}
}

func TestUniqueNameIsValidAndDistinct(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9_]+$`)
	a, b := UniqueName(t, "topic"), UniqueName(t, "topic")
	if a == b {
		t.Fatalf("two calls returned the same name %q", a)
	}
	for _, name := range []string{a, b} {
		if !valid.MatchString(name) {
			t.Errorf("name %q has characters Kafka topics or ClickHouse databases reject", name)
		}
	}
}
