package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2-very-secret"
	cfg := Config{Addr: []string{"h:9000"}, Password: Secret(pw)}
	var js strings.Builder
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cfg); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg.Password),
		fmt.Sprintf("%q", cfg.Password), js.String(),
	} {
		if strings.Contains(out, pw) {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, "<secret>") {
			t.Errorf("no %s placeholder in %s", "<secret>", out)
		}
	}
	var back Secret
	if err := back.UnmarshalText([]byte(pw)); err != nil || back.Reveal() != pw {
		t.Errorf("UnmarshalText: %q, %v", back.Reveal(), err)
	}
}

func TestValidateReportsEveryKey(t *testing.T) {
	cfg := Config{Addr: []string{"nohost"}, Database: "drop table;", BatchRows: -1, Retention: time.Hour,
		RetryMax: -time.Second, TLS: TLSConfig{CAFile: "ca.pem"}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"clickhouse.addr[0]", "clickhouse.database", "clickhouse.batch_rows",
		"clickhouse.retention", "clickhouse.retry_max", "clickhouse.tls.enabled"} {
		if !strings.Contains(err.Error(), key+":") {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	if err := (Config{Addr: []string{"127.0.0.1:9000"}}).Defaults().Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	if err := (Config{}).Defaults().Validate(); err == nil || !strings.Contains(err.Error(), "clickhouse.addr:") {
		t.Errorf("missing addr not reported: %v", err)
	}
}

func TestSupportsTTL(t *testing.T) {
	for v, want := range map[string]bool{
		"18.16.1": false, "19.5.3.8": false, "19.6.2.11": true, "19.13.1": true, "20.1.2.4": true,
		"24.8.4.13": true, "": false, "garbage": false, "x.y": false,
	} {
		if got := supportsTTL(v); got != want {
			t.Errorf("supportsTTL(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	initial, maxWait := 100*time.Millisecond, 2*time.Second
	for attempt, wantBase := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		base := wantBase * time.Millisecond
		lo := backoff(attempt, initial, maxWait, func() float64 { return 0 })
		hi := backoff(attempt, initial, maxWait, func() float64 { return 1 })
		if lo != base/2 || hi != base {
			t.Errorf("attempt %d: range [%s, %s], want [%s, %s]", attempt, lo, hi, base/2, base)
		}
	}
	if d := backoff(1000, initial, maxWait, func() float64 { return 1 }); d != maxWait {
		t.Errorf("attempt 1000: %s, want the cap %s", d, maxWait)
	}
}

func TestClassify(t *testing.T) {
	exc := func(code int32) error {
		return fmt.Errorf("sending batch: %w", &clickhouse.Exception{Code: code, Message: "x"})
	}
	for _, tc := range []struct {
		err       error
		reason    string
		retryable bool
	}{
		{exc(60), reasonSchema, false},
		{exc(16), reasonSchema, false},
		{exc(516), reasonAuth, false},
		{exc(252), reasonOverloaded, true},
		{exc(241), reasonOverloaded, true},
		{exc(209), reasonTimeout, true},
		{exc(62), reasonServer, false}, // SYNTAX_ERROR
		{errBadData{errors.New("converting")}, reasonBadData, false},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), reasonUnreachable, true},
		{fmt.Errorf("read: %w", io.EOF), reasonUnreachable, true},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, reasonTimeout, true},
		{fmt.Errorf("attempt: %w", context.DeadlineExceeded), reasonTimeout, true},
		{clickhouse.ErrAcquireConnTimeout, reasonUnreachable, true},
	} {
		reason, retryable := classify(tc.err)
		if reason != tc.reason || retryable != tc.retryable {
			t.Errorf("classify(%v) = %s, %v; want %s, %v", tc.err, reason, retryable, tc.reason, tc.retryable)
		}
	}
}

// TestDocsDescribeEveryColumn: every column of every table has a row in
// docs/clickhouse.md, in its table's section (the columns shared by the
// window tables in the common table).
func TestDocsDescribeEveryColumn(t *testing.T) {
	doc, err := os.ReadFile("../docs/clickhouse.md")
	if err != nil {
		t.Fatal(err)
	}
	common := section(string(doc), "Common columns")
	tableRE := regexp.MustCompile(`CREATE TABLE IF NOT EXISTS \{db\}\.(\w+) \(`)
	colRE := regexp.MustCompile(`(?m)^    (\w+) `)
	stmts := []string{migrationsTable}
	for _, m := range migrations {
		stmts = append(stmts, m.statements...)
	}
	for _, stmt := range stmts {
		name := tableRE.FindStringSubmatch(stmt)[1]
		sec := section(string(doc), "### `"+name+"`")
		if sec == "" {
			t.Errorf("docs/clickhouse.md has no section ### `%s`", name)
			continue
		}
		for _, c := range colRE.FindAllStringSubmatch(stmt, -1) {
			row := "| `" + c[1] + "` |"
			documented := strings.Contains(sec, row)
			if !documented && slices.Contains(windowTables, name) {
				documented = strings.Contains(common, row)
			}
			if !documented {
				t.Errorf("%s.%s is not documented", name, c[1])
			}
		}
	}
}

// section returns the text from the heading to the next heading of any level
// at or above ###.
func section(doc, heading string) string {
	i := strings.Index(doc, heading)
	if i < 0 {
		return ""
	}
	rest := doc[i+len(heading):]
	if j := strings.Index(rest, "\n#"); j >= 0 {
		return rest[:j]
	}
	return rest
}

func TestTLSConfig(t *testing.T) {
	if cfg, err := (TLSConfig{}).build(); cfg != nil || err != nil {
		t.Errorf("disabled TLS: %v, %v", cfg, err)
	}
	dir := t.TempDir()
	if _, err := (TLSConfig{Enabled: true, CAFile: dir + "/missing.pem"}).build(); err == nil || !strings.Contains(err.Error(), "clickhouse.tls.ca_file") {
		t.Errorf("missing CA file: %v", err)
	}
	bad := dir + "/bad.pem"
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (TLSConfig{Enabled: true, CAFile: bad}).build(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}
	cfg, err := (TLSConfig{Enabled: true, ServerName: "ch.internal"}).build()
	if err != nil || cfg.ServerName != "ch.internal" || cfg.MinVersion == 0 {
		t.Errorf("enabled TLS: %+v, %v", cfg, err)
	}
}
