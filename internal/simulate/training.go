package simulate

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// TrainingFile names the CSV written for one model version.
type TrainingFile struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Path    string `json:"path"`
	Rows    int    `json:"rows"`
}

// WriteTraining writes, for every model version of the scenario, a CSV of
// rows drawn from the baseline distribution (no injection active), with
// the feature columns in declared order, then target, prediction and
// score, into dir as <model>_<version>.csv. The versions of a model score
// the same rows. `driftd baseline build --input FILE --model M --version V
// --target target --prediction prediction --score score` turns each file
// into a baseline profile. The rows come from their own random stream, so
// they are not a copy of the live traffic.
func WriteTraining(dir string, sc Scenario, seed int64, rows int) ([]TrainingFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating training directory: %w", err)
	}
	var files []TrainingFile
	for i := range sc.Models {
		fs, err := writeModelTraining(dir, &sc.Models[i], int32(i), seed, rows)
		if err != nil {
			return files, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

func writeModelTraining(dir string, spec *Model, index int32, seed int64, rows int) ([]TrainingFile, error) {
	m := newModelGen(spec, index, nil)
	m.applyAt(-1)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7a1e_0000_0000_0000+uint64(index)))

	header := make([]string, 0, len(m.features)+3)
	for _, f := range m.features {
		header = append(header, f.name)
	}
	header = append(header, TargetColumn, PredictionColumn, ScoreColumn)

	files := make([]TrainingFile, len(m.versions))
	outs := make([]*os.File, len(m.versions))
	bufs := make([]*bufio.Writer, len(m.versions))
	writers := make([]*csv.Writer, len(m.versions))
	defer func() {
		for _, f := range outs {
			if f != nil {
				f.Close()
			}
		}
	}()
	for j, v := range m.versions {
		path := filepath.Join(dir, fileSafe(spec.Name)+"_"+fileSafe(v.name)+".csv")
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("creating training file: %w", err)
		}
		outs[j] = f
		bufs[j] = bufio.NewWriterSize(f, 1<<16)
		writers[j] = csv.NewWriter(bufs[j])
		if err := writers[j].Write(header); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		files[j] = TrainingFile{Model: spec.Name, Version: v.name, Path: path, Rows: rows}
	}

	record := make([]string, len(header))
	var num []byte
	for range rows {
		m.draw(rng)
		for i := range m.features {
			f := &m.features[i]
			switch {
			case m.row.missing[i]:
				record[i] = ""
			case f.numeric:
				num = appendFixed(num[:0], m.row.num[i], f.decimals)
				record[i] = string(num)
			default:
				record[i] = f.raw[m.row.cat[i]]
			}
		}
		n := len(m.features)
		record[n] = labelString(m.row.label)
		for j := range m.versions {
			score, _ := m.score(rng, &m.versions[j])
			record[n+1] = labelString(score > 0.5)
			record[n+2] = strconv.FormatFloat(score, 'f', 6, 64)
			if err := writers[j].Write(record); err != nil {
				return nil, fmt.Errorf("writing %s: %w", files[j].Path, err)
			}
		}
	}
	for j := range writers {
		writers[j].Flush()
		if err := writers[j].Error(); err != nil {
			return nil, fmt.Errorf("writing %s: %w", files[j].Path, err)
		}
		if err := bufs[j].Flush(); err != nil {
			return nil, fmt.Errorf("writing %s: %w", files[j].Path, err)
		}
		if err := outs[j].Close(); err != nil {
			return nil, fmt.Errorf("closing %s: %w", files[j].Path, err)
		}
		outs[j] = nil
	}
	return files, nil
}

func labelString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func fileSafe(s string) string { return unsafeFileChars.ReplaceAllString(s, "_") }
