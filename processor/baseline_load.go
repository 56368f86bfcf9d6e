package processor

import (
	"github.com/driftd/driftd/stats"
)

type loadedBaseline struct {
	*baseline
	model, version string
}

// loadBaseline reads and validates one profile file (stats.LoadProfile;
// its errors name the path).
func loadBaseline(path string) (loadedBaseline, error) {
	p, err := stats.LoadProfile(path)
	if err != nil {
		return loadedBaseline{}, err
	}
	return loadedBaseline{baseline: &baseline{id: p.ID, path: path, profile: p}, model: p.Model, version: p.Version}, nil
}
