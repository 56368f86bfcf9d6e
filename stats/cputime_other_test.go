//go:build !linux

package stats

import "time"

// threadCPU is not measured off Linux; benchmarks then omit cpu-ns/op.
func threadCPU() time.Duration { return 0 }
