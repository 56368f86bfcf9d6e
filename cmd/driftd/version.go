package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
)

// version is set at link time: -ldflags "-X main.version=v0.1.0".
var version = "dev"

func init() {
	commands["version"] = command{summary: "print version and build info", run: runVersion}
}

func runVersion(args []string) int {
	fmt.Printf("driftd %s\n", version)
	fmt.Printf("go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified":
				fmt.Printf("%s: %s\n", s.Key, s.Value)
			}
		}
		for _, dep := range info.Deps {
			switch dep.Path {
			case "github.com/segmentio/kafka-go", "github.com/ClickHouse/clickhouse-go/v2", "gonum.org/v1/gonum":
				fmt.Printf("dep: %s %s\n", dep.Path, dep.Version)
			}
		}
	}
	return 0
}

func sortedCommandNames() []string {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
