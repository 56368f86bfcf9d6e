package processor

import (
	"encoding/json"
	"fmt"
	"os"
)

type loadedBaseline struct {
	*baseline
	model, version string
}

// loadBaseline reads one profile file. Placeholder until stats.LoadProfile
// is on main: it reads only the identifying header.
func loadBaseline(path string) (loadedBaseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return loadedBaseline{}, fmt.Errorf("reading baseline: %w", err)
	}
	var h profileHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return loadedBaseline{}, fmt.Errorf("%s: decoding baseline: %w", path, err)
	}
	if h.Model == "" || h.Version == "" {
		return loadedBaseline{}, fmt.Errorf("%s: baseline lacks model or version", path)
	}
	id := h.ID
	if id == "" {
		id = h.Model + "/" + h.Version
	}
	return loadedBaseline{baseline: &baseline{id: id, path: path}, model: h.Model, version: h.Version}, nil
}
