package simulate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"
)

// Stats summarises a run: the events handed to the sink. When the run
// returns an error, some of them may not have been delivered.
type Stats struct {
	Predictions int64 `json:"predictions"`
	Outcomes    int64 `json:"outcomes"`
	Bytes       int64 `json:"bytes"`
	// FirstEvent and LastEvent are the event times of the first and last
	// records written (zero when none were).
	FirstEvent time.Time     `json:"first_event_time,omitzero"`
	LastEvent  time.Time     `json:"last_event_time,omitzero"`
	Elapsed    time.Duration `json:"-"`
}

// EventsPerSecond is the wall-clock rate of the run.
func (s Stats) EventsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Predictions+s.Outcomes) / s.Elapsed.Seconds()
}

// sink receives the generated events. send must copy ev.Value if it keeps
// it (the buffer is reused); flush is called every chunk of events and at
// the end, and is where pacing happens around.
type sink interface {
	send(ev Event) error
	flush(ctx context.Context) error
}

// pump moves every event of gen into s, at most rate events per wall
// second (0: as fast as possible), and stops early when ctx is cancelled.
func pump(ctx context.Context, gen *Generator, rate float64, chunk int, s sink) (Stats, error) {
	if rate < 0 {
		return Stats{}, fmt.Errorf("rate must not be negative, got %v", rate)
	}
	if rate > 0 {
		// Deliver at least ~20 times per second so a slow trickle looks
		// like live traffic rather than bursts.
		chunk = max(1, min(chunk, int(rate/20)))
	}
	var st Stats
	start := time.Now()
	buf := make([]byte, 0, 4096)
	pending := 0
	var err error
	for err == nil {
		ev, ok := gen.Next(buf)
		if !ok {
			break
		}
		buf = ev.Value[:0]
		if err = s.send(ev); err != nil {
			break
		}
		st.count(ev)
		if pending++; pending < chunk {
			continue
		}
		pending = 0
		if err = s.flush(ctx); err == nil {
			err = pace(ctx, start, st.Predictions+st.Outcomes, rate)
		}
	}
	// Hand over what was generated even when cancelled, so the counts in
	// Stats are what the sink received.
	if ferr := s.flush(context.WithoutCancel(ctx)); err == nil {
		err = ferr
	}
	return st.done(start), err
}

func (s *Stats) count(ev Event) {
	if ev.Kind == Prediction {
		s.Predictions++
	} else {
		s.Outcomes++
	}
	s.Bytes += int64(len(ev.Value))
	t := ev.Time()
	if s.FirstEvent.IsZero() {
		s.FirstEvent = t
	}
	s.LastEvent = t
}

func (s *Stats) done(start time.Time) Stats {
	s.Elapsed = time.Since(start)
	return *s
}

// pace sleeps until sent events are due at rate events per second.
func pace(ctx context.Context, start time.Time, sent int64, rate float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rate <= 0 {
		return nil
	}
	wait := time.Until(start.Add(time.Duration(float64(sent) / rate * float64(time.Second))))
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// WriteFiles writes predictions and outcomes as JSON Lines. When outcomes
// is nil, both kinds go to predictions, interleaved in stream order.
func WriteFiles(ctx context.Context, gen *Generator, predictions, outcomes io.Writer, rate float64) (Stats, error) {
	s := &fileSink{pred: bufio.NewWriterSize(predictions, 1<<20), rate: rate > 0}
	s.out = s.pred
	if outcomes != nil {
		s.out = bufio.NewWriterSize(outcomes, 1<<20)
	}
	st, err := pump(ctx, gen, rate, 4096, s)
	if ferr := s.flushAll(); err == nil {
		err = ferr
	}
	return st, err
}

type fileSink struct {
	pred, out *bufio.Writer
	rate      bool
}

func (s *fileSink) send(ev Event) error {
	w := s.pred
	if ev.Kind == Outcome {
		w = s.out
	}
	w.Write(ev.Value) // bufio keeps the first error; flushAll reports it
	return w.WriteByte('\n')
}

func (s *fileSink) flush(context.Context) error {
	// Only paced runs flush per chunk, so a reader tailing the file sees
	// traffic as it is due; unpaced runs let bufio fill whole buffers.
	if s.rate {
		return s.flushAll()
	}
	return nil
}

func (s *fileSink) flushAll() error {
	if err := s.pred.Flush(); err != nil {
		return fmt.Errorf("writing events: %w", err)
	}
	if err := s.out.Flush(); err != nil {
		return fmt.Errorf("writing outcomes: %w", err)
	}
	return nil
}
