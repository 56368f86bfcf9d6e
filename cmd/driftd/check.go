package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/driftd/driftd/processor"
)

func init() {
	commands["check"] = command{summary: "validate config and baselines offline, listing every problem", run: runCheck}
}

// runCheck validates the config file and every baseline profile without
// touching the network. Exit 0: fine; 2: problems (all of them printed).
func runCheck(args []string) int {
	return check(args, os.Stdout, os.Stderr, os.LookupEnv)
}

func check(args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "driftd.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var problems []string
	cfg, err := loadConfig(*path, env)
	var ce *processor.ConfigError
	switch {
	case errors.As(err, &ce):
		problems = append(problems, ce.Problems...)
	case err != nil:
		fmt.Fprintf(stderr, "driftd check: %v\n", err)
		return 2
	}
	if err == nil || cfg.Baselines.Dir != "" {
		problems = append(problems, processor.CheckBaselines(cfg.Baselines.Dir)...)
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", *path, len(problems))
		for _, p := range problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		return 2
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return 0
}
