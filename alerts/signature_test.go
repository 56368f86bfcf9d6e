package alerts

import (
	"errors"
	"testing"
	"time"
)

func TestVerifySignature(t *testing.T) {
	key := []byte("k")
	body := []byte(`{"id":"x"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := Sign(key, now.Unix(), body)
	// HMAC-SHA256("k", "1800000000." + body), computed independently with
	// Python's hmac module.
	if want := "v1=" + expectedMAC; sig != want {
		t.Fatalf("Sign = %s, want %s", sig, want)
	}
	ts := "1800000000"
	tests := []struct {
		name      string
		key       []byte
		ts, sig   string
		body      []byte
		now       time.Time
		wantError error
	}{
		{"valid", key, ts, sig, body, now, nil},
		{"valid within tolerance", key, ts, sig, body, now.Add(4 * time.Minute), nil},
		{"rotated keys list", key, ts, "v1=00," + sig, body, now, nil},
		{"tampered body", key, ts, sig, []byte(`{"id":"y"}`), now, ErrBadSignature},
		{"wrong key", []byte("other"), ts, sig, body, now, ErrBadSignature},
		{"replayed later", key, ts, sig, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", key, ts, sig, body, now.Add(-6 * time.Minute), ErrStale},
		{"timestamp swapped", key, "1800000001", sig, body, now, ErrBadSignature},
		{"no timestamp", key, "", sig, body, now, ErrMalformed},
		{"no v1", key, ts, "v0=abc", body, now, ErrMalformed},
		{"not hex", key, ts, "v1=zz", body, now, ErrMalformed},
	}
	for _, tt := range tests {
		err := VerifySignature(tt.key, tt.ts, tt.sig, tt.body, tt.now, 5*time.Minute)
		if !errors.Is(err, tt.wantError) || (tt.wantError == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.wantError)
		}
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("1800000000", "v1=abcd", []byte("{}"))
	f.Add("-1", "v1=,v1=", []byte{})
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		now := time.Unix(1_800_000_000, 0)
		_ = VerifySignature([]byte("k"), ts, sig, body, now, time.Minute)
		good := Sign([]byte("k"), now.Unix(), body)
		if err := VerifySignature([]byte("k"), "1800000000", good, body, now, time.Minute); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}

const expectedMAC = "621cf66c742c40abb4a9df73b10823d7c17337bcc75516df5944e906ba599690"
