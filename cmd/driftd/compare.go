package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/driftd/driftd/stats"
)

func init() {
	commands["compare"] = command{summary: "batch drift and performance report of two files", run: runCompare}
}

// listFlag is a comma-separated list that may also be repeated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// tableFlags registers the column flags shared by compare and baseline.
func tableFlags(fs *flag.FlagSet, o *stats.TableOptions) {
	fs.Var((*listFlag)(&o.Numeric), "numeric", "comma-separated numeric columns")
	fs.Var((*listFlag)(&o.Categorical), "categorical", "comma-separated categorical columns")
	fs.StringVar(&o.Target, "target", "", "target (true label or value) column")
	fs.StringVar(&o.Prediction, "prediction", "", "prediction column")
	fs.StringVar(&o.Score, "score", "", "score column (binary ROC AUC)")
	fs.StringVar(&o.PositiveLabel, "positive-label", "", "positive label of a binary task (default 1 or true)")
	fs.StringVar(&o.Task, "task", "", "binary, multiclass or regression (default: inferred)")
	fs.IntVar(&o.Bins, "bins", stats.DefaultBins, "numeric histogram bins")
}

func runCompare(args []string) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts stats.TableOptions
	var baseline, current string
	fs.StringVar(&baseline, "baseline", "", "baseline `FILE` (.csv, .jsonl, or a .json profile)")
	fs.StringVar(&current, "current", "", "current `FILE` (.csv or .jsonl)")
	tableFlags(fs, &opts)
	if err := parseFlags(fs, args); err != nil {
		return usageError("compare", fs, err)
	}
	if baseline == "" || current == "" {
		return usageError("compare", fs, errors.New("--baseline and --current are required"))
	}
	var profile *stats.Profile
	if strings.HasSuffix(baseline, ".json") {
		p, err := stats.LoadProfile(baseline)
		if err != nil {
			return fail("compare", err)
		}
		profile = p
	}
	rep, err := stats.Compare(baseline, profile, current, opts)
	if err != nil {
		return fail("compare", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fail("compare", fmt.Errorf("encoding report: %w", err))
	}
	if _, err := os.Stdout.Write(buf.Bytes()); err != nil {
		return fail("compare", fmt.Errorf("writing report: %w", err))
	}
	return 0
}

// parseFlags parses and rejects stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// usageError prints a one-line usage problem and returns exit code 2;
// -h prints the flags.
func usageError(cmd string, fs *flag.FlagSet, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stderr)
		fmt.Fprintf(os.Stderr, "usage: driftd %s [flags]\n", cmd)
		fs.PrintDefaults()
		return 0
	}
	fmt.Fprintf(os.Stderr, "driftd %s: %s (see driftd %s -h)\n", cmd, oneLine(err), cmd)
	return 2
}

// fail reports bad input on one line of stderr: exit code 2.
func fail(cmd string, err error) int {
	fmt.Fprintf(os.Stderr, "driftd %s: %s\n", cmd, oneLine(err))
	return 2
}

func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}
