package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/driftd/driftd/stats"
)

func init() {
	commands["baseline"] = command{summary: "build a baseline profile from training data (baseline build)", run: runBaseline}
}

func runBaseline(args []string) int {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(os.Stderr, "usage: driftd baseline build --input FILE --model M --version V -o profile.json [flags]")
		return 2
	}
	fs := flag.NewFlagSet("baseline build", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o stats.BuildOptions
	var input, output string
	fs.StringVar(&input, "input", "", "training data `FILE` (.csv or .jsonl)")
	fs.StringVar(&output, "o", "", "profile `FILE` to write (.json)")
	fs.StringVar(&o.Model, "model", "", "model name")
	fs.StringVar(&o.Version, "version", "", "model version")
	fs.IntVar(&o.MaxCategories, "max-categories", stats.DefaultBaselineMaxCategories, "distinct categories kept per feature")
	tableFlags(fs, &o.TableOptions)
	if err := parseFlags(fs, args[1:]); err != nil {
		return usageError("baseline build", fs, err)
	}
	if input == "" || output == "" || o.Model == "" || o.Version == "" {
		return usageError("baseline build", fs, errors.New("--input, -o, --model and --version are required"))
	}
	if isTerminal(os.Stderr) {
		o.Progress = func(pass int, rows int64) {
			fmt.Fprintf(os.Stderr, "\rpass %d: %d rows read", pass, rows)
		}
	}
	p, err := stats.BuildProfile(input, o)
	if o.Progress != nil {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
	if err != nil {
		return fail("baseline build", err)
	}
	if err := writeFileAtomic(output, p.Write); err != nil {
		return fail("baseline build", err)
	}
	return 0
}

// isTerminal reports whether f is a character device (a terminal), where
// progress lines help rather than clutter a log.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writeFileAtomic writes through a temporary file in the same directory
// and renames it, so a reader never sees half a profile.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".profile-*")
	if err != nil {
		return fmt.Errorf("writing profile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing profile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing profile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing profile: %w", err)
	}
	return nil
}
