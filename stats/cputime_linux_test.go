package stats

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time of the calling OS thread. Benchmarks report it
// beside wall time because the shared build box is often oversubscribed,
// which inflates ns/op but not the CPU an event costs.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
