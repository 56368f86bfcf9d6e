package sinks

import (
	"testing"

	"go.uber.org/goleak"
)

// Every sink, proxy and connection pool a test opens must be gone when the
// package's tests end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
