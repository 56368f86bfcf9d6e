package processor

import (
	"fmt"
	"github.com/driftd/driftd/stats"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// baselineFiles lists the profile files of dir (*.json), sorted.
func baselineFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading baselines dir: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(files)
	return files, nil
}

// CheckBaselines loads every profile in dir and returns one problem per bad
// file or duplicate model/version, for `driftd check`. An empty dir setting
// means no baselines and is not a problem.
func CheckBaselines(dir string) []string {
	if dir == "" {
		return nil
	}
	_, problems := loadBaselineSet(dir)
	return problems
}

type modelVersion struct{ model, version string }

// baselineSet maps a model version to its profile.
type baselineSet map[modelVersion]*baseline

// baseline is one loaded profile.
type baseline struct {
	id      string
	path    string
	profile *stats.Profile
}

// loadBaselineSet loads every profile of dir, returning the good ones and
// one problem per bad file.
func loadBaselineSet(dir string) (baselineSet, []string) {
	files, err := baselineFiles(dir)
	if err != nil {
		return nil, []string{"baselines.dir: " + err.Error()}
	}
	set := baselineSet{}
	var problems []string
	for _, f := range files {
		b, err := loadBaseline(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		key := modelVersion{b.model, b.version}
		if prev, dup := set[key]; dup {
			problems = append(problems, fmt.Sprintf("%s: model %q version %q already has a baseline in %s", f, b.model, b.version, prev.path))
			continue
		}
		set[key] = b.baseline
	}
	return set, problems
}
