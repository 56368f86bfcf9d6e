package sinks

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("clickhouse sink closed")

// groupCommit lets concurrent small WriteWindows calls share INSERTs: the
// first caller's rows wait up to FlushInterval (or until BatchRows) for
// others, then one writer inserts the group and every caller gets the
// group's result. Nobody returns before the rows are stored. While a group
// is being written (or retried during an outage) new callers block on the
// unbuffered channel: memory stays one group plus the callers' own inputs.
type groupCommit struct {
	c       *ClickHouse
	reqs    chan *gcRequest
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
}

type gcRequest struct {
	ctx  context.Context //nolint:containedctx // the writer watches each caller's context
	rows *windowRows
	n    int
	res  chan error
}

func newGroupCommit(c *ClickHouse) *groupCommit {
	g := &groupCommit{c: c, reqs: make(chan *gcRequest), stop: make(chan struct{}), done: make(chan struct{})}
	go g.loop()
	return g
}

func (g *groupCommit) close() {
	g.closing.Do(func() { close(g.stop) })
	<-g.done
}

func (g *groupCommit) write(ctx context.Context, rows *windowRows) error {
	r := &gcRequest{ctx: ctx, rows: rows, n: rows.count(), res: make(chan error, 1)}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return ErrClosed
	}
	select {
	case err := <-r.res:
		return err
	case <-ctx.Done():
		// The writer stops retrying once every caller of the group left.
		return ctx.Err()
	}
}

func (g *groupCommit) loop() {
	defer close(g.done)
	for {
		var first *gcRequest
		select {
		case first = <-g.reqs:
		case <-g.stop:
			return
		}
		group := g.collect(first)
		err := g.flush(group)
		for _, r := range group {
			r.res <- err
		}
	}
}

// collect gathers requests until the group holds BatchRows rows or
// FlushInterval has passed since the first arrived.
func (g *groupCommit) collect(first *gcRequest) []*gcRequest {
	group, n := []*gcRequest{first}, first.n
	timer := time.NewTimer(g.c.cfg.FlushInterval)
	defer timer.Stop()
	for n < g.c.cfg.BatchRows {
		select {
		case r := <-g.reqs:
			group, n = append(group, r), n+r.n
		case <-timer.C:
			return group
		case <-g.stop:
			return group
		}
	}
	return group
}

// flush writes the group under a context that ends when every caller's
// context has ended or the sink closes.
func (g *groupCommit) flush(group []*gcRequest) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	left := atomic.Int64{}
	left.Store(int64(len(group)))
	for _, r := range group {
		stop := context.AfterFunc(r.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	go func() {
		select {
		case <-g.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	merged := group[0].rows
	if len(group) > 1 {
		merged = &windowRows{}
		for _, r := range group {
			merged.merge(r.rows)
		}
	}
	return g.c.writeRows(ctx, merged)
}
