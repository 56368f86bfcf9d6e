package sinks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Failure reasons, used as the "reason" label of the errors metric.
const (
	reasonUnreachable = "unreachable"
	reasonTimeout     = "timeout"
	reasonOverloaded  = "overloaded"
	reasonSchema      = "schema"
	reasonAuth        = "auth"
	reasonBadData     = "bad_data"
	reasonServer      = "server"
	reasonCanceled    = "canceled"
)

// ErrNotRetryable marks a write that failed for a reason retrying cannot
// fix (missing table, wrong credentials, a value the column refuses). The
// wrapped error says which.
var ErrNotRetryable = errors.New("not retryable")

// errBadData wraps failures while appending rows to a batch: the driver
// refused a value, so resending the same rows would fail the same way.
type errBadData struct{ err error }

func (e errBadData) Error() string { return e.err.Error() }
func (e errBadData) Unwrap() error { return e.err }

// Server exception codes (ClickHouse src/Common/ErrorCodes.cpp) that a later
// attempt can succeed after.
var retryableCodes = map[int32]string{
	159: reasonTimeout,     // TIMEOUT_EXCEEDED
	209: reasonTimeout,     // SOCKET_TIMEOUT
	210: reasonUnreachable, // NETWORK_ERROR
	202: reasonOverloaded,  // TOO_MANY_SIMULTANEOUS_QUERIES
	241: reasonOverloaded,  // MEMORY_LIMIT_EXCEEDED
	252: reasonOverloaded,  // TOO_MANY_PARTS
	242: reasonOverloaded,  // TABLE_IS_READ_ONLY (replica lost keeper)
	279: reasonUnreachable, // ALL_CONNECTION_TRIES_FAILED
	319: reasonUnreachable, // UNKNOWN_STATUS_OF_INSERT
	999: reasonOverloaded,  // KEEPER_EXCEPTION
	3:   reasonUnreachable, // UNEXPECTED_END_OF_FILE
}

var authCodes = map[int32]bool{
	164: true, // READONLY
	192: true, // UNKNOWN_USER
	193: true, // WRONG_PASSWORD
	194: true, // REQUIRED_PASSWORD
	195: true, // IP_ADDRESS_NOT_ALLOWED
	497: true, // ACCESS_DENIED
	516: true, // AUTHENTICATION_FAILED
}

var schemaCodes = map[int32]bool{
	8:  true, // THERE_IS_NO_COLUMN
	10: true, // NOT_FOUND_COLUMN_IN_BLOCK
	16: true, // NO_SUCH_COLUMN_IN_TABLE
	47: true, // UNKNOWN_IDENTIFIER
	53: true, // TYPE_MISMATCH
	60: true, // UNKNOWN_TABLE
	81: true, // UNKNOWN_DATABASE
}

// classify names why an attempt failed and whether trying again can help.
// Anything the driver reports that is not a server exception or a refused
// value is a transport problem and retried: back-pressure is safer than
// dropping a window.
func classify(err error) (reason string, retryable bool) {
	var bad errBadData
	if errors.As(err, &bad) {
		return reasonBadData, false
	}
	var exc *clickhouse.Exception
	if errors.As(err, &exc) {
		if r, ok := retryableCodes[exc.Code]; ok {
			return r, true
		}
		switch {
		case authCodes[exc.Code]:
			return reasonAuth, false
		case schemaCodes[exc.Code]:
			return reasonSchema, false
		}
		return reasonServer, false
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return reasonTimeout, true
	}
	// Refused or reset connections, EOFs, pool timeouts and whatever else
	// the transport reports.
	return reasonUnreachable, true
}

// backoff returns the wait before retry number attempt (0-based): an
// exponential step capped at max, with "equal jitter" (half fixed, half
// random) so many writers do not retry in lockstep yet never spin.
func backoff(attempt int, initial, maxWait time.Duration, rnd func() float64) time.Duration {
	d := initial
	for i := 0; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	half := d / 2
	return half + time.Duration(rnd()*float64(half))
}

// retry runs op until it succeeds, fails for good, the retry budget is
// spent, or ctx ends. Each attempt gets its own InsertTimeout.
func (c *ClickHouse) retry(ctx context.Context, table string, rows int, op func(ctx context.Context) error) error {
	start := time.Now()
	where := fmt.Sprintf("writing %d rows to %s.%s", rows, c.cfg.Database, table)
	var lastReason string
	blocked := false
	defer func() {
		if blocked {
			c.m.backlog.Dec()
		}
	}()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			c.m.errors.WithLabelValues(table, reasonCanceled).Inc()
			return fmt.Errorf("%s: %w", where, err)
		}
		select {
		case <-c.closed:
			return fmt.Errorf("%s: %w", where, ErrClosed)
		default:
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.InsertTimeout)
		t0 := time.Now()
		err := op(actx)
		cancel()
		if err == nil {
			c.m.written(table, rows, time.Since(t0))
			if lastReason != "" {
				c.log.Info().Str("table", table).Int("attempts", attempt+1).Dur("waited", time.Since(start)).Msg("clickhouse write recovered")
			}
			return nil
		}
		if ctx.Err() != nil {
			c.m.errors.WithLabelValues(table, reasonCanceled).Inc()
			return fmt.Errorf("%s: %w (last error: %w)", where, ctx.Err(), err)
		}
		reason, retryable := classify(err)
		c.m.errors.WithLabelValues(table, reason).Inc()
		if !retryable {
			return fmt.Errorf("%s: %s error, %w: %w", where, reason, ErrNotRetryable, err)
		}
		if c.budgetSpent(attempt, start) {
			return fmt.Errorf("%s: giving up after %d attempts in %s: %w", where, attempt+1, time.Since(start).Round(time.Millisecond), err)
		}
		if reason != lastReason {
			c.log.Warn().Err(err).Str("table", table).Str("reason", reason).Msg("clickhouse write failed, retrying (back-pressure until it succeeds)")
			lastReason = reason
		}
		if !blocked {
			blocked = true
			c.m.backlog.Inc()
		}
		c.m.retries.WithLabelValues(table).Inc()
		c.sleep(ctx, backoff(attempt, c.cfg.RetryInitial, c.cfg.RetryMax, rand.Float64))
	}
}

// budgetSpent reports whether MaxRetries or MaxRetryElapsed (when set) are
// used up after attempt (0-based) failed.
func (c *ClickHouse) budgetSpent(attempt int, start time.Time) bool {
	return (c.cfg.MaxRetries > 0 && attempt >= c.cfg.MaxRetries) ||
		(c.cfg.MaxRetryElapsed > 0 && time.Since(start) >= c.cfg.MaxRetryElapsed)
}

// sleep waits d, or less when ctx ends or the sink closes.
func (c *ClickHouse) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-c.closed:
	case <-t.C:
	}
}
