package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Request headers of every delivery (docs/alerts.md, "Verifying requests").
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderTimestamp      = "X-Driftd-Timestamp"
	HeaderSignature      = "X-Driftd-Signature"
)

// Errors returned by VerifySignature; receivers may branch on them.
var (
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("timestamp outside the tolerance")
	ErrMalformed    = errors.New("malformed signature headers")
)

// Sign returns the X-Driftd-Signature value for body sent at timestamp ts
// (unix seconds): "v1=" + hex(HMAC-SHA256(key, ts + "." + body)).
func Sign(key []byte, ts int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(key, strconv.FormatInt(ts, 10), body))
}

func mac(key []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks a request the way a receiver should: the
// timestamp must be within tolerance of now (which bounds replays of a
// captured request to that window; deduplicate on Idempotency-Key inside
// it), and one of the comma-separated v1= signatures must equal the HMAC of
// timestamp + "." + body, compared in constant time.
func VerifySignature(key []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: parsing %s %q", ErrMalformed, HeaderTimestamp, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)).Abs(); d > tolerance {
		return fmt.Errorf("%w: %s is %s from now, tolerance %s", ErrStale, HeaderTimestamp, d.Round(time.Second), tolerance)
	}
	want := mac(key, strconv.FormatInt(ts, 10), body)
	found := false
	for _, part := range strings.Split(signature, ",") {
		hexSig, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		got, err := hex.DecodeString(hexSig)
		if err != nil {
			continue
		}
		found = true
		if hmac.Equal(got, want) {
			return nil
		}
	}
	if !found {
		return fmt.Errorf("%w: no v1= signature in %s", ErrMalformed, HeaderSignature)
	}
	return ErrBadSignature
}
