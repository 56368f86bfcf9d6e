package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metric names from processor/metrics.go.
const (
	metricConsumed = "driftd_events_consumed_total" // label topic; incremented as each message is handled
	metricRejected = "driftd_events_rejected_total"
	metricCPU      = "process_cpu_seconds_total" // prometheus' process collector
)

// scrape is one read of driftd's /metrics: consumed messages by topic.
type scrape struct {
	at       time.Time
	consumed map[string]float64
	rejected float64
	cpu      float64 // driftd's user+system CPU seconds so far
	// brokerCPU is the Kafka broker's CPU seconds read just after the
	// scrape; 0 when the bench has no broker pid.
	brokerCPU float64
	// clickhouseCPU is the same for the ClickHouse server.
	clickhouseCPU float64
}

func (s scrape) total() float64 {
	var t float64
	for _, v := range s.consumed {
		t += v
	}
	return t
}

// parseMetrics reads the Prometheus text format for the two counters the
// bench follows; other families are skipped.
func parseMetrics(r io.Reader) (consumed map[string]float64, rejected, cpu float64, err error) {
	consumed = map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, metricCPU+" "); ok {
			if cpu, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
				return nil, 0, 0, fmt.Errorf("metrics line %q: %w", line, err)
			}
			continue
		}
		name, rest, ok := strings.Cut(line, "{")
		if !ok || (name != metricConsumed && name != metricRejected) {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			return nil, 0, 0, fmt.Errorf("metrics line %q: no value", line)
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		if name == metricRejected {
			rejected += v
			continue
		}
		consumed[labelValue(labels, "topic")] += v
	}
	if err := sc.Err(); err != nil {
		return nil, 0, 0, fmt.Errorf("reading metrics: %w", err)
	}
	return consumed, rejected, cpu, nil
}

// labelValue returns the value of label name in `a="x",b="y"`.
func labelValue(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

func scrapeMetrics(c *http.Client, url string) (scrape, error) {
	resp, err := c.Get(url)
	if err != nil {
		return scrape{}, err
	}
	defer resp.Body.Close()
	at := time.Now()
	if resp.StatusCode != http.StatusOK {
		return scrape{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	consumed, rejected, cpu, err := parseMetrics(resp.Body)
	return scrape{at: at, consumed: consumed, rejected: rejected, cpu: cpu}, err
}

// crossing returns when the counter of topic first reached n, interpolated
// linearly between the two scrapes around it; false if it never did.
func crossing(scrapes []scrape, topic string, n float64) (time.Time, bool) {
	for i, s := range scrapes {
		c := s.consumed[topic]
		if c < n {
			continue
		}
		if i == 0 {
			return s.at, true
		}
		p := scrapes[i-1]
		pc := p.consumed[topic]
		if c == pc {
			return s.at, true
		}
		frac := (n - pc) / (c - pc)
		return p.at.Add(time.Duration(frac * float64(s.at.Sub(p.at)))), true
	}
	return time.Time{}, false
}
