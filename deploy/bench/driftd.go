package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/driftd/driftd/deploy/localrun"
)

// e2eRun is one `driftd run` over the loaded topics.
type e2eRun struct {
	o        options
	dir      string
	topics   [4]string
	group    string
	database string
	info     *streamInfo
	total    int64

	profiling bool
}

// e2eResult holds what the run observed, before percentiles.
type e2eResult struct {
	startup, elapsed time.Duration
	rejected         float64
	toClickHouse     []float64 // ms per window
	toWebhook        []float64 // ms per notified window (first notification)
	createdToWebhook []float64
	notifications    int
	verified         int
	peakRSS          int64
	// CPU seconds from the first consumed message to the last: driftd's,
	// and the broker's over the same span (0 without its pid).
	cpu, brokerCPU, clickhouseCPU float64
}

func (e *e2eRun) run(ctx context.Context) (*e2eResult, error) {
	key := localrun.RandomHex(32)
	recv, err := localrun.StartReceiver([]byte(key))
	if err != nil {
		return nil, err
	}
	defer recv.Close()
	admin, err := localrun.FreeAddr()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(e.dir, "driftd.yaml")
	// The rule on ks.p_value fires by chance in some windows of undrifted
	// data (about 5 % per numeric feature), which is what makes
	// notifications to time without injecting drift.
	if err := localrun.WriteConfig(cfgPath, localrun.Config{
		Kafka: e.o.Kafka, Topics: e.topics, Group: e.group, Dir: e.dir, Admin: admin,
		ClickHouse: e.o.ClickHouse, Database: e.database, SigningKey: key,
		Window: e.o.window, Lateness: e.o.lateness, IdleTimeout: 5 * time.Second, LabelHorizon: 10 * time.Minute,
		Rules:   []string{"- {name: ks_by_chance, metric: ks.p_value, threshold: 0.05}"},
		Targets: []string{fmt.Sprintf(`- {name: bench, kind: webhook, url: "%s/hook"}`, recv.URL())},
	}); err != nil {
		return nil, err
	}
	ch, err := clickhouse.Open(&clickhouse.Options{Addr: []string{e.o.ClickHouse},
		Auth: clickhouse.Auth{Database: e.database, Username: "default"}})
	if err != nil {
		return nil, fmt.Errorf("opening ClickHouse: %w", err)
	}
	defer ch.Close()

	started := time.Now()
	driftd, err := localrun.StartDriftd(e.o.Driftd, cfgPath, filepath.Join(e.dir, "driftd.log"))
	if err != nil {
		return nil, err
	}
	defer driftd.Stop()

	// ClickHouse is polled on its own goroutine so a slow query never
	// delays the /metrics scrapes that date the window closes.
	visible := map[time.Time]time.Time{}
	var visMu sync.Mutex
	pollCtx, stopPoll := context.WithCancel(ctx)
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		pollClickHouse(pollCtx, ch, e.database, e.o.pollEvery, &visMu, visible)
	}()
	defer func() { stopPoll(); pollWG.Wait() }()

	res := &e2eResult{}
	scrapes, err := e.followMetrics(ctx, "http://"+admin+"/metrics", driftd)
	if err != nil {
		return nil, err
	}
	first, _ := crossing(scrapes, e.topics[0], 1)
	if f2, ok := crossing(scrapes, e.topics[1], 1); ok && f2.Before(first) {
		first = f2
	}
	last := scrapes[len(scrapes)-1]
	res.startup, res.elapsed = first.Sub(started), last.at.Sub(first)
	for _, s := range scrapes {
		if s.total() > 0 {
			// The scrape before the first message would be closer, but
			// driftd's startup (baseline load, group join) burns CPU too.
			res.cpu, res.brokerCPU = last.cpu-s.cpu, last.brokerCPU-s.brokerCPU
			res.clickhouseCPU = last.clickhouseCPU - s.clickhouseCPU
			break
		}
	}
	res.rejected = last.rejected

	// Close times: when driftd consumed the prediction that closes each
	// window (its offset is its index: a fresh topic, one model).
	closeTimes := map[time.Time]time.Time{}
	for i, start := range e.info.closes {
		if t, ok := crossing(scrapes, e.topics[0], float64(e.info.closeAt[i]+1)); ok {
			closeTimes[start] = t
		}
	}
	e.waitVisible(ctx, &visMu, visible, closeTimes, driftd)
	// Alerts go through the outbox after the sink write; give the last
	// ones a moment.
	time.Sleep(3 * time.Second)
	res.peakRSS = peakRSS(driftd.Pid())
	driftd.Stop()

	visMu.Lock()
	res.toClickHouse = sinceClose(closeTimes, visible)
	visMu.Unlock()
	arrivals := recv.Received()
	res.toWebhook, res.createdToWebhook = webhookLatencies(arrivals, closeTimes)
	res.notifications = len(arrivals)
	for _, a := range arrivals {
		if a.Verified {
			res.verified++
		}
	}
	return res, nil
}

// sinceClose returns, in ms, how long after its close each window became
// visible; windows never seen are left out.
func sinceClose(closed, visible map[time.Time]time.Time) []float64 {
	var out []float64
	for start, c := range closed {
		if v, ok := visible[start]; ok {
			out = append(out, float64(v.Sub(c))/1e6)
		}
	}
	return out
}

// webhookLatencies returns, in ms, arrival − close for the first
// notification of each window with a known close, and arrival −
// created_at for every notification.
func webhookLatencies(arrivals []localrun.Receipt, closed map[time.Time]time.Time) (fromClose, fromCreated []float64) {
	seen := map[time.Time]bool{}
	for _, a := range arrivals {
		if !a.Notification.CreatedAt.IsZero() {
			fromCreated = append(fromCreated, float64(a.At.Sub(a.Notification.CreatedAt))/1e6)
		}
		start := a.Notification.Window.Start.UTC()
		if c, ok := closed[start]; ok && !seen[start] {
			seen[start] = true
			fromClose = append(fromClose, float64(a.At.Sub(c))/1e6)
		}
	}
	return fromClose, fromCreated
}

// followMetrics scrapes /metrics every 50 ms from readiness until driftd
// has consumed every message, and returns the scrapes.
func (e *e2eRun) followMetrics(ctx context.Context, url string, driftd *localrun.Process) ([]scrape, error) {
	log := driftd.Log
	// Uncompressed: promhttp gzips for a client that accepts it, and
	// gzip at 20 scrapes a second was about 1 % of driftd's CPU in the
	// measured span, a cost of the measurement and not of driftd.
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	deadline := time.Now().Add(e.o.timeout)
	var scrapes []scrape
	for {
		select {
		case <-driftd.Done():
			return nil, fmt.Errorf("driftd exited: %v: %s (log: %s)", driftd.Err(), lastLine(log), log)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			got := 0.0
			if len(scrapes) > 0 {
				got = scrapes[len(scrapes)-1].total()
			}
			return nil, fmt.Errorf("driftd consumed %.0f of %d messages in %s (log: %s)", got, e.total, e.o.timeout, log)
		}
		s, err := scrapeMetrics(c, url)
		if err != nil {
			continue // not listening yet
		}
		s.brokerCPU, s.clickhouseCPU = processCPU(e.o.brokerPID), processCPU(e.o.clickhousePID)
		scrapes = append(scrapes, s)
		if s.total() > 0 {
			e.startProfile(strings.TrimSuffix(url, "/metrics"))
		}
		if s.total() >= float64(e.total) {
			return scrapes, nil
		}
	}
}

// startProfile fetches a CPU profile of driftd while it works, when
// asked (-profile-seconds), to .local/bench/driftd.cpu.pprof.
func (e *e2eRun) startProfile(base string) {
	if e.o.profileSeconds <= 0 || e.profiling {
		return
	}
	e.profiling = true
	go func() {
		path := filepath.Join(e.dir, "driftd.cpu.pprof")
		c := &http.Client{Timeout: time.Duration(e.o.profileSeconds+10) * time.Second}
		resp, err := c.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, e.o.profileSeconds))
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: CPU profile: %v\n", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: CPU profile: %v\n", err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			fmt.Fprintf(os.Stderr, "bench: CPU profile: %v\n", err)
			return
		}
		fmt.Printf("CPU profile of driftd: %s (go tool pprof -top %s %s)\n", path, e.o.Driftd, path)
	}()
}

// lastLine is the last non-empty line of a file: why driftd stopped.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// waitVisible waits until every window closed by an event has rows in
// ClickHouse, or 60 s.
func (e *e2eRun) waitVisible(ctx context.Context, mu *sync.Mutex, visible, closed map[time.Time]time.Time, driftd *localrun.Process) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		mu.Lock()
		missing := 0
		for start := range closed {
			if _, ok := visible[start]; !ok {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-driftd.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pollClickHouse notes when each window's rows first become visible.
func pollClickHouse(ctx context.Context, ch clickhouse.Conn, db string, every time.Duration, mu *sync.Mutex, visible map[time.Time]time.Time) {
	q := "SELECT window_start, max(closed_at) FROM " + db + ".window_metrics GROUP BY window_start"
	for ctx.Err() == nil {
		rows, err := ch.Query(ctx, q)
		if err == nil {
			now := time.Now()
			mu.Lock()
			for rows.Next() {
				var start, closedAt time.Time
				if rows.Scan(&start, &closedAt) == nil {
					if _, ok := visible[start.UTC()]; !ok {
						visible[start.UTC()] = now
					}
				}
			}
			mu.Unlock()
			rows.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

// peakRSS reads VmHWM (the resident set's high-water mark) of pid.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	return parseVmHWM(string(b))
}

func parseVmHWM(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// processCPU is the user+system CPU seconds of the process whose pid is in
// pidFile, from /proc/PID/stat; 0 when it cannot be read.
func processCPU(pidFile string) float64 {
	if pidFile == "" {
		return 0
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/stat")
	if err != nil {
		return 0
	}
	return parseStatCPU(string(stat))
}

// parseStatCPU sums utime and stime (fields 14 and 15 of /proc/PID/stat,
// counted after the parenthesised command name, which may hold spaces).
// The kernel reports them in USER_HZ, which is 100 on Linux.
func parseStatCPU(stat string) float64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	k, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return (u + k) / 100
}
