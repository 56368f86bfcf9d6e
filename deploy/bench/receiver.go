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

// receiver takes driftd's webhooks, verifies each signature as a real
// receiver must, and notes when each notification arrived.
type receiver struct {
	key []byte
	srv *http.Server
	url string

	mu       sync.Mutex
	received []arrival
}

type arrival struct {
	at       time.Time
	verified bool
	n        alerts.Notification
}

func startReceiver(key []byte) (*receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting webhook receiver: %w", err)
	}
	r := &receiver{key: key, url: "http://" + l.Addr().String()}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(req.Body, 4<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	a := arrival{at: at}
	verr := alerts.VerifySignature(r.key, req.Header.Get(alerts.HeaderTimestamp),
		req.Header.Get(alerts.HeaderSignature), body, time.Now(), 5*time.Minute)
	a.verified = verr == nil
	if err := json.Unmarshal(body, &a.n); err != nil {
		a.verified = false
	}
	r.mu.Lock()
	r.received = append(r.received, a)
	r.mu.Unlock()
	if verr != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) snapshot() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]arrival(nil), r.received...)
}

func (r *receiver) close() { _ = r.srv.Close() }
