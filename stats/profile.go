package stats

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ProfileFormatVersion is the format_version of profiles this package
// writes and reads.
const ProfileFormatVersion = 1

// Profile is a model version's training baseline: what every window is
// compared with. It is written by `driftd baseline build` as JSON.
type Profile struct {
	FormatVersion int              `json:"format_version"`
	ID            string           `json:"id"`
	Model         string           `json:"model"`
	Version       string           `json:"version"`
	Rows          int64            `json:"rows"`
	Bins          int              `json:"bins"`
	Features      []FeatureProfile `json:"features"`
	Prediction    *FeatureProfile  `json:"prediction,omitempty"`
	Target        string           `json:"target,omitempty"`
	Score         string           `json:"score,omitempty"`
	Task          string           `json:"task,omitempty"`
	PositiveLabel string           `json:"positive_label,omitempty"`
	Labels        []string         `json:"labels,omitempty"`
	// Performance is the validation performance when labels were given.
	Performance *PerformanceReport `json:"performance,omitempty"`
}

// FeatureProfile is one column of a baseline.
type FeatureProfile struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Count   int64  `json:"count"`
	Missing int64  `json:"missing"`
	// Numeric: de-duplicated interior edges and len(Edges)+1 bin counts.
	Edges     []float64 `json:"edges,omitempty"`
	BinCounts []int64   `json:"bin_counts,omitempty"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	Mean      float64   `json:"mean"`
	// Std is the population standard deviation, exactly 0 when constant.
	Std        float64          `json:"std"`
	Sketch     *Sketch          `json:"sketch,omitempty"`
	Categories map[string]int64 `json:"categories,omitempty"`
}

// Feature returns the named feature's profile, or nil.
func (p *Profile) Feature(name string) *FeatureProfile {
	for i := range p.Features {
		if p.Features[i].Name == name {
			return &p.Features[i]
		}
	}
	return nil
}

// ReadProfile decodes and validates a profile.
func ReadProfile(r io.Reader) (*Profile, error) {
	var p Profile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decoding profile: %w", err)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// LoadProfile reads a profile file; errors name the path.
func LoadProfile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening profile: %w", err)
	}
	defer f.Close()
	p, err := ReadProfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func (p *Profile) validate() error {
	if p.FormatVersion != ProfileFormatVersion {
		return fmt.Errorf("format_version %d: this driftd reads version %d", p.FormatVersion, ProfileFormatVersion)
	}
	var errs []error
	for i, f := range p.Features {
		if err := f.validate(); err != nil {
			errs = append(errs, fmt.Errorf("features[%d] (%q): %w", i, f.Name, err))
		}
		if i > 0 && p.Features[i-1].Name >= f.Name {
			errs = append(errs, fmt.Errorf("features[%d] (%q): features must be sorted by name without duplicates", i, f.Name))
		}
	}
	if p.Prediction != nil {
		if err := p.Prediction.validate(); err != nil {
			errs = append(errs, fmt.Errorf("prediction: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (f *FeatureProfile) validate() error {
	switch f.Type {
	case Numeric:
		if len(f.BinCounts) != len(f.Edges)+1 {
			return fmt.Errorf("bin_counts: want %d counts for %d edges, got %d", len(f.Edges)+1, len(f.Edges), len(f.BinCounts))
		}
		var n int64
		for i, c := range f.BinCounts {
			if c < 0 {
				return fmt.Errorf("bin_counts[%d]: negative", i)
			}
			n += c
		}
		if n != f.Count {
			return fmt.Errorf("bin_counts sum to %d, count is %d", n, f.Count)
		}
		for i := 1; i < len(f.Edges); i++ {
			if !(f.Edges[i-1] < f.Edges[i]) {
				return fmt.Errorf("edges[%d]: edges must increase strictly", i)
			}
		}
		if f.Sketch == nil {
			return errors.New("sketch: missing")
		}
		if f.Sketch.Count() != f.Count {
			return fmt.Errorf("sketch holds %d values, count is %d", f.Sketch.Count(), f.Count)
		}
	case Categorical:
		var n int64
		for k, c := range f.Categories {
			if c < 0 {
				return fmt.Errorf("categories[%q]: negative", k)
			}
			n += c
		}
		if n != f.Count {
			return fmt.Errorf("categories sum to %d, count is %d", n, f.Count)
		}
	default:
		return fmt.Errorf("type %q: want %q or %q", f.Type, Numeric, Categorical)
	}
	return nil
}

// Write encodes the profile as indented JSON. ID is set first from the
// content, so the same input always gives the same ID.
func (p *Profile) Write(w io.Writer) error {
	p.FormatVersion = ProfileFormatVersion
	p.ID = ""
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding profile: %w", err)
	}
	sum := sha256.Sum256(body)
	p.ID = fmt.Sprintf("%s/%s@%s", p.Model, p.Version, hex.EncodeToString(sum[:6]))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("encoding profile: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing profile: %w", err)
	}
	return nil
}
