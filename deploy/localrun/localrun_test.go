package localrun

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/driftd/driftd/alerts"
)

func TestReceiverVerifiesAndSpotsRepeats(t *testing.T) {
	key := []byte("k")
	r, err := StartReceiver(key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body := []byte(`{"id":"n1","kind":"firing","model":"fraud"}`)
	send := func(sig, idem string) int {
		req, _ := http.NewRequest(http.MethodPost, r.URL()+"/oncall", bytes.NewReader(body))
		ts := time.Now().Unix()
		req.Header.Set(alerts.HeaderTimestamp, strconv.FormatInt(ts, 10))
		if sig == "" {
			sig = alerts.Sign(key, ts, body)
		}
		req.Header.Set(alerts.HeaderSignature, sig)
		req.Header.Set(alerts.HeaderIdempotencyKey, idem)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send("", "a"); code != http.StatusOK {
		t.Errorf("signed request: status %d, want 200", code)
	}
	if code := send("", "a"); code != http.StatusOK {
		t.Errorf("repeated request: status %d, want 200", code)
	}
	if code := send("v1=00", "b"); code != http.StatusUnauthorized {
		t.Errorf("forged request: status %d, want 401", code)
	}
	got := r.Received()
	if len(got) != 3 {
		t.Fatalf("received %d requests, want 3", len(got))
	}
	if !got[0].Verified || got[0].Duplicate || got[0].Notification.Model != "fraud" {
		t.Errorf("first request: %+v", got[0])
	}
	if !got[1].Duplicate {
		t.Errorf("second request with the same idempotency key not marked duplicate")
	}
	if got[2].Verified || got[2].VerifyError == "" {
		t.Errorf("forged request marked verified: %+v", got[2])
	}
}
