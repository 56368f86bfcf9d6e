package sinks

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/driftd/driftd/processor"
)

// tcpProxy forwards a local port to the real server and can drop off the
// network and come back on the same port, which is how the outage test makes
// ClickHouse unreachable without touching the shared server.
type tcpProxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(tb testing.TB, target string) *tcpProxy {
	tb.Helper()
	p := &tcpProxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	tb.Cleanup(func() {
		p.down()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.pipe(c) })
		}
	})
}

func (p *tcpProxy) pipe(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // went down while dialing
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	wg.Go(func() { cp(server, client) })
	wg.Go(func() { cp(client, server) })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// down closes the listener and cuts every open connection: new dials are
// refused, pooled connections fail on their next use.
func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

func (p *tcpProxy) up(tb testing.TB) {
	tb.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port can take a moment to be free again
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("reopening proxy on %s: %v", p.addr, err)
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestOutageIntegration cuts ClickHouse off mid-stream for
// DRIFTD_OUTAGE_SECONDS (default 5; the acceptance run uses 60). The writer
// must block (no write returns while the server is unreachable), keep its
// memory flat, and after recovery every window must be in ClickHouse exactly
// once.
func TestOutageIntegration(t *testing.T) {
	outage := 5 * time.Second
	if s := os.Getenv("DRIFTD_OUTAGE_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("DRIFTD_OUTAGE_SECONDS=%q: want a positive integer", s)
		}
		outage = time.Duration(n) * time.Second
	}
	cfg := testConfig(t)
	conn := migrated(t, cfg)
	proxy := startProxy(t, cfg.Addr[0])
	sinkCfg := cfg
	sinkCfg.Addr = []string{proxy.addr}
	sinkCfg.DialTimeout = time.Second
	sinkCfg.InsertTimeout = 3 * time.Second
	sinkCfg.RetryInitial = 50 * time.Millisecond
	sinkCfg.RetryMax = 500 * time.Millisecond
	c, _ := openSink(t, sinkCfg)

	// One stream of windows, written one at a time like the processor does
	// when windows close.
	const total = 60
	hour := time.Now().UTC().Truncate(time.Hour)
	windows := make([]processor.WindowResult, total)
	for i := range windows {
		windows[i] = fixtureWindow(hour, "fraud", "v3", i+1, 1)
	}
	var acked atomic.Int64
	writeErr := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), outage+2*time.Minute)
	defer cancel()
	go func() {
		for i := range windows {
			if err := c.WriteWindows(ctx, windows[i:i+1]); err != nil {
				writeErr <- err
				return
			}
			acked.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
		writeErr <- nil
	}()

	for acked.Load() < total/4 {
		time.Sleep(10 * time.Millisecond)
	}
	proxy.down()
	downAt := time.Now()
	time.Sleep(300 * time.Millisecond) // let the in-flight write hit the wall
	ackedAtDown := acked.Load()
	heapBefore := heapInUse()
	time.Sleep(outage - time.Since(downAt))
	heapAfter := heapInUse()
	ackedAtUp := acked.Load()
	blocked := testutil.ToFloat64(c.m.backlog)
	proxy.up(t)
	t.Logf("outage %s: %d windows acknowledged before, %d during; heap %d KiB -> %d KiB",
		outage, ackedAtDown, ackedAtUp-ackedAtDown, heapBefore>>10, heapAfter>>10)

	if ackedAtUp != ackedAtDown {
		t.Errorf("%d writes returned while ClickHouse was unreachable", ackedAtUp-ackedAtDown)
	}
	if blocked != 1 {
		t.Errorf("blocked_writes gauge = %v during the outage, want 1", blocked)
	}
	// Bounded: the writer holds one window while it waits. Allow GC noise
	// but not a backlog: the heap must not grow by more than what the test
	// itself allocates between the two readings.
	if heapAfter > heapBefore+2<<20 {
		t.Errorf("heap grew from %d to %d bytes while waiting", heapBefore, heapAfter)
	}
	select {
	case err := <-writeErr:
		if err != nil {
			t.Fatalf("writer failed: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("writer did not finish after ClickHouse came back")
	}
	// The outage hits whichever table's INSERT is in flight.
	retries := 0.0
	for _, tbl := range windowTables {
		retries += testutil.ToFloat64(c.m.retries.WithLabelValues(tbl))
	}
	if retries == 0 {
		t.Error("no retries counted")
	}
	if b := testutil.ToFloat64(c.m.backlog); b != 0 {
		t.Errorf("blocked_writes gauge = %v after recovery, want 0", b)
	}

	wantRows := 0
	for i := range windows {
		wantRows += len(windows[i].Metrics())
	}
	db := cfg.Database
	if got := queryUint(t, conn, "SELECT uniqExact(window_start) FROM "+db+".window_metrics"); got != total {
		t.Errorf("%d distinct windows in ClickHouse, want %d", got, total)
	}
	final := queryUint(t, conn, "SELECT count() FROM "+db+".window_metrics FINAL")
	raw := queryUint(t, conn, "SELECT count() FROM "+db+".window_metrics")
	if final != uint64(wantRows) {
		t.Errorf("window_metrics FINAL has %d rows, want %d", final, wantRows)
	}
	// A write cut after the server stored it but before it answered is sent
	// again; the duplicate is physical only and FINAL removes it.
	t.Logf("window_metrics: %d rows under FINAL, %d physical (%d resent)", final, raw, raw-final)
	for _, tbl := range []string{"window_performance", "window_latency", "data_quality", "feature_histograms"} {
		q := "SELECT count() FROM (SELECT DISTINCT window_start FROM " + db + "." + tbl + " FINAL)"
		if got := queryUint(t, conn, q); got != total {
			t.Errorf("%s: %d windows, want %d", tbl, got, total)
		}
	}
}

// TestCancelWhileBlockedIntegration: a blocked write gives up when its
// context ends (shutdown), with the context's error.
func TestCancelWhileBlockedIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	proxy := startProxy(t, cfg.Addr[0])
	sinkCfg := cfg
	sinkCfg.Addr = []string{proxy.addr}
	sinkCfg.DialTimeout = 500 * time.Millisecond
	sinkCfg.RetryInitial = 20 * time.Millisecond
	sinkCfg.RetryMax = 100 * time.Millisecond
	c, _ := openSink(t, sinkCfg)
	proxy.down()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err := c.WriteWindows(ctx, newFixture(time.Now()).windows[:1])
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	proxy.up(t)
	// MaxRetries bounds the wait when configured.
	sinkCfg.MaxRetries = 2
	c2, _ := openSink(t, sinkCfg)
	proxy.down()
	err = c2.WriteWindows(context.Background(), newFixture(time.Now()).windows[:1])
	if err == nil || errors.Is(err, ErrNotRetryable) {
		t.Fatalf("got %v, want a give-up error", err)
	}
	t.Logf("gave up with: %v", err)
}

// TestCloseUnblocksIntegration: Close ends a write blocked by an outage.
func TestCloseUnblocksIntegration(t *testing.T) {
	cfg := testConfig(t)
	migrated(t, cfg)
	proxy := startProxy(t, cfg.Addr[0])
	for _, flush := range []time.Duration{0, 50 * time.Millisecond} {
		sinkCfg := cfg
		sinkCfg.Addr = []string{proxy.addr}
		sinkCfg.DialTimeout = 500 * time.Millisecond
		sinkCfg.RetryInitial = 20 * time.Millisecond
		sinkCfg.RetryMax = 100 * time.Millisecond
		sinkCfg.FlushInterval = flush
		c, _ := openSink(t, sinkCfg)
		proxy.down()
		done := make(chan error, 1)
		go func() { done <- c.WriteWindows(context.Background(), newFixture(time.Now()).windows[:1]) }()
		time.Sleep(300 * time.Millisecond)
		if err := c.Close(); err != nil {
			t.Logf("close: %v", err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) && !errors.Is(err, context.Canceled) {
				t.Errorf("flush_interval %s: got %v, want ErrClosed", flush, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("flush_interval %s: write still blocked after Close", flush)
		}
		proxy.up(t)
	}
}
