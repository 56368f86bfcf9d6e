package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/driftd/driftd/alerts"
)

// receiver stands in for on-call tooling and the ML platform: it verifies
// each request's signature as a real receiver must, and keeps what came.
type receiver struct {
	key []byte
	srv *http.Server
	url string

	mu       sync.Mutex
	received []receipt
	seenKeys map[string]bool
}

type receipt struct {
	Path         string
	Verified     bool
	VerifyError  string
	Duplicate    bool
	Notification alerts.Notification
	At           time.Time
}

func startReceiver(key []byte) (*receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting webhook receiver: %w", err)
	}
	r := &receiver{key: key, url: "http://" + l.Addr().String(), seenKeys: map[string]bool{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 4<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	rec := receipt{Path: req.URL.Path, At: time.Now()}
	verr := alerts.VerifySignature(r.key, req.Header.Get(alerts.HeaderTimestamp),
		req.Header.Get(alerts.HeaderSignature), body, time.Now(), 5*time.Minute)
	rec.Verified = verr == nil
	if verr != nil {
		rec.VerifyError = verr.Error()
	}
	if err := json.Unmarshal(body, &rec.Notification); err != nil {
		rec.VerifyError += " decoding: " + err.Error()
	}
	key := req.URL.Path + " " + req.Header.Get(alerts.HeaderIdempotencyKey)
	r.mu.Lock()
	rec.Duplicate = r.seenKeys[key]
	r.seenKeys[key] = true
	r.received = append(r.received, rec)
	r.mu.Unlock()
	if verr != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) snapshot() []receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receipt(nil), r.received...)
}

func (r *receiver) close() { _ = r.srv.Close() }
