package processor

import (
	"context"

	"github.com/driftd/driftd/stats"
)

// loadBaselines (re)loads baselines.dir; bad files are logged and skipped,
// the good ones replace the previous set.
func (r *runner) loadBaselines() {
	set := baselineSet{}
	if r.cfg.Baselines.Dir != "" {
		var problems []string
		set, problems = loadBaselineSet(r.cfg.Baselines.Dir)
		for _, p := range problems {
			r.log.Warn().Str("problem", p).Msg("skipping baseline")
		}
		// An unreadable directory on reload (a deploy swapping it, a
		// permission slip) must not turn every model baseline-free.
		if old := r.baselines.Load(); set == nil && old != nil {
			r.log.Error().Str("dir", r.cfg.Baselines.Dir).Int("kept", len(*old)).
				Msg("baselines dir unreadable; keeping the baselines already loaded")
			return
		}
	}
	r.baselines.Store(&set)
	r.m.baselines.Set(float64(len(set)))
	r.log.Info().Int("baselines", len(set)).Str("dir", r.cfg.Baselines.Dir).Msg("baselines loaded")
}

func (r *runner) reloadLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.deps.Reload:
			r.loadBaselines()
		}
	}
}

// stateFactory builds window states against the current baselines; open
// windows keep the profile they started with.
func (r *runner) stateFactory() stateFactory {
	if r.deps.newState != nil {
		return r.deps.newState
	}
	opts := stats.AccumulatorOptions{MaxCategories: r.cfg.Limits.MaxCategories}
	return func(model, version string) (windowState, string) {
		b := (*r.baselines.Load())[modelVersion{model, version}]
		var p *stats.Profile
		id := ""
		if b == nil {
			if _, seen := r.warned.LoadOrStore(modelVersion{model, version}, struct{}{}); !seen {
				r.log.Warn().Str("model", model).Str("version", version).
					Msg("no baseline for this model version; reporting baseline-free metrics")
			}
		} else {
			p, id = b.profile, b.id
		}
		return newStatsState(p, opts), id
	}
}
