// Command driftd watches machine-learning models in production: it joins
// prediction and outcome events from Kafka, measures drift and performance
// per event-time window, writes the results to ClickHouse and fires alerts.
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run dispatches a subcommand and returns the process exit code: 0 on
// success, 2 for bad usage or bad input, 1 for anything else.
func run(args []string) int {
	if len(args) == 0 {
		usage()
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "driftd: unknown command %q\n", args[0])
		usage()
		return 2
	}
	return cmd.run(args[1:])
}

type command struct {
	summary string
	run     func(args []string) int
}

// commands is filled by each subcommand's file in its init function, so a
// subcommand is one file and main stays thin.
var commands = map[string]command{}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: driftd <command> [flags]\n\ncommands:")
	for _, name := range sortedCommandNames() {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", name, commands[name].summary)
	}
}
